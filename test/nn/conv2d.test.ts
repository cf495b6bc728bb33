import { beforeAll, describe, expect, it } from 'vitest';
import {
  conv2dBackwardBias,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  conv2dBatchNormEval,
  conv2dForward,
  conv2dGeometry,
  onlyPhaseZeroHasTaps,
  usedTaps,
  type Conv2dOverrides,
} from '../../src/kernels/conv2d.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { zeros } from '../../src/kernels/creation.js';
import { batchNormForward } from '../../src/kernels/batchnorm.js';
import { getRuntime } from '../../src/tensor/engine.js';
import { batchNormAct, conv2d as convOp } from '../../src/autograd/nn.js';
import { relu } from '../../src/autograd/ops.js';
import { subgroupTilesPreferred } from '../../src/kernels/subgroups.js';
import * as nnRef from '../../src/autograd/nn-reference.js';
import { arr, numericGrad, relativeError, type Arr } from '../../src/autograd/reference.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { engine, f32, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

interface Case {
  N: number;
  C: number;
  H: number;
  W: number;
  CO: number;
  K: number;
  stride: number;
  padding: number;
  bias: boolean;
}

const cases: Case[] = [
  { N: 1, C: 3, H: 9, W: 9, CO: 5, K: 7, stride: 2, padding: 3, bias: false }, // stem-like
  { N: 2, C: 5, H: 7, W: 9, CO: 3, K: 3, stride: 1, padding: 1, bias: true },
  { N: 2, C: 4, H: 9, W: 7, CO: 6, K: 3, stride: 2, padding: 1, bias: false },
  { N: 3, C: 5, H: 7, W: 7, CO: 9, K: 1, stride: 2, padding: 0, bias: true },
  { N: 1, C: 1, H: 5, W: 6, CO: 1, K: 2, stride: 3, padding: 0, bias: true },
  { N: 2, C: 2, H: 4, W: 11, CO: 2, K: 3, stride: 1, padding: 0, bias: false },
  // Wider channel counts (several column groups of the subgroup kernels, channels not a multiple of 8).
  { N: 3, C: 12, H: 5, W: 5, CO: 20, K: 1, stride: 2, padding: 0, bias: false }, // 1×1: weights used in place
  { N: 2, C: 10, H: 6, W: 7, CO: 9, K: 1, stride: 1, padding: 0, bias: false }, // 1×1/1: dx is the forward of dy
  { N: 2, C: 11, H: 8, W: 7, CO: 13, K: 1, stride: 3, padding: 0, bias: true }, // 1×1/3: scattered dx
  { N: 2, C: 9, H: 6, W: 5, CO: 70, K: 3, stride: 2, padding: 1, bias: true },
  { N: 5, C: 16, H: 1, W: 1, CO: 36, K: 3, stride: 1, padding: 1, bias: false }, // 1×1 map: dy used in place
  { N: 2, C: 8, H: 2, W: 2, CO: 12, K: 3, stride: 2, padding: 1, bias: false }, // layer4-like 2×2 → 1×1
  { N: 3, C: 6, H: 1, W: 5, CO: 10, K: 3, stride: 1, padding: 1, bias: false }, // one row: the middle kernel row alone meets it
  // More than 8 blocks of 32 rows: the layout pass and vec4 loads in every subgroup kernel.
  { N: 4, C: 8, H: 13, W: 11, CO: 10, K: 3, stride: 1, padding: 1, bias: true },
];

/**
 * Kernel variants: 'auto' (what the shape picks on this device), the register-tiled kernels that run where
 * subgroups do not, and the subgroup kernels with the per-invocation operand read in place or through the
 * layout pass, on every case whatever its shape would pick.
 */
const variants: { name: string; set: Conv2dOverrides; subgroups: boolean }[] = [
  { name: 'auto', set: {}, subgroups: false },
  { name: 'tiled', set: { forward: 'tile', dx: 'tile', dw: 'tile' }, subgroups: false },
  { name: 'tiled, 256 per workgroup', set: { forward: 'tile', dx: 'tile', dw: 'tile', tileWG: 256 }, subgroups: false },
  // The channel reduction split three ways (what GPUs take for few tiles), summed by a reduction.
  { name: 'tiled, split reduction', set: { forward: 'tile', dx: 'tile', dw: 'tile', tileSplits: 3 }, subgroups: false },
  // The input gradient as a matmul and a gather (what the stem takes on software adapters), on every case.
  { name: 'gemm + col2im input gradient', set: { dx: 'gemm' }, subgroups: false },
  { name: 'subgroup, in place', set: { forward: 'sg', dx: 'sg', dw: 'sg', direct: true }, subgroups: true },
  { name: 'subgroup, layout pass', set: { forward: 'sg', dx: 'sg', dw: 'sg', direct: false, dwTargetWorkgroups: 64 }, subgroups: true },
  // One, two or four steps of K per accumulator update where the kernels can (the two- or four-step loop,
  // then single steps for the rest); the default takes two where the reduction is long enough, else one,
  // and the forward walks K as one range two steps at a time below 8 input channels (flatK).
  { name: 'subgroup, single steps', set: { forward: 'sg', dx: 'sg', dw: 'sg', steps: 1 }, subgroups: true },
  { name: 'subgroup, two steps', set: { forward: 'sg', dx: 'sg', dw: 'sg', steps: 2 }, subgroups: true },
  { name: 'subgroup, four steps', set: { forward: 'sg', dx: 'sg', dw: 'sg', steps: 4 }, subgroups: true },
  // The filter gradient's rows in the weight's order or tap-major (skipping positions where a block's taps
  // meet padding), with either step.
  { name: 'subgroup, filter gradient in the weight\'s order', set: { dw: 'sg', dwTapMajor: false }, subgroups: true },
  { name: 'subgroup, filter gradient tap-major, two steps', set: { dw: 'sg', dwTapMajor: true, steps: 2 }, subgroups: true },
  { name: 'subgroup, filter gradient tap-major, four steps', set: { dw: 'sg', dwTapMajor: true, steps: 4 }, subgroups: true },
];
const name = (c: Case) => `N${c.N} C${c.C} ${c.H}×${c.W} → ${c.CO}, ${c.K}×${c.K}/${c.stride} pad ${c.padding}${c.bias ? ' +bias' : ''}`;

async function checkCase(c: Case, dxKernel: Conv2dOverrides['dx']): Promise<void> {
  const opts = { stride: c.stride, padding: c.padding };
  const x = f32(randomArr([c.N, c.C, c.H, c.W]));
  const w = f32(randomArr([c.CO, c.C, c.K, c.K]));
  const b = c.bias ? f32(randomArr([c.CO])) : null;
  const y = nnRef.conv2d(x, w, b, opts);
  const g = f32(randomArr(y.shape));
  const [dx, dw, db] = nnRef.conv2dGrad(x, w, g, opts);
  const [xt, wt, gt] = [toTensor(x), toTensor(w), toTensor(g)];
  const bt = b ? toTensor(b) : null;
  const yt = conv2dForward(xt, wt, bt, opts);
  expect(yt.shape).toEqual(y.shape);
  expect(relativeError(await yt.data(), y.data), `forward ${seedNote}`).toBeLessThan(1e-4);
  const dxt = conv2dBackwardInput(gt, wt, x.shape, opts);
  expect(relativeError(await dxt.data(), dx.data), `dx ${seedNote}`).toBeLessThan(1e-4);
  // Adding into another gradient of x (in place where the kernel can, else a new tensor of dx alone).
  const other = f32(randomArr(x.shape));
  const into = toTensor(other);
  const sum = conv2dBackwardInput(gt, wt, x.shape, opts, into);
  if (dxKernel === 'sg') expect(sum, 'the subgroup kernel adds in place').toBe(into);
  if (sum === into) {
    expect(relativeError(await sum.data(), dx.data.map((v, i) => v + other.data[i])), `dx added into ${seedNote}`).toBeLessThan(1e-4);
  } else {
    expect(relativeError(await sum.data(), dx.data), `dx beside ${seedNote}`).toBeLessThan(1e-4);
    expect(await into.data()).toEqual(Float32Array.from(other.data));
    sum.dispose();
  }
  into.dispose();
  const dwt = conv2dBackwardFilter(gt, xt, w.shape, opts);
  expect(relativeError(await dwt.data(), dw.data), `dw ${seedNote}`).toBeLessThan(1e-4);
  const dbt = conv2dBackwardBias(gt);
  expect(relativeError(await dbt.data(), db.data), `db ${seedNote}`).toBeLessThan(1e-4);
  for (const t of [xt, wt, gt, bt, yt, dxt, dwt, dbt]) t?.dispose();
}

describe('conv2d kernels against the float64 reference', () => {
  for (const v of variants) {
    for (const c of cases) {
      it(`${v.name}: ${name(c)}`, async (ctx) => {
        if (v.subgroups && !getRuntime().device.features.has('subgroups')) ctx.skip();
        await withKernelOverrides({ conv2d: v.set }, () => checkCase(c, v.set.dx));
      });
    }
  }

  it("walks the stem's K as one range two steps at a time (flatK) with the sums of single steps, to the bit", async (ctx) => {
    if (!getRuntime().device.features.has('subgroups')) ctx.skip();
    // C_in = 3, 7×7/2 pad 3: K = 147 is odd (the last step pairs with a zero step), and padding meets the
    // taps of border rows; 9 images of 17×17 give 81 positions, several blocks of 32 rows.
    const opts = { stride: 2, padding: 3 };
    const x = toTensor(f32(randomArr([9, 3, 17, 17])));
    const w = toTensor(f32(randomArr([20, 3, 7, 7])));
    for (const direct of [true, false]) {
      const flat = withKernelOverrides({ conv2d: { forward: 'sg', direct } }, () => conv2dForward(x, w, null, opts));
      const single = withKernelOverrides({ conv2d: { forward: 'sg', direct, steps: 1 } }, () => conv2dForward(x, w, null, opts));
      expect(await flat.data(), `direct: ${direct} ${seedNote}`).toEqual(await single.data());
      flat.dispose();
      single.dispose();
    }
    x.dispose();
    w.dispose();
  });

  it("runs eval-mode batch norm and ReLU in the forward's epilogue with the bits of the two passes", async (ctx) => {
    if (!getRuntime().device.features.has('subgroups')) ctx.skip();
    const shapes = [
      { N: 9, C: 3, H: 17, W: 17, CO: 20, K: 7, stride: 2, padding: 3, bias: false }, // stem-like: flat K
      { N: 4, C: 12, H: 9, W: 7, CO: 18, K: 3, stride: 1, padding: 1, bias: true },
      { N: 3, C: 16, H: 6, W: 6, CO: 10, K: 1, stride: 2, padding: 0, bias: false }, // 1×1/2 shortcut
      { N: 40, C: 8, H: 5, W: 5, CO: 12, K: 3, stride: 1, padding: 1, bias: false }, // more than 8 row blocks: layout pass
    ];
    for (const c of shapes) {
      const opts = { stride: c.stride, padding: c.padding };
      const x = toTensor(f32(randomArr([c.N, c.C, c.H, c.W])));
      const w = toTensor(f32(randomArr([c.CO, c.C, c.K, c.K])));
      const bias = c.bias ? toTensor(f32(randomArr([c.CO]))) : null;
      const mean = toTensor(f32(randomArr([c.CO])));
      const variance = toTensor(f32(randomArr([c.CO], 0.1, 2)));
      const gamma = toTensor(f32(randomArr([c.CO])));
      const beta = toTensor(f32(randomArr([c.CO])));
      for (const [act, steps] of [[true, undefined], [true, 1], [false, 1]] as const) {
        const note = `${name(c)} relu ${act} steps ${steps ?? 'default'} ${seedNote}`;
        const fused = withKernelOverrides({ conv2d: { forward: 'sg', steps } }, () =>
          conv2dBatchNormEval(x, w, bias, opts, { mean, variance, gamma, beta, eps: 1e-5, relu: act }),
        );
        expect(fused, note).not.toBeNull();
        const conv = withKernelOverrides({ conv2d: { forward: 'sg', steps } }, () => conv2dForward(x, w, bias, opts));
        const two = batchNormForward(conv, gamma, beta, { training: false, runningMean: mean, runningVar: variance, eps: 1e-5, relu: act });
        expect(await fused!.data(), note).toEqual(await two.y.data());
        for (const t of [fused!, conv, two.y, two.stats]) t.dispose();
      }
      // Declined where it does not run: the override, or a plan other than the subgroup forward.
      const bn = { mean, variance, gamma, beta, eps: 1e-5, relu: true };
      expect(withKernelOverrides({ conv2d: { fuseBatchNorm: false } }, () => conv2dBatchNormEval(x, w, bias, opts, bn))).toBeNull();
      expect(withKernelOverrides({ conv2d: { forward: 'tile' } }, () => conv2dBatchNormEval(x, w, bias, opts, bn))).toBeNull();
      for (const t of [x, w, bias, mean, variance, gamma, beta]) t?.dispose();
    }
  });

  it('splits the filter gradient over a larger batch', async () => {
    const opts = { stride: 1, padding: 1 };
    const x = f32(randomArr([9, 2, 5, 5]));
    const w = f32(randomArr([3, 2, 3, 3]));
    const g = f32(randomArr([9, 3, 5, 5]));
    const [, dw] = nnRef.conv2dGrad(x, w, g, opts);
    const [xt, gt] = [toTensor(x), toTensor(g)];
    const dwt = conv2dBackwardFilter(gt, xt, w.shape, opts);
    expect(relativeError(await dwt.data(), dw.data), seedNote).toBeLessThan(1e-4);
    for (const t of [xt, gt, dwt]) t.dispose();
  });

  it('knows which input gradients are zero outside stride phase (0, 0)', () => {
    const only0 = (k: number, stride: number, padding: number, h = 8) =>
      onlyPhaseZeroHasTaps(conv2dGeometry([1, 1, h, h], [1, 1, k, k], { stride, padding }));
    expect(only0(1, 2, 0)).toBe(true); // ResNet's downsample
    expect(only0(1, 3, 0)).toBe(true);
    expect(only0(1, 1, 0)).toBe(false); // one phase only, nothing to skip
    expect(only0(3, 2, 1)).toBe(false);
    expect(only0(2, 2, 0)).toBe(false);
    expect(only0(1, 2, 1)).toBe(false); // padding moves the taps to phase (1, 1)
    expect(only0(1, 2, 0, 1)).toBe(false); // a 1×1 map has phase (0, 0) alone: nothing to skip either
  });

  // Both ways of getting dx's zeros where no tap reaches: the clear before the phase-(0, 0) product (the
  // default) and the idle phases storing them.
  for (const dxZeroFill of [true, false]) {
    it(`writes dx's zeros where no tap reaches (1×1/2: three stride phases of four), into a recycled buffer (${dxZeroFill ? 'cleared' : 'stored by idle phases'})`, async (ctx) => {
      if (!getRuntime().device.features.has('subgroups')) ctx.skip();
      await withKernelOverrides({ conv2d: { dx: 'sg', dxZeroFill } }, async () => {
        // Dirty the pool with non-zero buffers of dx's size first, so a missed zero would show.
        const opts = { stride: 2, padding: 0 };
        const shape = [2, 16, 9, 9];
        const junk = Array.from({ length: 4 }, () => toTensor(randomArr(shape)));
        for (const j of junk) await j.data();
        for (const j of junk) j.dispose();
        const w = f32(randomArr([24, 16, 1, 1]));
        const x = f32(randomArr(shape));
        const g = f32(randomArr([2, 24, 5, 5]));
        const [dx] = nnRef.conv2dGrad(x, w, g, opts);
        const [wt, gt] = [toTensor(w), toTensor(g)];
        const dxt = conv2dBackwardInput(gt, wt, shape, opts);
        const got = await dxt.data();
        expect(relativeError(got, dx.data), seedNote).toBeLessThan(1e-4);
        expect(got[1]).toBe(0); // (0, 0, 0, 1): an odd column
        expect(got[9]).toBe(0); // (0, 0, 1, 0): an odd row
        for (const t of [wt, gt, dxt]) t.dispose();
      });
    });
  }

  it('knows which kernel taps meet the input', () => {
    const taps = (x: number[], k: number, stride: number, padding: number) =>
      usedTaps(conv2dGeometry(x, [1, x[1], k, k], { stride, padding }));
    expect(taps([1, 1, 8, 8], 3, 1, 1)).toEqual({ h0: 0, h: 3, w0: 0, w: 3 });
    expect(taps([1, 1, 1, 1], 3, 1, 1)).toEqual({ h0: 1, h: 1, w0: 1, w: 1 }); // layer4 at 32×32: the centre alone
    expect(taps([1, 1, 2, 2], 3, 2, 1)).toEqual({ h0: 1, h: 2, w0: 1, w: 2 }); // layer4.0.conv1: 2×2 → 1×1
    expect(taps([1, 1, 1, 5], 3, 1, 1)).toEqual({ h0: 1, h: 1, w0: 0, w: 3 });
    expect(taps([1, 1, 1, 1], 1, 3, 2)).toEqual({ h0: 0, h: 0, w0: 0, w: 0 }); // every output on padding
  });

  // The taps outside the window get their zeros from a clear; with every tap summed the kernel writes them.
  for (const dwUsedTaps of [true, false]) {
    for (const dwTargetWorkgroups of [8, 64]) {
      it(`writes dw's zeros for taps on padding alone, into a recycled buffer (${dwUsedTaps ? 'used taps' : 'every tap'}, ${dwTargetWorkgroups === 64 ? 'split over the batch' : 'one pass'})`, async (ctx) => {
        if (!getRuntime().device.features.has('subgroups')) ctx.skip();
        await withKernelOverrides({ conv2d: { dw: 'sg', dwUsedTaps, dwTargetWorkgroups } }, async () => {
          const opts = { stride: 1, padding: 1 };
          const wShape = [12, 10, 3, 3];
          // Into nothing, into a tensor of junk, and into a gradient known to hold zeros (`zeroed`, which spares the clear).
          for (const into of [null, 'junk', 'zeroed'] as const) {
            // Dirty the pool with non-zero buffers of dw's size (and of the splits' slices) first.
            const junk = [wShape, [4, ...wShape], [6, ...wShape]].map((sh) => toTensor(randomArr(sh)));
            for (const j of junk) await j.data();
            for (const j of junk) j.dispose();
            const x = f32(randomArr([6, 10, 1, 1]));
            const g = f32(randomArr([6, 12, 1, 1]));
            const [, dw] = nnRef.conv2dGrad(x, f32(randomArr(wShape)), g, opts);
            const [xt, gt] = [toTensor(x), toTensor(g)];
            const target = into === 'junk' ? toTensor(randomArr(wShape)) : into === 'zeroed' ? zeros(wShape) : null;
            if (into === 'zeroed') target!.zeroed = true;
            const dwt = conv2dBackwardFilter(gt, xt, wShape, opts, target);
            if (target) expect(dwt).toBe(target);
            const got = await dwt.data();
            expect(relativeError(got, dw.data), seedNote).toBeLessThan(1e-4);
            for (let i = 0; i < got.length; i++) if (i % 9 !== 4) expect(got[i], `dw[${i}]`).toBe(0);
            for (const t of [xt, gt, dwt]) t.dispose();
          }
        });
      });
    }
  }

  it('gives a zero filter gradient where every tap sees padding', async () => {
    const opts = { stride: 3, padding: 2 };
    const x = f32(randomArr([2, 3, 1, 1]));
    const w = f32(randomArr([4, 3, 1, 1]));
    const y = nnRef.conv2d(x, w, null, opts);
    const g = f32(randomArr(y.shape));
    const [, dw] = nnRef.conv2dGrad(x, w, g, opts);
    expect(Array.from(dw.data).every((v) => v === 0)).toBe(true);
    const [xt, gt] = [toTensor(x), toTensor(g)];
    // One pass, written straight into a tensor of non-zero values.
    const target = toTensor(randomArr(w.shape));
    const dwt = withKernelOverrides({ conv2d: { dwTargetWorkgroups: 1 } }, () => conv2dBackwardFilter(gt, xt, w.shape, opts, target));
    expect(dwt).toBe(target);
    expect(Array.from(await dwt.data())).toEqual(Array.from(dw.data));
    for (const t of [xt, gt, dwt]) t.dispose();
  });

  it('names both shapes when channels disagree', () => {
    const xt = toTensor(randomArr([1, 3, 5, 5]));
    const wt = toTensor(randomArr([4, 2, 3, 3]));
    expect(() => conv2dForward(xt, wt)).toThrow(/\[1, 3, 5, 5\].*\[4, 2, 3, 3\]/);
    xt.dispose();
    wt.dispose();
  });
});

describe('conv2d differentiable op', () => {
  it('records all three gradients on the tape', async () => {
    const opts = { stride: 2, padding: 1 };
    const x = f32(randomArr([2, 3, 7, 7]));
    const w = f32(randomArr([5, 3, 3, 3]));
    const b = f32(randomArr([5]));
    const y = nnRef.conv2d(x, w, b, opts);
    const g = f32(randomArr(y.shape));
    const [dx, dw, db] = nnRef.conv2dGrad(x, w, g, opts);
    const [xt, wt, bt, gt] = [requireGrad(toTensor(x)), requireGrad(toTensor(w)), requireGrad(toTensor(b)), toTensor(g)];
    const yt = convOp(xt, wt, bt, opts);
    expect(relativeError(await yt.data(), y.data), seedNote).toBeLessThan(1e-4);
    backward(yt, gt);
    expect(relativeError(await xt.grad!.data(), dx.data), seedNote).toBeLessThan(1e-4);
    expect(relativeError(await wt.grad!.data(), dw.data), seedNote).toBeLessThan(1e-4);
    expect(relativeError(await bt.grad!.data(), db.data), seedNote).toBeLessThan(1e-4);
    for (const t of [xt, wt, bt, gt, yt]) t.dispose();
  });

  // A ResNet block's shape of graph: z feeds a convolution and, as the shortcut, the fused batch norm after
  // it. The shortcut's gradient reaches z first; the convolution's input gradient is added into it in place.
  for (const stride of [1, 2]) {
    it(`adds the input gradient into the shortcut's gradient in place (stride ${stride}), without an add`, async () => {
      const opts = { stride, padding: stride === 1 ? 1 : 0 };
      const K = stride === 1 ? 3 : 1;
      const x0 = f32(randomArr([3, 8, 5, 5]));
      const w = f32(randomArr([8, 8, K, K]));
      const gamma = f32(randomArr([8], 0.5, 1.5));
      const beta = f32(randomArr([8]));
      const z = arr(x0.shape, x0.data.map((v) => Math.max(v, 0)));
      const c = nnRef.conv2d(z, w, null, opts);
      // With stride 2 the shortcut is a second convolution of z (a downsample; the same weights here), so
      // both gradients of z are input gradients and the second is added into the first.
      const residual = stride === 1 ? z : c;
      const ref = nnRef.batchNormAct(c, gamma, beta, arr([8]), arr([8]), true, { residual, relu: true });
      const g = f32(randomArr(ref.y.shape));
      const [dc, , , dres] = nnRef.batchNormActGrad(c, gamma, beta, g, arr([8]), arr([8]), true, { residual, relu: true });
      const dz = nnRef.conv2dGrad(z, w, dc, opts)[0];
      const dzShortcut = stride === 1 ? dres : nnRef.conv2dGrad(z, w, dres, opts)[0];
      dz.data.forEach((_, i) => (dz.data[i] += dzShortcut.data[i]));
      const dx0 = dz.data.map((v, i) => (x0.data[i] > 0 ? v : 0));
      const [xt, wt, gmt, bt, gt] = [requireGrad(toTensor(x0)), requireGrad(toTensor(w)), toTensor(gamma), toTensor(beta), toTensor(g)];
      const zt = relu(xt);
      const ct = convOp(zt, wt, null, opts);
      const sc = stride === 1 ? zt : convOp(zt, wt, null, opts);
      const yt = batchNormAct(ct, gmt, bt, { training: true, residual: sc, relu: true });
      const rt = getRuntime();
      const ops: string[] = [];
      const dispatch = rt.dispatch.bind(rt);
      rt.dispatch = (spec) => (ops.push(spec.op), dispatch(spec));
      try {
        backward(yt, gt);
      } finally {
        rt.dispatch = dispatch;
      }
      expect(relativeError(await xt.grad!.data(), dx0), seedNote).toBeLessThan(1e-4);
      if (getRuntime().device.features.has('subgroups') && subgroupTilesPreferred(getRuntime().caps)) expect(ops).not.toContain('add');
      for (const t of [xt, wt, gmt, bt, gt, zt, ct, sc, yt]) t.dispose();
    });
  }
});

describe('conv2d reference gradients against central differences', () => {
  for (const [stride, padding] of [
    [1, 1],
    [2, 1],
    [2, 0],
  ]) {
    it(`stride ${stride} pad ${padding}`, () => {
      const opts = { stride, padding };
      const x = randomArr([2, 2, 5, 4]);
      const w = randomArr([3, 2, 3, 3]);
      const b = randomArr([3]);
      const y = nnRef.conv2d(x, w, b, opts);
      const g = randomArr(y.shape);
      const f = ([xx, ww, bb]: Arr[]) => nnRef.conv2d(xx, ww, bb, opts);
      const grads = nnRef.conv2dGrad(x, w, g, opts);
      for (let i = 0; i < 3; i++) {
        const num = numericGrad(f, [x, w, b], i, g);
        expect(relativeError(grads[i].data, num.data)).toBeLessThan(1e-6);
      }
      expect(arr([1]).data.length).toBe(1);
    });
  }
});
