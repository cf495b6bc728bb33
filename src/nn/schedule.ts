/** Schedules as pure functions of the step: linear warm-up then cosine decay, and BYOL's EMA τ. */

export interface WarmupCosineOptions {
  /** The peak learning rate, reached at the end of the warm-up. */
  baseLr: number;
  /** Steps of linear warm-up (0: none). */
  warmupSteps: number;
  /** Total steps; the cosine reaches finalLr at step totalSteps. */
  totalSteps: number;
  /** Default 0. */
  finalLr?: number;
}

/**
 * The learning rate at `step` (0-based): baseLr·(step + 1)/warmupSteps during the warm-up (so the first step
 * is not wasted at zero), then finalLr + (baseLr − finalLr)·(1 + cos(π·t))/2 with
 * t = (step − warmupSteps)/(totalSteps − warmupSteps), held at finalLr after totalSteps.
 */
export function warmupCosine(step: number, o: WarmupCosineOptions): number {
  const final = o.finalLr ?? 0;
  if (!(o.totalSteps > 0) || o.warmupSteps < 0 || o.warmupSteps > o.totalSteps) {
    throw new RangeError(`warmupCosine: need 0 ≤ warmupSteps (${o.warmupSteps}) ≤ totalSteps (${o.totalSteps}) and totalSteps > 0`);
  }
  if (step < o.warmupSteps) return (o.baseLr * (step + 1)) / o.warmupSteps;
  const span = o.totalSteps - o.warmupSteps;
  const t = span > 0 ? Math.min(1, (step - o.warmupSteps) / span) : 1;
  return final + (o.baseLr - final) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** BYOL's target decay τ = 1 − (1 − τ_base)·(cos(π·step/totalSteps) + 1)/2, from τ_base (0.996) up to 1. */
export function byolTau(step: number, totalSteps: number, baseTau = 0.996): number {
  const t = Math.min(1, Math.max(0, step / totalSteps));
  return 1 - (1 - baseTau) * (Math.cos(Math.PI * t) + 1) / 2;
}
