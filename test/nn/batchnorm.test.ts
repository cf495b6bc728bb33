import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm, batchNormAct } from '../../src/autograd/nn.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import type { BatchNormOverrides } from '../../src/kernels/batchnorm.js';
import * as nnRef from '../../src/autograd/nn-reference.js';
import { arr, numericGrad, relativeError, type Arr } from '../../src/autograd/reference.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { engine, f32, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

const shapes = [
  [4, 3, 5, 5],
  [1, 5, 7, 9],
  [2, 4, 17, 17], // HW ≥ 256: the per-image strided path
  [6, 5], // BatchNorm1d
  [3, 7], // (with 2 values per channel the normalized output is ±1 whatever x is: dx vanishes)
  [3, 5, 4, 6], // HW % 4 == 0: the vec4 elementwise kernels
  [2, 3, 16, 20], // HW % 4 == 0 and ≥ 256
  [3, 37, 2, 2], // more channels than a workgroup of lanes, HW % 4 == 0 with one vec4 per plane
];

/**
 * Kernel variants: the default (by shape), the channel path with a workgroup per channel (subgroup sum where
 * the device has subgroups, and the workgroup-memory tree that hardware GPUs take) and with a lane per
 * channel (8 or 64 per workgroup), and the planes path with vec4 and with scalar kernels.
 */
const variants: { name: string; set: BatchNormOverrides }[] = [
  { name: '', set: {} },
  { name: 'channel, workgroup: ', set: { path: 'channel', lanes: 'workgroup' } },
  { name: 'channel, workgroup tree, scalar: ', set: { path: 'channel', lanes: 'workgroup', subgroups: false, vec4: false } },
  { name: 'channel, workgroup tree: ', set: { path: 'channel', lanes: 'workgroup', subgroups: false } },
  { name: 'channel, lane: ', set: { path: 'channel', lanes: 'lane' } },
  { name: 'channel, lane, 64 per workgroup: ', set: { path: 'channel', lanes: 'lane', subgroups: false } },
  { name: 'planes: ', set: { path: 'planes' } },
  { name: 'planes, scalar: ', set: { path: 'planes', vec4: false } },
];
/** A test body run with the variant's batch-norm overrides in force. */
const under = (set: BatchNormOverrides, fn: () => Promise<void>) => () => withKernelOverrides({ batchNorm: set }, fn);

describe('batchNorm against the float64 reference', () => {
  for (const v of variants) for (const shape of shapes) {
    for (const training of [true, false]) {
      it(`${v.name}${training ? 'training' : 'eval'} [${shape.join(', ')}]`, under(v.set, async () => {
        const C = shape[1];
        const x = f32(randomArr(shape, -2, 3));
        const gamma = f32(randomArr([C], 0.5, 1.5));
        const beta = f32(randomArr([C]));
        const rm = f32(randomArr([C]));
        const rv = f32(randomArr([C], 0.5, 2));
        const ref = nnRef.batchNorm(x, gamma, beta, rm, rv, training);
        const g = f32(randomArr(shape));
        const [dx, dgamma, dbeta] = nnRef.batchNormGrad(x, gamma, g, rm, rv, training);
        const xt = requireGrad(toTensor(x));
        const gt = requireGrad(toTensor(gamma));
        const bt = requireGrad(toTensor(beta));
        const [rmt, rvt, upt] = [toTensor(rm), toTensor(rv), toTensor(g)];
        const y = batchNorm(xt, gt, bt, { training, runningMean: rmt, runningVar: rvt });
        expect(relativeError(await y.data(), ref.y.data), `y ${seedNote}`).toBeLessThan(1e-4);
        expect(relativeError(await rmt.data(), ref.runningMean.data), `running mean ${seedNote}`).toBeLessThan(1e-5);
        expect(relativeError(await rvt.data(), ref.runningVar.data), `running var ${seedNote}`).toBeLessThan(1e-5);
        backward(y, upt);
        expect(relativeError(await xt.grad!.data(), dx.data), `dx ${seedNote}`).toBeLessThan(1e-4);
        expect(relativeError(await gt.grad!.data(), dgamma.data), `dgamma ${seedNote}`).toBeLessThan(1e-4);
        expect(relativeError(await bt.grad!.data(), dbeta.data), `dbeta ${seedNote}`).toBeLessThan(1e-4);
        for (const t of [xt, gt, bt, rmt, rvt, upt, y]) t.dispose();
      }));
    }
  }

  it('trains without running statistics, and refuses one value per channel', async () => {
    const x = f32(randomArr([3, 2, 2, 2]));
    const gamma = f32(randomArr([2]));
    const beta = f32(randomArr([2]));
    const ref = nnRef.batchNorm(x, gamma, beta, arr([2]), arr([2]), true);
    const [xt, gt, bt] = [toTensor(x), toTensor(gamma), toTensor(beta)];
    const y = batchNorm(xt, gt, bt, { training: true });
    expect(relativeError(await y.data(), ref.y.data), seedNote).toBeLessThan(1e-4);
    const one = toTensor(randomArr([1, 2]));
    expect(() => batchNorm(one, gt, bt, { training: true })).toThrow(/more than 1 value per channel/);
    for (const t of [xt, gt, bt, y, one]) t.dispose();
  });
});

describe('batchNorm reference gradients against central differences', () => {
  for (const training of [true, false]) {
    it(training ? 'training' : 'eval', () => {
      const x = randomArr([3, 2, 2, 3]);
      const gamma = randomArr([2], 0.5, 1.5);
      const beta = randomArr([2]);
      const rm = randomArr([2]);
      const rv = randomArr([2], 0.5, 2);
      const g = randomArr(x.shape);
      const f = ([xx, gg, bb]: Arr[]) => nnRef.batchNorm(xx, gg, bb, rm, rv, training).y;
      const grads = nnRef.batchNormGrad(x, gamma, g, rm, rv, training);
      for (let i = 0; i < 3; i++) {
        const num = numericGrad(f, [x, gamma, beta], i, g);
        expect(relativeError(grads[i].data, num.data)).toBeLessThan(1e-6);
      }
    });
  }
});

/** Fused cases: [shape, groups, relu, residual]. Odd sizes, groups of odd size, vec4 and scalar planes. */
const actCases: [number[], number, boolean, boolean][] = [
  [[4, 3, 5, 5], 2, true, true],
  [[6, 5], 2, true, false], // BatchNorm1d, groups of 3 samples (with 2, the output is ±1 whatever x is: dx vanishes)
  [[3, 5, 4, 6], 1, true, true], // HW % 4 == 0
  [[4, 3, 4, 5], 2, false, true],
  [[6, 37, 2, 2], 3, true, true], // many channels, one vec4 per plane
  [[2, 3, 16, 20], 2, true, false], // HW ≥ 256, one sample per group
  [[10, 9, 1, 3], 5, true, true],
];

describe('batchNormAct (batch norm + residual + ReLU, grouped) against the float64 reference', () => {
  for (const v of variants) for (const [shape, groups, relu, withResidual] of actCases) {
    for (const training of [true, false]) {
      const what = `${relu ? 'relu' : 'no relu'}, ${withResidual ? 'residual' : 'no residual'}, ${groups} groups`;
      it(`${v.name}${training ? 'training' : 'eval'} [${shape.join(', ')}] ${what}`, under(v.set, async () => {
        const C = shape[1];
        const x = f32(randomArr(shape, -2, 3));
        const gamma = f32(randomArr([C], 0.5, 1.5));
        const beta = f32(randomArr([C]));
        const residual = withResidual ? f32(randomArr(shape)) : null;
        const rm = f32(randomArr([C]));
        const rv = f32(randomArr([C], 0.5, 2));
        const opts = { residual, relu, groups };
        const ref = nnRef.batchNormAct(x, gamma, beta, rm, rv, training, opts);
        const g = f32(randomArr(shape));
        const [dx, dgamma, dbeta, dres] = nnRef.batchNormActGrad(x, gamma, beta, g, rm, rv, training, opts);
        const xt = requireGrad(toTensor(x));
        const gt = requireGrad(toTensor(gamma));
        const bt = requireGrad(toTensor(beta));
        const rt = residual ? requireGrad(toTensor(residual)) : null;
        const [rmt, rvt, upt] = [toTensor(rm), toTensor(rv), toTensor(g)];
        const y = batchNormAct(xt, gt, bt, { training, runningMean: rmt, runningVar: rvt, residual: rt, relu, groups });
        expect(relativeError(await y.data(), ref.y.data), `y ${seedNote}`).toBeLessThan(1e-4);
        expect(relativeError(await rmt.data(), ref.runningMean.data), `running mean ${seedNote}`).toBeLessThan(1e-5);
        expect(relativeError(await rvt.data(), ref.runningVar.data), `running var ${seedNote}`).toBeLessThan(1e-5);
        backward(y, upt);
        expect(relativeError(await xt.grad!.data(), dx.data), `dx ${seedNote}`).toBeLessThan(1e-4);
        expect(relativeError(await gt.grad!.data(), dgamma.data), `dgamma ${seedNote}`).toBeLessThan(1e-4);
        expect(relativeError(await bt.grad!.data(), dbeta.data), `dbeta ${seedNote}`).toBeLessThan(1e-4);
        if (rt) expect(relativeError(await rt.grad!.data(), dres.data), `dresidual ${seedNote}`).toBeLessThan(1e-6);
        for (const t of [xt, gt, bt, rmt, rvt, upt, y, ...(rt ? [rt] : [])]) t.dispose();
      }));
    }
  }

  it('refuses groups that do not divide the batch, a residual of another shape, and one value per group', () => {
    const x = toTensor(randomArr([4, 2, 3, 3]));
    const gamma = toTensor(randomArr([2]));
    const beta = toTensor(randomArr([2]));
    const other = toTensor(randomArr([4, 2, 3, 2]));
    const one = toTensor(randomArr([2, 2]));
    expect(() => batchNormAct(x, gamma, beta, { training: true, groups: 3 })).toThrow(/groups must be a positive integer that divides/);
    expect(() => batchNormAct(x, gamma, beta, { training: true, residual: other })).toThrow(/residual \[4, 2, 3, 2\]/);
    expect(() => batchNormAct(one, gamma, beta, { training: true, groups: 2 })).toThrow(/more than 1 value per channel per group/);
    for (const t of [x, gamma, beta, other, one]) t.dispose();
  });
});

describe('batchNormAct reference gradients against central differences', () => {
  for (const training of [true, false]) {
    it(training ? 'training, 2 groups, residual, ReLU' : 'eval, residual, ReLU', () => {
      const x = randomArr([4, 2, 2, 3]);
      const gamma = randomArr([2], 0.5, 1.5);
      const beta = randomArr([2]);
      const residual = randomArr(x.shape);
      const rm = randomArr([2]);
      const rv = randomArr([2], 0.5, 2);
      const g = randomArr(x.shape);
      const f = ([xx, gg, bb, rr]: Arr[]) => nnRef.batchNormAct(xx, gg, bb, rm, rv, training, { residual: rr, relu: true, groups: 2 }).y;
      const grads = nnRef.batchNormActGrad(x, gamma, beta, g, rm, rv, training, { residual, relu: true, groups: 2 });
      for (let i = 0; i < 4; i++) {
        const num = numericGrad(f, [x, gamma, beta, residual], i, g);
        expect(relativeError(grads[i].data, num.data), `input ${i} ${seedNote}`).toBeLessThan(1e-6);
      }
    });
  }
});
