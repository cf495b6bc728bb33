/**
 * Repeated runs as measurements: every arm's mean ± standard deviation over seeds, and the paired differences
 * between arms (same seed, so same splits and test images) with their standard error. A difference counts as a
 * result only when it exceeds twice its standard error; anything smaller is reported as noise.
 */

export interface Spread {
  /** Per-seed values, in the order of `seeds`. */
  values: number[];
  mean: number;
  /** Sample standard deviation (n − 1); null for a single value. */
  sd: number | null;
}

export interface PairedDifference extends Spread {
  /** Standard error of the mean difference, sd / √n; null for a single seed. */
  se: number | null;
  /** 'gain' or 'loss' when |mean| > 2·se over at least 3 seeds; otherwise 'within noise'. */
  verdict: 'gain' | 'loss' | 'within noise';
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : null;
  return { values: [...values], mean, sd };
}

/** The per-seed differences a − b, their mean, sd and standard error, and whether they exceed 2 SE. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new Error(`pairedDifference: ${a.length} and ${b.length} values`);
  const s = spread(a.map((x, i) => x - b[i]));
  const se = s.sd === null ? null : s.sd / Math.sqrt(a.length);
  // Two standard errors over at least three seeds; with two, a t-interval is too wide to call anything.
  const verdict = se !== null && a.length >= 3 && Math.abs(s.mean) > 2 * se ? (s.mean > 0 ? 'gain' : 'loss') : 'within noise';
  return { ...s, se, verdict };
}

/** Accuracy (a fraction) as percentage points: "41.20 %". */
export const pct = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${(100 * v).toFixed(digits)} %`);

/** "41.20 ± 1.05 %" (± sd), or the single value. */
export function formatSpread(s: Spread): string {
  return s.sd === null ? pct(s.mean) : `${(100 * s.mean).toFixed(2)} ± ${(100 * s.sd).toFixed(2)} %`;
}

/** "+3.10 points (SE 0.80, 3 seeds): gain". */
export function formatDifference(d: PairedDifference): string {
  const sign = d.mean >= 0 ? '+' : '−';
  const pts = `${sign}${Math.abs(100 * d.mean).toFixed(2)} points`;
  if (d.se === null) return pts;
  return `${pts} (SE ${(100 * d.se).toFixed(2)}, ${d.values.length} seeds): ${d.verdict}`;
}
