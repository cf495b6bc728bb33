/**
 * A long run: 5,000 training steps of a small model (MLP head, batch norm, cross-entropy, SGD over flat
 * buffers), with live tensors, pooled bytes and process memory sampled throughout. They must stay flat.
 */
import { expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { backward, crossEntropy, fromArray, Generator, getRuntime, memory, MLPHead, flattenParameters, scope, SGD } from '../../src/index.js';

it('5,000 training steps leave live tensors, pooled bytes and process memory flat', async () => {
  await engine();
  const gen = new Generator(5);
  const model = new MLPHead({ inFeatures: 24, hidden: 48, outFeatures: 5, generator: gen });
  flattenParameters(model);
  const opt = new SGD(model, { lr: 0.05, momentum: 0.9 });
  const x = gen.normal([32, 24]);
  const labels = fromArray(Int32Array.from({ length: 32 }, (_, i) => i % 5), [32], 'int32');
  const samples: { step: number; tensors: number; allocated: number; pooled: number; rss: number }[] = [];
  let first = NaN;
  let last = NaN;
  for (let step = 1; step <= 5000; step++) {
    const loss = scope(() => {
      opt.zeroGrad();
      const l = crossEntropy(model.forward(x), labels);
      backward(l);
      opt.step();
      return l;
    });
    // One submit per step, as the trainers do: the step's bind groups are then found in the cache.
    await getRuntime().sync();
    if (step === 1 || step % 500 === 0) {
      const v = await loss.item();
      if (step === 1) first = v;
      last = v;
      await getRuntime().sync();
      const m = memory();
      samples.push({ step, tensors: m.liveTensors, allocated: m.allocatedBytes, pooled: m.pooledBytes, rss: process.memoryUsage().rss });
    }
    loss.dispose();
  }
  expect(last).toBeLessThan(first); // it did train
  const steady = samples.slice(2); // after warm-up
  for (const s of steady) {
    expect(s.tensors, `live tensors at step ${s.step}`).toBe(steady[0].tensors);
    expect(s.allocated, `allocated bytes at step ${s.step}`).toBe(steady[0].allocated);
    expect(s.pooled, `pooled bytes at step ${s.step}`).toBe(steady[0].pooled);
  }
  // Process memory settles later than the GPU pool and wanders by ±15 MiB under the test runner (seen here:
  // 191 MiB at step 1, 232–239 at 500–1,000, then 248–288 from 2,000 to 5,000; a plain Node process stays
  // at 252–254 MiB from step 5,000 to 15,000). So the leak check compares medians of three samples, steps
  // 2,000–3,000 against 4,000–5,000.
  const med3 = (from: number, to: number) => {
    const v = samples.filter((s) => s.step >= from && s.step <= to).map((s) => s.rss).sort((a, b) => a - b);
    return v[v.length >> 1];
  };
  const growth = med3(4000, 5000) - med3(2000, 3000);
  console.log(`rss median, steps 2,000–3,000 to 4,000–5,000: ${(growth / 2 ** 20).toFixed(1)} MiB`, samples.map((s) => (s.rss / 2 ** 20).toFixed(0)).join(' '));
  expect(growth).toBeLessThan(32 * 2 ** 20);
  model.dispose();
  opt.dispose();
  x.dispose();
  labels.dispose();
}, 300_000);
