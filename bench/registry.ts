/**
 * The benchmark registry. A row is one measured workload (e.g. 'matmul 512×512×512') in a family
 * (e.g. 'matmul'), with its work size (FLOPs or bytes) and one implementation per backend.
 *
 * Adding rows: write a module under bench/rows/ that calls `registerRows(...)` and import it from
 * bench/rows/index.ts. An implementation's `setup` uploads the row's inputs and returns a `Prepared`
 * whose `run()` only *enqueues* the work and returns the outputs; the harness does the waiting (GPU fence
 * or readback, see bench/backends.ts) and disposes the outputs, so every backend is timed the same way.
 */
import type { BackendContext, BackendName } from './backends.js';

export type { BackendName } from './backends.js';

/** What one timed run returns: the tensor(s) it made. The harness waits on them, then disposes them. */
export type Outputs = unknown;

export interface Prepared {
  /** Enqueues one run of the workload and returns its outputs (do not wait for the GPU here). */
  run(): Outputs | Promise<Outputs>;
  /** Releases the inputs made by setup. */
  dispose(): void;
  /**
   * A row that measures something other than the time to finish its work (e.g. the host time of a step)
   * times one run itself and returns its milliseconds; the harness then does no waiting of its own.
   */
  time?(): Promise<number>;
  /**
   * After timing: a line of facts about one more run (e.g. dispatches and peak GPU bytes of a training
   * step), added to the row's notes. Not timed.
   */
  report?(): Promise<string>;
}

export interface Impl {
  setup(ctx: BackendContext): Prepared | Promise<Prepared>;
}

export interface Work {
  /** Floating-point operations per run (e.g. 2·M·N·K for a matmul); throughput is shown as GFLOP/s. */
  flops?: number;
  /** Bytes moved per run, for memory-bound rows; throughput is shown as GB/s. */
  bytes?: number;
  /** Images per run, for whole-network rows; throughput is shown as img/s. */
  images?: number;
}

export interface Check {
  /** The backends whose results ours is compared with (each one that is loaded and has an implementation). */
  against: readonly BackendName[];
  /** Largest allowed max relative difference (see `maxRelDiff`); the row is aborted above it. */
  tolerance: number;
}

export interface BenchRow {
  /** Family, selected with --ops, e.g. 'matmul'. */
  family: string;
  /** Unique label shown in the table, e.g. 'matmul 512×512×512'. */
  label: string;
  work: Work;
  impls: Partial<Record<BackendName, Impl>>;
  /** Correctness guard run once before timing: our first output against each of `against`'s first outputs. */
  check?: Check;
  /**
   * At most this many timed / warm-up runs, for rows that take seconds per run (whole training steps),
   * and (`quick`) at most this many with --quick; applies unless --reps / --warmup are given explicitly.
   */
  maxRuns?: { reps: number; warmup: number; quick?: { reps: number; warmup: number } };
  /** A line printed under the table (e.g. why a backend has no implementation). */
  note?: string;
}

const rows: BenchRow[] = [];

export function registerRows(...list: BenchRow[]): void {
  for (const r of list) {
    if (rows.some((x) => x.label === r.label)) throw new Error(`bench: duplicate row label '${r.label}'`);
    rows.push(r);
  }
}

export function allRows(): readonly BenchRow[] {
  return rows;
}

export function families(): string[] {
  return [...new Set(rows.map((r) => r.family))];
}

/**
 * Max relative difference between `ours` and `ref`: max over i of |a_i − b_i| / max(|b_i|, floor), where
 * floor = 1e-6 · max|b| keeps near-zero reference entries from dominating.
 */
export function maxRelDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`compare: ${ours.length} vs ${ref.length} elements`);
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  const floor = Math.max(scale * 1e-6, 1e-30);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor);
    if (!(d <= worst)) worst = d; // NaN propagates as the worst
  }
  return worst;
}

/** A deterministic uniform [low, high) Float32Array (mulberry32), so every backend gets the same inputs. */
export function uniformData(n: number, seed: number, low = 0, high = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = low + (high - low) * u;
  }
  return out;
}
