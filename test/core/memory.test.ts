import { expect, it } from 'vitest';
import { engine, randomArr, toTensor } from '../helpers.js';
import { axpyInPlace, backward, getRuntime, matmul, mean, memory, relu, requireGrad, scope, square, sub } from '../../src/index.js';

it('1,000 iterations of a small forward and backward in scopes leave live tensors and pooled bytes flat', async () => {
  await engine();
  const w1 = requireGrad(toTensor(randomArr([16, 32])));
  const w2 = requireGrad(toTensor(randomArr([32, 4])));
  const x = toTensor(randomArr([8, 16]));
  const y = toTensor(randomArr([8, 4]));
  const samples: { tensors: number; allocated: number; pooled: number }[] = [];
  const losses: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const loss = scope(() => {
      const h = relu(matmul(x, w1));
      const l = mean(square(sub(matmul(h, w2), y)));
      backward(l);
      for (const w of [w1, w2]) {
        axpyInPlace(w, w.grad!, 1, -0.05); // SGD: w ← w − lr·g
        w.grad!.dispose();
        w.grad = null;
      }
      return l;
    });
    if (i % 100 === 0) losses.push(await loss.item());
    loss.dispose();
    if (i % 100 === 99) {
      await getRuntime().sync();
      const m = memory();
      samples.push({ tensors: m.liveTensors, allocated: m.allocatedBytes, pooled: m.pooledBytes });
    }
  }
  // The training does something: the loss falls.
  expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  const first = samples[0];
  for (const s of samples) expect(s).toEqual(first);
  for (const t of [w1, w2, x, y]) t.dispose();
});

it('the in-use peak follows what is handed out at once, and restarts from what is held when reset', async () => {
  await engine();
  const rt = getRuntime();
  const held = toTensor(randomArr([64, 64]));
  await rt.sync();
  rt.resetPeakInUse();
  const base = rt.poolStats().inUseBytes;
  expect(rt.poolStats().peakInUseBytes).toBe(base);
  // Two 256 KiB tensors alive together, then both gone: the peak keeps them, the in-use bytes do not.
  const a = toTensor(randomArr([256, 256]));
  const b = toTensor(randomArr([256, 256]));
  const both = rt.poolStats().inUseBytes;
  expect(both - base).toBeGreaterThanOrEqual(2 * 256 * 256 * 4);
  a.dispose();
  b.dispose();
  expect(rt.poolStats().inUseBytes).toBe(base);
  expect(rt.poolStats().peakInUseBytes).toBe(both);
  // One at a time after a reset: the pool reuses the freed buffer, and the peak counts one.
  rt.resetPeakInUse();
  for (let i = 0; i < 3; i++) toTensor(randomArr([256, 256])).dispose();
  expect(rt.poolStats().peakInUseBytes - base).toBeLessThan(both - base);
  expect(rt.poolStats().peakInUseBytes - base).toBeGreaterThanOrEqual(256 * 256 * 4);
  held.dispose();
});
