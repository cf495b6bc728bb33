/**
 * Facts about one training step of ours, for the notes under the table: how many compute dispatches it
 * records, and the peak of GPU bytes handed out while it runs (model, optimizer state and every
 * intermediate; the buffer pool reuses a buffer once its tensor is disposed, so this is what the step
 * needs at once, not the sum of what it allocates).
 */
import { getRuntime } from '../src/index.js';

const MiB = 2 ** 20;

export async function stepStats(run: () => { dispose(): void }): Promise<string> {
  const rt = getRuntime();
  await rt.sync();
  const before = rt.poolStats().inUseBytes;
  rt.resetPeakInUse();
  const d0 = rt.counters().dispatches;
  const out = run();
  await rt.sync();
  const dispatches = rt.counters().dispatches - d0;
  const peak = rt.poolStats().peakInUseBytes;
  out.dispose();
  return (
    `one step: ${dispatches} dispatches, peak ${(peak / MiB).toFixed(0)} MiB of GPU buffers in use ` +
    `(${(before / MiB).toFixed(0)} MiB held between steps)`
  );
}
