/** Runs one registry row on every loaded backend: setup, correctness check, warm-up, interleaved timing. */
import type { Backend, BackendName, SyncMode } from './backends.js';
import { maxRelDiff, type BenchRow, type Prepared } from './registry.js';

export interface CellResult {
  backend: BackendName;
  /** ok: timed; error: setup or a run threw; missing: the row has no implementation for this backend. */
  status: 'ok' | 'error' | 'missing';
  samplesMs?: number[];
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  /** GFLOP/s for FLOP-counted rows, GB/s for byte-counted rows, images/s for image-counted rows. */
  throughput?: number;
  error?: string;
}

export interface CheckResult {
  against: BackendName;
  maxRelDiff: number;
  tolerance: number;
  ok: boolean;
}

export interface RowResult {
  family: string;
  label: string;
  flops?: number;
  bytes?: number;
  images?: number;
  /** Timed and warm-up runs, where the row's maxRuns lowered them below the run's settings. */
  reps?: number;
  warmup?: number;
  /** The row's note (registry BenchRow.note). */
  note?: string;
  /** The correctness checks, one per reference backend that ran. */
  checks?: CheckResult[];
  /** Why the row was not timed (a failed correctness check), if it was not. */
  aborted?: string;
  cells: CellResult[];
}

export interface RunSettings {
  reps: number;
  warmup: number;
  sync: SyncMode;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

async function timeOnce(b: Backend, p: Prepared, sync: SyncMode): Promise<number> {
  await b.activate();
  if (p.time) return p.time();
  const t0 = performance.now();
  const out = await p.run();
  await b.wait(out, sync);
  const ms = performance.now() - t0;
  b.disposeOutputs(out);
  return ms;
}

export async function runRow(row: BenchRow, backends: Backend[], s: RunSettings, log: (line: string) => void): Promise<RowResult> {
  const result: RowResult = { family: row.family, label: row.label, ...row.work, cells: [] };
  if (row.note) result.note = row.note;
  const prepared = new Map<BackendName, Prepared>();
  const cells = new Map<BackendName, CellResult>();
  for (const b of backends) {
    const impl = row.impls[b.name];
    if (!impl) {
      cells.set(b.name, { backend: b.name, status: 'missing' });
      continue;
    }
    try {
      await b.activate();
      prepared.set(b.name, await impl.setup(b.ctx));
      cells.set(b.name, { backend: b.name, status: 'ok', samplesMs: [] });
    } catch (e) {
      cells.set(b.name, { backend: b.name, status: 'error', error: `setup: ${message(e)}` });
    }
  }
  const fail = (name: BackendName, e: unknown) => {
    const c = cells.get(name)!;
    c.status = 'error';
    c.error = message(e);
    delete c.samplesMs;
    const p = prepared.get(name);
    prepared.delete(name);
    try {
      p?.dispose();
    } catch {
      /* already failing */
    }
  };

  try {
    // Correctness guard: one run of ours and one of each reference, first outputs compared, before anything
    // is timed.
    if (row.check) {
      const { tolerance } = row.check;
      const ours = backends.find((b) => b.name === 'ours');
      const refs = backends.filter((b) => b.name !== 'ours' && row.check!.against.includes(b.name));
      const runFirst = async (b: Backend): Promise<Float32Array | null> => {
        try {
          await b.activate();
          const out = await prepared.get(b.name)!.run();
          const first = await b.readFirst(out);
          b.disposeOutputs(out);
          return first;
        } catch (e) {
          fail(b.name, e);
          return null;
        }
      };
      const ready = refs.filter((b) => prepared.has(b.name));
      const a = ours && prepared.has('ours') && ready.length ? await runFirst(ours) : null;
      for (const ref of refs) {
        const r = a && prepared.has(ref.name) ? await runFirst(ref) : null;
        if (!a || !r) {
          if (ours) log(`  ${row.label}: correctness check against ${ref.name} skipped (an implementation is missing or failed)`);
          continue;
        }
        let d: number;
        try {
          d = maxRelDiff(a, r);
        } catch (e) {
          d = Number.NaN;
          log(`  ${row.label}: ${message(e)}`);
        }
        const ok = d <= tolerance;
        (result.checks ??= []).push({ against: ref.name, maxRelDiff: d, tolerance, ok });
        log(`  ${row.label}: max rel diff vs ${ref.name} = ${d.toExponential(2)} (tolerance ${tolerance})${ok ? '' : '  FAILED'}`);
        if (!ok) {
          result.aborted = `ours differs from ${ref.name}: max rel diff ${d.toExponential(2)} > ${tolerance}`;
          log(`  ${row.label}: ABORTED, not timed: ${result.aborted}`);
          return result;
        }
      }
    }

    const active = () => backends.filter((b) => prepared.has(b.name));
    for (let w = 0; w < s.warmup; w++) {
      for (const b of active()) {
        try {
          await timeOnce(b, prepared.get(b.name)!, s.sync);
        } catch (e) {
          fail(b.name, e);
        }
      }
    }
    for (let r = 0; r < s.reps; r++) {
      const order = r % 2 ? [...active()].reverse() : active();
      for (const b of order) {
        try {
          cells.get(b.name)!.samplesMs!.push(await timeOnce(b, prepared.get(b.name)!, s.sync));
        } catch (e) {
          fail(b.name, e);
        }
      }
    }
    for (const b of active()) {
      const p = prepared.get(b.name)!;
      if (!p.report) continue;
      try {
        await b.activate();
        const line = `${b.name}: ${await p.report()}`;
        result.note = result.note ? `${result.note}; ${line}` : line;
      } catch (e) {
        log(`  ${row.label}: ${b.name} report failed: ${message(e)}`);
      }
    }
    for (const c of cells.values()) {
      if (c.status !== 'ok' || !c.samplesMs?.length) continue;
      c.medianMs = median(c.samplesMs);
      c.minMs = Math.min(...c.samplesMs);
      c.maxMs = Math.max(...c.samplesMs);
      const amount = row.work.flops ?? row.work.bytes;
      if (amount !== undefined) c.throughput = amount / (c.medianMs * 1e-3) / 1e9;
      else if (row.work.images !== undefined) c.throughput = row.work.images / (c.medianMs * 1e-3);
    }
    return result;
  } finally {
    for (const [name, p] of prepared) {
      try {
        await backends.find((b) => b.name === name)!.activate();
        p.dispose();
      } catch {
        /* best effort */
      }
    }
    result.cells = backends.map((b) => cells.get(b.name)!);
  }
}
