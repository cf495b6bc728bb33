import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchNorm } from '../../src/autograd/nn.js';
import { batchNormTuning } from '../../src/kernels/batchnorm.js';
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
];

/** Kernel variants: the default, and the one-workgroup-per-channel reductions with scalar elementwise kernels. */
const variants: { name: string; set: Partial<typeof batchNormTuning> }[] = [
  { name: '', set: {} },
  { name: 'workgroup reduce, scalar: ', set: { reduce: 'workgroup', vec4: false } },
];
const defaults = { ...batchNormTuning };
afterEach(() => {
  Object.assign(batchNormTuning, defaults);
});

describe('batchNorm against the float64 reference', () => {
  for (const v of variants) for (const shape of shapes) {
    for (const training of [true, false]) {
      it(`${v.name}${training ? 'training' : 'eval'} [${shape.join(', ')}]`, async () => {
        Object.assign(batchNormTuning, defaults, v.set);
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
      });
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
