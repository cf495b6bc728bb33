import { beforeAll, describe, expect, it } from 'vitest';
import { globalAvgPool, maxPool2d } from '../../src/autograd/nn.js';
import * as nnRef from '../../src/autograd/nn-reference.js';
import { numericGrad, relativeError, type Arr } from '../../src/autograd/reference.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { maxPool2dBackward, maxPool2dForward } from '../../src/kernels/pool.js';
import { engine, f32, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

const cases = [
  { shape: [2, 3, 9, 9], kernel: 3, stride: 2, padding: 1 }, // ResNet stem
  { shape: [1, 5, 7, 8], kernel: 3, stride: 2, padding: 1 },
  { shape: [2, 2, 6, 7], kernel: 2, stride: 2, padding: 0 },
  { shape: [1, 3, 5, 5], kernel: 3, stride: 1, padding: 1 },
  // Rows of a multiple of 4: the backward takes four elements per invocation.
  { shape: [2, 3, 16, 16], kernel: 3, stride: 2, padding: 1 },
  { shape: [1, 2, 5, 12], kernel: 2, stride: 2, padding: 0 },
  { shape: [1, 2, 6, 8], kernel: 3, stride: 1, padding: 1 },
  { shape: [2, 1, 7, 12], kernel: 5, stride: 3, padding: 2 },
];

describe('maxPool2d against the float64 reference', () => {
  for (const c of cases) {
    it(`[${c.shape.join(', ')}] ${c.kernel}×${c.kernel}/${c.stride} pad ${c.padding}`, async () => {
      const x = f32(randomArr(c.shape));
      const [y] = nnRef.maxPool2d(x, c);
      const g = f32(randomArr(y.shape));
      const dx = nnRef.maxPool2dGrad(x, g, c);
      const xt = requireGrad(toTensor(x));
      const gt = toTensor(g);
      const yt = maxPool2d(xt, c);
      expect(yt.shape).toEqual(y.shape);
      expect(relativeError(await yt.data(), y.data), seedNote).toBeLessThan(1e-6);
      backward(yt, gt);
      expect(relativeError(await xt.grad!.data(), dx.data), seedNote).toBeLessThan(1e-6);
      for (const t of [xt, gt, yt]) t.dispose();
    });
  }

  it('routes ties to the first maximum in scan order, as PyTorch', async () => {
    // Quantized values make ties common.
    const x = f32(randomArr([2, 2, 7, 7]));
    x.data.forEach((v, i) => (x.data[i] = Math.round(v * 2)));
    const opts = { kernel: 3, stride: 2, padding: 1 };
    const [y] = nnRef.maxPool2d(x, opts);
    const g = f32(randomArr(y.shape));
    const dx = nnRef.maxPool2dGrad(x, g, opts);
    const xt = requireGrad(toTensor(x));
    const gt = toTensor(g);
    const yt = maxPool2d(xt, opts);
    backward(yt, gt);
    expect(relativeError(await xt.grad!.data(), dx.data), seedNote).toBeLessThan(1e-6);
    for (const t of [xt, gt, yt]) t.dispose();
  });
});

describe('maxPool2d backward, four elements per invocation', () => {
  it("gives the one-element kernel's bits, ties included", async () => {
    for (const c of cases.filter((c) => c.shape[3]! % 4 === 0)) {
      const x = f32(randomArr(c.shape));
      x.data.forEach((v, i) => (x.data[i] = Math.round(v * 2))); // ties are common
      const xt = toTensor(x);
      const { y, argmax } = maxPool2dForward(xt, c);
      const gt = toTensor(f32(randomArr(y.shape)));
      const four = withKernelOverrides({ maxPool2d: { vec4: true } }, () => maxPool2dBackward(gt, argmax, c.shape, c));
      const one = withKernelOverrides({ maxPool2d: { vec4: false } }, () => maxPool2dBackward(gt, argmax, c.shape, c));
      expect(await four.data(), `${c.shape.join('×')} ${c.kernel}/${c.stride} ${seedNote}`).toEqual(await one.data());
      for (const t of [xt, y, argmax, gt, four, one]) t.dispose();
    }
  });
});

describe('globalAvgPool', () => {
  for (const shape of [
    [2, 3, 5, 7],
    [1, 5, 1, 1],
    [3, 4, 17, 17],
  ]) {
    it(`[${shape.join(', ')}]`, async () => {
      const x = f32(randomArr(shape));
      const y = nnRef.globalAvgPool(x);
      const g = f32(randomArr(y.shape));
      const dx = nnRef.globalAvgPoolGrad(x, g);
      const xt = requireGrad(toTensor(x));
      const gt = toTensor(g);
      const yt = globalAvgPool(xt);
      expect(relativeError(await yt.data(), y.data), seedNote).toBeLessThan(1e-5);
      backward(yt, gt);
      expect(relativeError(await xt.grad!.data(), dx.data), seedNote).toBeLessThan(1e-6);
      for (const t of [xt, gt, yt]) t.dispose();
    });
  }

  it('reference gradients match central differences', () => {
    const x = randomArr([2, 2, 5, 5]);
    const opts = { kernel: 3, stride: 2, padding: 1 };
    const gm = randomArr(nnRef.maxPool2d(x, opts)[0].shape);
    const numMax = numericGrad(([xx]: Arr[]) => nnRef.maxPool2d(xx, opts)[0], [x], 0, gm);
    expect(relativeError(nnRef.maxPool2dGrad(x, gm, opts).data, numMax.data)).toBeLessThan(1e-6);
    const ga = randomArr([2, 2]);
    const numAvg = numericGrad(([xx]: Arr[]) => nnRef.globalAvgPool(xx), [x], 0, ga);
    expect(relativeError(nnRef.globalAvgPoolGrad(x, ga).data, numAvg.data)).toBeLessThan(1e-6);
  });
});
