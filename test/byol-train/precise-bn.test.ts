/**
 * recomputeBatchNorm: after it, every batch-norm layer's running statistics are the average of the per-batch
 * statistics of the unaugmented labeled images (checked in float64 on a network of one BatchNorm2d), the
 * layers' momentum and the module's mode are restored, and eval-mode outputs use the new statistics.
 */
import { expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { InMemoryImageDataset } from '../../src/data/dataset.js';
import { BatchNorm2d } from '../../src/nn/layers.js';
import { Module } from '../../src/nn/module.js';
import { ByolAugment, IDENTITY_VIEW, identityParams } from '../../src/byol/augment.js';
import { recomputeBatchNorm } from '../../src/byol/evaluation.js';
import { uploadBatch } from '../../src/data/gpu-batch.js';
import { BatchLoader } from '../../src/data/loader.js';
import { noGrad } from '../../src/autograd/tape.js';
import type { Tensor } from '../../src/tensor/tensor.js';

class OneNorm extends Module {
  readonly bn = new BatchNorm2d(3);
  constructor() {
    super();
    this.registerModule('bn', this.bn);
  }
  forward(x: Tensor): Tensor {
    return this.bn.forward(x);
  }
}

it('re-estimates running statistics as the mean of the batches’ own, then restores momentum and mode', async () => {
  await engine();
  const [n, c, h, w, batch] = [23, 3, 5, 7, 8]; // batches of 8, 8 and 7
  const pixels = Uint8Array.from({ length: n * c * h * w }, () => Math.floor(256 * rand()));
  const data = new InMemoryImageDataset({ name: 'random', height: h, width: w, channels: c, classNames: ['a', 'b'] }, pixels, Int32Array.from({ length: n }, (_, i) => i % 2));
  const prep = new ByolAugment({ size: h, views: [IDENTITY_VIEW] }, { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] });
  const model = new OneNorm();
  model.eval();
  await recomputeBatchNorm(model, data, prep, batch);
  expect(model.bn.momentum).toBe(0.1);
  expect(model.training).toBe(false);
  // Expected: the normalized inputs, batch by batch, in loader order.
  const means: number[][] = [];
  const vars: number[][] = [];
  for await (const b of new BatchLoader(data, { batchSize: batch, seed: 0, shuffle: false, dropLast: false }).epoch(0)) {
    const idx = b.indices;
    const x = noGrad(() => {
      const gb = uploadBatch(b);
      return prep.apply(gb.pixels, { n: idx.length, c, h: data.height, w: data.width }, [Array.from({ length: idx.length }, () => identityParams(h, w))])[0];
    });
    const v = (await x.data()) as Float32Array;
    const [, , oh, ow] = x.shape;
    x.dispose();
    const m = idx.length * oh * ow;
    const bm: number[] = [];
    const bv: number[] = [];
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let i = 0; i < idx.length; i++) for (let p = 0; p < oh * ow; p++) s += v[(i * c + ch) * oh * ow + p];
      const mu = s / m;
      let q = 0;
      for (let i = 0; i < idx.length; i++) for (let p = 0; p < oh * ow; p++) q += (v[(i * c + ch) * oh * ow + p] - mu) ** 2;
      bm.push(mu);
      bv.push(q / (m - 1));
    }
    means.push(bm);
    vars.push(bv);
  }
  const rm = (await model.bn.runningMean.data()) as Float32Array;
  const rv = (await model.bn.runningVar.data()) as Float32Array;
  for (let ch = 0; ch < c; ch++) {
    const em = means.reduce((a, b) => a + b[ch], 0) / means.length;
    const ev = vars.reduce((a, b) => a + b[ch], 0) / vars.length;
    expect(Math.abs(rm[ch] - em), `running mean ${ch} ${seedNote}`).toBeLessThan(1e-5 + 1e-5 * Math.abs(em));
    expect(Math.abs(rv[ch] - ev), `running var ${ch} ${seedNote}`).toBeLessThan(1e-5 + 1e-4 * ev);
  }
});
