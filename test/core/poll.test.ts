import { describe, expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { awaitGpu, pollPlan, pollStats } from '../../src/gpu/poll.js';
import { fromArray, getRuntime, matmul, type Tensor } from '../../src/index.js';

describe('awaitGpu: waiting on Dawn without a spinning core', () => {
  it("delays Dawn's polling callbacks during a wait and gives setImmediate back afterwards", async () => {
    await engine();
    const original = globalThis.setImmediate;
    const n = 96;
    const a = fromArray(Float32Array.from({ length: n * n }, (_, i) => (i % 7) - 3), [n, n]);
    const y = matmul(a, a);
    // Dawn polls only while work is pending at the wait, and its loop may already be scheduled (through the
    // plain setImmediate) from an earlier promise: the throttle is seen only from its second poll on, so the
    // GPU must still be busy after the first. Chained products keep it busy for milliseconds on any adapter
    // (1024² on a hardware GPU; 384² on a software one, about 0.1 GFLOP each).
    const side = getRuntime().report.software ? 384 : 1024;
    const extra: Tensor[] = [];
    let z = fromArray(new Float32Array(side * side).fill(1 / side), [side, side]);
    extra.push(z);
    for (let i = 0; i < 8; i++) extra.push((z = matmul(z, z)));
    const before = pollStats.throttled;
    await withKernelOverrides({ poll: { spinMs: 0 } }, () => getRuntime().sync()); // every Dawn callback in this wait is throttled
    expect(pollStats.throttled).toBeGreaterThan(before);
    for (const t of extra) t.dispose();
    expect(globalThis.setImmediate).toBe(original);
    // The result arrived intact through the throttled path.
    const got = await y.data();
    let want = 0;
    for (let k = 0; k < n; k++) want += ((k % 7) - 3) * (((k * n) % 7) - 3);
    expect(got[0]).toBe(want);
    a.dispose();
    y.dispose();
  });

  it("hands every other setImmediate callback to Node's own, at once", async () => {
    await engine();
    let handle: unknown = null;
    const ran = await withKernelOverrides({ poll: { spinMs: 0 } }, () =>
      awaitGpu(async () => {
        const fired = new Promise<boolean>((resolve) => {
          handle = setImmediate(() => resolve(true));
        });
        return fired;
      }),
    );
    expect(ran).toBe(true);
    expect((handle as object).constructor.name).toBe('Immediate');
  });

  it('restores setImmediate once the last of overlapping waits ends, also when one fails', async () => {
    await engine();
    const original = globalThis.setImmediate;
    const slow = awaitGpu(() => getRuntime().device.queue.onSubmittedWorkDone());
    const failing = awaitGpu(async () => {
      throw new Error('boom');
    });
    await expect(failing).rejects.toThrow('boom');
    expect(globalThis.setImmediate).not.toBe(original); // the slow wait is still on
    await slow;
    expect(globalThis.setImmediate).toBe(original);
  });

  it('leaves setImmediate alone when the throttle is off', async () => {
    await engine();
    const original = globalThis.setImmediate;
    let during: unknown = null;
    await withKernelOverrides({ poll: { spinMs: Infinity } }, () =>
      awaitGpu(async () => {
        during = globalThis.setImmediate;
        return getRuntime().device.queue.onSubmittedWorkDone();
      }),
    );
    expect(during).toBe(original);
  });
});

describe('pollPlan', () => {
  it('spins 0.05 ms, then sleeps from 0.02 ms doubling up to 0.2 ms, unless overridden knob by knob', () => {
    expect(pollPlan()).toEqual({ spinMs: 0.05, firstSleepMs: 0.02, sleepMs: 0.2 });
    expect(pollPlan({ spinMs: 0 })).toEqual({ spinMs: 0, firstSleepMs: 0.02, sleepMs: 0.2 });
    expect(pollPlan({ sleepMs: 1, firstSleepMs: 0.5 })).toEqual({ spinMs: 0.05, firstSleepMs: 0.5, sleepMs: 1 });
  });
});
