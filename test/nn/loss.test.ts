import { beforeAll, describe, expect, it } from 'vitest';
import { accuracy, byolLoss, byolLossSymmetric, crossEntropy, l2Normalize, mse } from '../../src/autograd/nn.js';
import * as nnRef from '../../src/autograd/nn-reference.js';
import { arr, numericGrad, relativeError, type Arr } from '../../src/autograd/reference.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { engine, f32, rand, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

const randomLabels = (n: number, k: number) => Int32Array.from({ length: n }, () => Math.floor(rand() * k));

describe('crossEntropy', () => {
  for (const [N, K] of [
    [1, 3],
    [7, 10],
    [33, 5],
  ]) {
    it(`[${N}, ${K}] forward and backward`, async () => {
      const x = f32(randomArr([N, K], -4, 4));
      const labels = randomLabels(N, K);
      const loss = nnRef.crossEntropy(x, labels);
      const up = f32(randomArr([], 0.5, 2));
      const dx = nnRef.crossEntropyGrad(x, labels, up.data[0]);
      const xt = requireGrad(toTensor(x));
      const lt = fromArray(labels);
      const upt = toTensor(up);
      const lossT = crossEntropy(xt, lt);
      expect(lossT.shape).toEqual([]);
      expect(relativeError(await lossT.data(), loss.data), seedNote).toBeLessThan(1e-5);
      backward(lossT, upt);
      // dx = g·(exp(x − lse) − onehot) / N in float32: lse's rounding (a few ε·|lse|) reaches every entry as an
      // absolute error, and a confident row's entries are all small (the label's is 1 − p with p near 1), so no
      // float32 implementation of this formula (PyTorch's included) is accurate relative to them. The bound:
      // 1e-5 of the largest entry plus 8ε·(1 + max|x|)·|g|/N; a wrong formula errs by O(|g|/N).
      const got = await xt.grad!.data();
      let diff = 0;
      let scale = 0;
      for (let j = 0; j < got.length; j++) {
        diff = Math.max(diff, Math.abs(got[j] - dx.data[j]));
        scale = Math.max(scale, Math.abs(dx.data[j]));
      }
      const floor = (8 * 2 ** -23 * (1 + Math.max(...Array.from(x.data, Math.abs))) * Math.abs(up.data[0])) / N;
      expect(diff, seedNote).toBeLessThan(1e-5 * scale + floor);
      for (const t of [xt, lt, upt, lossT]) t.dispose();
    });
  }

  it('stays finite for large logits (log-sum-exp with the max taken out)', async () => {
    const x = arr([2, 3], [1000, 999, -1000, 50, 80, 88.5]);
    const labels = Int32Array.from([1, 0]);
    const xt = toTensor(x);
    const lt = fromArray(labels);
    const l = crossEntropy(xt, lt);
    expect(relativeError(await l.data(), nnRef.crossEntropy(x, labels).data)).toBeLessThan(1e-5);
    for (const t of [xt, lt, l]) t.dispose();
  });

  it('keeps a small loss accurate relative to its value (a confident, correct row)', async () => {
    // Losses from 1e-5 to 0.23: lse − x[label] would cancel the largest logit, and log of a sum near 1 would
    // keep only log's absolute error; both show as relative errors above 1e-5 here.
    const rows: [number[], number][] = [
      [[0, 12, 0], 1], // loss 1.2e-5
      [[3.25, -1, 9.5], 2], // 2.0e-3
      [[40, 38.5, 31], 0], // 0.20
      [[-2, 1.5, 0], 1], // 0.23
    ];
    for (const [logits, label] of rows) {
      const x = arr([1, 3], logits);
      const labels = Int32Array.from([label]);
      const xt = toTensor(x);
      const lt = fromArray(labels);
      const l = crossEntropy(xt, lt);
      const want = nnRef.crossEntropy(x, labels).data[0];
      expect(want).toBeLessThan(0.25);
      expect(relativeError(await l.data(), [want]), `row ${logits} label ${label}`).toBeLessThan(2e-6);
      for (const t of [xt, lt, l]) t.dispose();
    }
  });

  it('reference gradient matches central differences', () => {
    const x = randomArr([3, 4], -2, 2);
    const labels = randomLabels(3, 4);
    const num = numericGrad(([xx]: Arr[]) => nnRef.crossEntropy(xx, labels), [x], 0, arr([], [1]));
    expect(relativeError(nnRef.crossEntropyGrad(x, labels).data, num.data)).toBeLessThan(1e-6);
  });

  it('rejects float labels and mismatched shapes', () => {
    const xt = toTensor(randomArr([3, 4]));
    const bad = toTensor(randomArr([3]));
    const short = fromArray(Int32Array.from([0, 1]));
    expect(() => crossEntropy(xt, bad)).toThrow(/int32/);
    expect(() => crossEntropy(xt, short)).toThrow(/\[2\].*\[3\]/);
    for (const t of [xt, bad, short]) t.dispose();
  });
});

describe('accuracy', () => {
  it('counts first-argmax hits on the GPU', async () => {
    const N = 37;
    const K = 6;
    const x = f32(randomArr([N, K]));
    // Some ties: the first maximum wins.
    for (let i = 0; i < 5; i++) x.data[i * K + 3] = x.data[i * K + 1] = 5;
    const labels = randomLabels(N, K);
    for (let i = 0; i < N; i += 2) {
      let best = 0;
      for (let k = 1; k < K; k++) if (x.data[i * K + k] > x.data[i * K + best]) best = k;
      labels[i] = best;
    }
    const xt = toTensor(x);
    const lt = fromArray(labels);
    const acc = accuracy(xt, lt);
    expect(acc.shape).toEqual([1]);
    expect((await acc.data())[0]).toBeCloseTo(nnRef.accuracy(x, labels), 6);
    for (const t of [xt, lt, acc]) t.dispose();
  });
});

describe('l2Normalize', () => {
  const cases: [number[], number][] = [
    [[5, 7], -1],
    [[1, 9], 1],
    [[3, 4, 5], 1],
    [[2, 3, 1], 0],
  ];
  for (const [shape, axis] of cases) {
    it(`[${shape.join(', ')}] axis ${axis}`, async () => {
      const x = f32(randomArr(shape));
      const ax = axis < 0 ? axis + shape.length : axis;
      const y = nnRef.l2Normalize(x, ax);
      const g = f32(randomArr(shape));
      const dx = nnRef.l2NormalizeGrad(x, g, ax);
      const xt = requireGrad(toTensor(x));
      const gt = toTensor(g);
      const yt = l2Normalize(xt, axis);
      expect(relativeError(await yt.data(), y.data), seedNote).toBeLessThan(1e-5);
      backward(yt, gt);
      expect(relativeError(await xt.grad!.data(), dx.data), seedNote).toBeLessThan(1e-4);
      for (const t of [xt, gt, yt]) t.dispose();
    });
  }

  it('clamps a zero row like torch (y = 0, dx = g / eps)', async () => {
    const x = arr([2, 3], [0, 0, 0, 1, 2, 2]);
    const g = arr([2, 3], [1e-12, -2e-12, 3e-12, 1, 1, 1]);
    const xt = requireGrad(toTensor(x));
    const gt = toTensor(g);
    const yt = l2Normalize(xt, 1);
    expect(Array.from(await yt.data())).toEqual(Array.from(Float32Array.from(nnRef.l2Normalize(x, 1).data)));
    backward(yt, gt);
    const want = nnRef.l2NormalizeGrad(x, g, 1);
    expect(relativeError((await xt.grad!.data()).slice(0, 3), want.data.slice(0, 3))).toBeLessThan(1e-5);
    for (const t of [xt, gt, yt]) t.dispose();
  });

  it('reference gradient matches central differences', () => {
    const x = randomArr([3, 4]);
    const g = randomArr([3, 4]);
    const num = numericGrad(([xx]: Arr[]) => nnRef.l2Normalize(xx, 1), [x], 0, g);
    expect(relativeError(nnRef.l2NormalizeGrad(x, g, 1).data, num.data)).toBeLessThan(1e-6);
  });
});

describe('byolLoss', () => {
  for (const mean of [true, false]) {
    for (const [N, D] of [
      [1, 5],
      [9, 17],
    ]) {
      it(`[${N}, ${D}] ${mean ? 'mean' : 'per sample'}`, async () => {
        const p = f32(randomArr([N, D]));
        const z = f32(randomArr([N, D]));
        const loss = nnRef.byolLoss(p, z, mean);
        const g = f32(randomArr(loss.shape, 0.5, 2));
        const [dp, dz] = nnRef.byolLossGrad(p, z, g, mean);
        const pt = requireGrad(toTensor(p));
        const zt = requireGrad(toTensor(z));
        const gt = toTensor(g);
        const l = byolLoss(pt, zt, mean);
        expect(l.shape).toEqual(loss.shape);
        expect(relativeError(await l.data(), loss.data), seedNote).toBeLessThan(1e-5);
        backward(l, gt);
        expect(relativeError(await pt.grad!.data(), dp.data), seedNote).toBeLessThan(1e-4);
        expect(relativeError(await zt.grad!.data(), dz.data), seedNote).toBeLessThan(1e-4);
        for (const t of [pt, zt, gt, l]) t.dispose();
      });
    }
  }

  for (const [B, D] of [
    [1, 3],
    [5, 17],
  ]) {
    it(`symmetric over two stacked views [2·${B}, ${D}]: L(p1, z2) + L(p2, z1)`, async () => {
      const p = f32(randomArr([2 * B, D]));
      const z = f32(randomArr([2 * B, D]));
      const half = (a: Arr, k: number) => arr([B, D], a.data.subarray(k * B * D, (k + 1) * B * D));
      const [p1, p2, z1, z2] = [half(p, 0), half(p, 1), half(z, 0), half(z, 1)];
      const want = nnRef.byolLoss(p1, z2).data[0] + nnRef.byolLoss(p2, z1).data[0];
      const g = f32(randomArr([], 0.5, 2));
      const [dp1, dz2] = nnRef.byolLossGrad(p1, z2, g, true);
      const [dp2, dz1] = nnRef.byolLossGrad(p2, z1, g, true);
      const pt = requireGrad(toTensor(p));
      const zt = requireGrad(toTensor(z));
      const gt = toTensor(g);
      const l = byolLossSymmetric(pt, zt);
      expect(l.shape).toEqual([]);
      expect(relativeError(await l.data(), [want]), seedNote).toBeLessThan(1e-5);
      backward(l, gt);
      expect(relativeError(await pt.grad!.data(), [...dp1.data, ...dp2.data]), seedNote).toBeLessThan(1e-4);
      expect(relativeError(await zt.grad!.data(), [...dz1.data, ...dz2.data]), seedNote).toBeLessThan(1e-4);
      for (const t of [pt, zt, gt, l]) t.dispose();
    });
  }

  it('reference gradients match central differences', () => {
    const p = randomArr([3, 4]);
    const z = randomArr([3, 4]);
    for (const mean of [true, false]) {
      const g = randomArr(mean ? [] : [3]);
      const f = ([pp, zz]: Arr[]) => nnRef.byolLoss(pp, zz, mean);
      const [dp, dz] = nnRef.byolLossGrad(p, z, g, mean);
      expect(relativeError(dp.data, numericGrad(f, [p, z], 0, g).data)).toBeLessThan(1e-6);
      expect(relativeError(dz.data, numericGrad(f, [p, z], 1, g).data)).toBeLessThan(1e-6);
    }
  });
});

describe('mse', () => {
  it('forward and backward', async () => {
    const a = f32(randomArr([3, 5]));
    const b = f32(randomArr([3, 5]));
    const at = requireGrad(toTensor(a));
    const bt = requireGrad(toTensor(b));
    const l = mse(at, bt);
    expect(relativeError(await l.data(), nnRef.mse(a, b).data), seedNote).toBeLessThan(1e-5);
    backward(l);
    const da = a.data.map((v, i) => (2 * (v - b.data[i])) / a.data.length);
    expect(relativeError(await at.grad!.data(), da), seedNote).toBeLessThan(1e-5);
    expect(relativeError(await bt.grad!.data(), da.map((v) => -v)), seedNote).toBeLessThan(1e-5);
    for (const t of [at, bt, l]) t.dispose();
  });
});
