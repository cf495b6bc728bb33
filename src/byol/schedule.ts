/** BYOL's schedules, pure functions of the step. */

/**
 * The target network's EMA rate: τ = 1 − (1 − τ_base)·(cos(π·k/K) + 1)/2, rising from τ_base at step 0 to 1 at
 * the last step K (BYOL, arXiv 2006.07733, section 3.2). With `constant`, τ stays τ_base.
 */
export function emaTau(step: number, totalSteps: number, base = 0.996, constant = false): number {
  if (constant || totalSteps <= 0) return base;
  const k = Math.min(Math.max(step, 0), totalSteps);
  return 1 - ((1 - base) * (Math.cos((Math.PI * k) / totalSteps) + 1)) / 2;
}
