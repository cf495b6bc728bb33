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
  const growth = steady[steady.length - 1].rss - steady[0].rss;
  console.log(`rss from step ${steady[0].step} to 5000: ${(growth / 2 ** 20).toFixed(1)} MiB`, samples.map((s) => (s.rss / 2 ** 20).toFixed(0)).join(' '));
  expect(growth).toBeLessThan(32 * 2 ** 20);
  model.dispose();
  opt.dispose();
  x.dispose();
  labels.dispose();
}, 300_000);
