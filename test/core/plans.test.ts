/**
 * Variant choice as data: the plan functions of conv2d, matmul, batch norm, the optimizers and the GPU waits
 * are pure (shape, adapter capabilities, overrides → plan), checked here without a GPU on three adapters:
 * lavapipe (software, subgroups of 8), a hardware GPU, and a software adapter without usable subgroups. And
 * withKernelOverrides, the one way overrides are set: scoped, nested knob by knob, restored on return, throw
 * or settled promise, checked by name, and keyed.
 */
import { describe, expect, it } from 'vitest';
import type { AdapterCaps } from '../../src/gpu/device.js';
import { overridesKey, overridesOf, withKernelOverrides } from '../../src/gpu/overrides.js';
import { pollPlan } from '../../src/gpu/poll.js';
import { batchNormPlan } from '../../src/kernels/batchnorm.js';
import { conv2dBackwardFilterPlan, conv2dBackwardInputPlan, conv2dForwardPlan, conv2dGeometry } from '../../src/kernels/conv2d.js';
import { matmulPlan } from '../../src/kernels/matmul.js';
import { optimPlan } from '../../src/nn/kernels.js';

const MiB = 2 ** 20;
const LAVAPIPE: AdapterCaps = { software: true, subgroups: true, maxStorageBufferBindingSize: 128 * MiB };
const GPU: AdapterCaps = { software: false, subgroups: true, maxStorageBufferBindingSize: 2048 * MiB };
const SOFTWARE_NO_SUBGROUPS: AdapterCaps = { software: true, subgroups: false, maxStorageBufferBindingSize: 128 * MiB };

/** ResNet-18's stem at 32×32, batch 32: 3 → 64 channels, 7×7/2 pad 3, a 16×16 output. */
const stem = conv2dGeometry([32, 3, 32, 32], [64, 3, 7, 7], { stride: 2, padding: 3 });
/** layer2.0.downsample at 32×32, batch 32: 64 → 128 channels, 1×1/2, 8×8 → 4×4. */
const downsample = conv2dGeometry([32, 64, 8, 8], [128, 64, 1, 1], { stride: 2 });

describe('conv2d plans', () => {
  it('lavapipe: subgroup tiles, the stem through the layout pass, its input gradient as a GEMM, its filter gradient split over the batch', () => {
    expect(conv2dForwardPlan(stem, LAVAPIPE)).toEqual({
      kernel: 'sg', wg: 8, operand: 'layout', steps: 2, flatK: true, imageFastest: false, rows: 8192, co4: 16, workgroups: [256, 1, 1],
    });
    expect(conv2dBackwardInputPlan(stem, false, LAVAPIPE)).toEqual({ kernel: 'gemm', total: 98304, workgroups: [1536, 1, 1] });
    expect(conv2dBackwardFilterPlan(stem, LAVAPIPE)).toEqual({
      kernel: 'sg', wg: 8, operand: 'direct', steps: 2, rows: 147, co4: 16, colGroups: 1, splits: 2, nPerSplit: 16,
      taps: { h0: 0, h: 7, w0: 0, w: 7 }, clear: false, tapMajor: true, workgroups: [5, 1, 2],
    });
  });

  it("lavapipe: layer4's filter gradients at a 1×1 map sum the taps that meet the input alone, after a clear", () => {
    const layer4 = conv2dGeometry([32, 512, 1, 1], [512, 512, 3, 3], { stride: 1, padding: 1 });
    expect(conv2dBackwardFilterPlan(layer4, LAVAPIPE)).toEqual({
      kernel: 'sg', wg: 8, operand: 'vec4', steps: 1, rows: 512, co4: 128, colGroups: 8, splits: 1, nPerSplit: 32,
      taps: { h0: 1, h: 1, w0: 1, w: 1 }, clear: true, tapMajor: false, workgroups: [16, 1, 8],
    });
    const down = conv2dGeometry([32, 256, 2, 2], [512, 256, 3, 3], { stride: 2, padding: 1 });
    // Four taps of the window, on a map of one position: tap-major rows.
    expect(conv2dBackwardFilterPlan(down, LAVAPIPE)).toMatchObject({ rows: 1024, taps: { h0: 1, h: 2, w0: 1, w: 2 }, clear: true, tapMajor: true });
    // Every tap, as before: nothing to clear.
    expect(conv2dBackwardFilterPlan(layer4, LAVAPIPE, { dwUsedTaps: false })).toMatchObject({ rows: 4608, taps: { h0: 0, h: 3, w0: 0, w: 3 }, clear: false });
  });

  it('lavapipe: filter gradients take two positions per step on maps of 16 and more, one below, and tap-major rows for padded kernels; four steps in the weight\'s order when asked', () => {
    const at = (H: number, k: number, padding: number) => conv2dGeometry([32, 64, H, H], [64, 64, k, k], { stride: 1, padding });
    expect(conv2dBackwardFilterPlan(at(3, 3, 1), LAVAPIPE)).toMatchObject({ steps: 1, tapMajor: true });
    expect(conv2dBackwardFilterPlan(at(4, 3, 1), LAVAPIPE)).toMatchObject({ steps: 2, tapMajor: true });
    expect(conv2dBackwardFilterPlan(at(8, 3, 1), LAVAPIPE)).toMatchObject({ steps: 2, tapMajor: true });
    expect(conv2dBackwardFilterPlan(at(4, 3, 0), LAVAPIPE)).toMatchObject({ steps: 1, tapMajor: false }); // a 2×2 map; no padding to skip
    expect(conv2dBackwardFilterPlan(at(4, 1, 0), LAVAPIPE)).toMatchObject({ steps: 2, tapMajor: false });
    expect(conv2dBackwardFilterPlan(at(8, 3, 1), LAVAPIPE, { steps: 1 })).toMatchObject({ steps: 1, tapMajor: true });
    expect(conv2dBackwardFilterPlan(at(1, 3, 1), LAVAPIPE, { steps: 2 })).toMatchObject({ steps: 1 });
    // Four positions per step: on maps of 32 positions and more, in the weight's order unless forced.
    expect(conv2dBackwardFilterPlan(at(8, 3, 1), LAVAPIPE, { steps: 4 })).toMatchObject({ steps: 4, tapMajor: false });
    expect(conv2dBackwardFilterPlan(at(4, 3, 1), LAVAPIPE, { steps: 4 })).toMatchObject({ steps: 1, tapMajor: true });
    expect(conv2dBackwardFilterPlan(at(8, 3, 1), LAVAPIPE, { steps: 4, dwTapMajor: true })).toMatchObject({ steps: 4, tapMajor: true });
  });

  it('lavapipe: the forward and input gradient take two channels per step from 8 channels up; below, the forward walks K as one range, two steps at a time', () => {
    const g = (ci: number, co: number, k = 3) => conv2dGeometry([32, ci, 8, 8], [co, ci, k, k], { stride: 1, padding: k >> 1 });
    expect(conv2dForwardPlan(g(64, 64), LAVAPIPE)).toMatchObject({ steps: 2, flatK: false });
    expect(conv2dForwardPlan(g(3, 64), LAVAPIPE)).toMatchObject({ steps: 2, flatK: true });
    expect(conv2dForwardPlan(g(7, 64), LAVAPIPE, { steps: 2 })).toMatchObject({ steps: 2, flatK: true });
    expect(conv2dForwardPlan(g(3, 64), LAVAPIPE, { steps: 1 })).toMatchObject({ steps: 1, flatK: false });
    expect(conv2dForwardPlan(g(3, 64), LAVAPIPE, { steps: 4 })).toMatchObject({ steps: 1, flatK: false });
    expect(conv2dForwardPlan(g(3, 64, 1), LAVAPIPE)).toMatchObject({ steps: 1, flatK: false }); // 1×1: one tap
    expect(conv2dForwardPlan(g(64, 64), LAVAPIPE, { steps: 4 })).toMatchObject({ steps: 4, flatK: false });
    expect(conv2dBackwardInputPlan(g(64, 64), false, LAVAPIPE)).toMatchObject({ steps: 2 });
    expect(conv2dBackwardInputPlan(g(64, 4), false, LAVAPIPE)).toMatchObject({ steps: 1 });
    expect(conv2dBackwardInputPlan(g(64, 64), false, LAVAPIPE, { steps: 1 })).toMatchObject({ steps: 1 });
  });

  it('lavapipe: a 1×1/2 input gradient reads its weights in place and runs stride phase (0, 0) alone after a clear, or adds into a gradient without one', () => {
    const own = conv2dBackwardInputPlan(downsample, false, LAVAPIPE);
    expect(own).toEqual({
      kernel: 'sg', wg: 8, operand: 'vec4', steps: 2, imageFastest: false, zeroFill: true, clear: true, accumulate: false,
      rows: 512, ci4: 16, colGroups: 1, workgroups: [16, 1, 1],
    });
    expect(conv2dBackwardInputPlan(downsample, true, LAVAPIPE)).toEqual({ ...own, clear: false, accumulate: true });
    // The idle phases store their zeros instead: all four phases run.
    expect(conv2dBackwardInputPlan(downsample, false, LAVAPIPE, { dxZeroFill: false })).toMatchObject({ zeroFill: false, clear: false, workgroups: [16, 1, 4] });
  });

  it('a hardware GPU: register tiles, the channel reduction split where the launch is small', () => {
    expect(conv2dForwardPlan(stem, GPU)).toEqual({ kernel: 'tile', wg: 64, tilesW: 4, tiles: 2048, splits: 1, chunk: 3, workgroups: [32, 1, 16] });
    expect(conv2dBackwardInputPlan(stem, true, GPU)).toEqual({
      kernel: 'tile', wg: 64, chunks: 4, tilesW: 8, tiles: 8192, splits: 2, chunk: 32, accumulate: false, workgroups: [128, 1, 2],
    });
    expect(conv2dBackwardFilterPlan(stem, GPU)).toEqual({ kernel: 'tile', wg: 64, ciTiles: 1, tiles: 784, splits: 16, nPerSplit: 2, workgroups: [13, 1, 16] });
    // The filter gradient's subgroup kernel, forced, aims at 64 workgroups on a GPU (8 on software adapters).
    expect(conv2dBackwardFilterPlan(stem, GPU, { dw: 'sg' })).toMatchObject({ kernel: 'sg', splits: 11, nPerSplit: 3, workgroups: [5, 1, 11] });
  });

  it('a software adapter without usable subgroups: register tiles, one split', () => {
    expect(conv2dForwardPlan(stem, SOFTWARE_NO_SUBGROUPS)).toMatchObject({ kernel: 'tile', splits: 1 });
    expect(conv2dBackwardInputPlan(stem, true, SOFTWARE_NO_SUBGROUPS)).toMatchObject({ kernel: 'tile', splits: 1, accumulate: true });
    expect(conv2dBackwardFilterPlan(downsample, SOFTWARE_NO_SUBGROUPS)).toMatchObject({ kernel: 'tile' });
  });

  it('follows its overrides: kernels, workgroup sizes, splits, operand reads, row order', () => {
    expect(conv2dForwardPlan(stem, LAVAPIPE, { forward: 'tile', tileWG: 256, tileSplits: 3 })).toEqual({
      kernel: 'tile', wg: 256, tilesW: 4, tiles: 2048, splits: 3, chunk: 1, workgroups: [8, 1, 48],
    });
    expect(conv2dForwardPlan(stem, GPU, { forward: 'sg', direct: true, WG: 16, imageFastest: true })).toMatchObject({
      kernel: 'sg', wg: 16, operand: 'direct', imageFastest: true, workgroups: [256, 1, 1],
    });
    expect(conv2dBackwardInputPlan(downsample, false, GPU, { dx: 'gemm' })).toMatchObject({ kernel: 'gemm' });
    expect(conv2dBackwardInputPlan(stem, false, LAVAPIPE, { dx: 'tile' })).toMatchObject({ kernel: 'tile', splits: 1 });
    expect(conv2dBackwardFilterPlan(stem, LAVAPIPE, { steps: 4, direct: false, dwTargetWorkgroups: 64 })).toMatchObject({
      operand: 'layout', steps: 4, splits: 11,
    });
  });

  it('takes the stem’s GEMM only where its columns fit one storage binding', () => {
    const small = { ...LAVAPIPE, maxStorageBufferBindingSize: 4 * MiB };
    expect(conv2dBackwardInputPlan(stem, false, small)).toMatchObject({ kernel: 'tile' });
  });
});

describe('matmul plan', () => {
  const head = { M: 64, N: 4096, K: 512, batch: 1, transA: false, transB: true };
  it('lavapipe: the subgroup kernel, with vec4 loads where the layout allows', () => {
    expect(matmulPlan(head, LAVAPIPE)).toEqual({ kernel: 'sg', entry: 'main2', wg: 8, workgroups: [64, 2, 1] });
    expect(matmulPlan(head, LAVAPIPE, { ksteps: 4 })).toEqual({ kernel: 'sg', entry: 'main', wg: 8, workgroups: [64, 2, 1] });
    expect(matmulPlan({ M: 3, N: 5, K: 7, batch: 4, transA: false, transB: false }, LAVAPIPE)).toEqual({ kernel: 'sg', entry: 'ragged', wg: 8, workgroups: [1, 1, 4] });
  });
  it('a hardware GPU and a software adapter without subgroups: the tiled kernels, vec4 where the layout has whole vec4 rows', () => {
    for (const caps of [GPU, SOFTWARE_NO_SUBGROUPS]) {
      expect(matmulPlan(head, caps)).toEqual({ kernel: 'vec4', entry: 'nt', workgroups: [64, 4, 1] });
      expect(matmulPlan({ ...head, transA: true, transB: false }, caps)).toEqual({ kernel: 'vec4', entry: 'tn', workgroups: [64, 4, 1] });
      expect(matmulPlan({ M: 3, N: 5, K: 7, batch: 4, transA: false, transB: false }, caps)).toEqual({ kernel: 'scalar', workgroups: [1, 1, 4] });
    }
  });
  it('follows its overrides, and leaves the subgroup kernel where its grid would not fit', () => {
    expect(matmulPlan(head, LAVAPIPE, { kernel: 'tile' })).toMatchObject({ kernel: 'vec4', entry: 'nt' });
    expect(matmulPlan(head, GPU, { kernel: 'sg', WG: 16 })).toEqual({ kernel: 'sg', entry: 'main2', wg: 16, workgroups: [32, 2, 1] });
    const wide = { M: 4, N: 8 * 8 * 65536, K: 4, batch: 1, transA: false, transB: false };
    expect(matmulPlan(wide, LAVAPIPE)).toMatchObject({ kernel: 'vec4' });
    expect(matmulPlan(wide, LAVAPIPE, { WG: 16 })).toMatchObject({ kernel: 'sg' });
  });
});

describe('batch-norm plan', () => {
  const conv = { N: 32, C: 64, HW: 256, count: 32 * 256 };
  const head = { N: 64, C: 4096, HW: 1, count: 64 };
  it('lavapipe: the channel path with the subgroup sum, a lane per channel on small planes', () => {
    expect(batchNormPlan(conv, LAVAPIPE)).toEqual({ path: 'channel', vec4: true, perLane: false, subgroups: true, wg: 8, workgroups: [64, 1, 1] });
    expect(batchNormPlan(head, LAVAPIPE)).toEqual({ path: 'channel', vec4: false, perLane: true, subgroups: true, wg: 8, workgroups: [512, 1, 1] });
  });
  it('a hardware GPU: the channel path with a workgroup tree up to 65536 values per channel, the planes path beyond', () => {
    expect(batchNormPlan(conv, GPU)).toEqual({ path: 'channel', vec4: true, perLane: false, subgroups: false, wg: 256, workgroups: [64, 1, 1] });
    expect(batchNormPlan({ N: 512, C: 64, HW: 256, count: 512 * 256 }, GPU)).toEqual({
      path: 'planes', vec4: true, partialWorkgroups: [512, 1, 1], channelWorkgroups: [1, 1, 1], elements: 2097152, elementWg: 64, elementWorkgroups: [32768, 1, 1],
    });
  });
  it('a software adapter without subgroups: the lane form where it applies, else the planes path', () => {
    expect(batchNormPlan(head, SOFTWARE_NO_SUBGROUPS)).toMatchObject({ path: 'channel', perLane: true, subgroups: false, wg: 64 });
    expect(batchNormPlan({ N: 2, C: 3, HW: 40000, count: 80000 }, SOFTWARE_NO_SUBGROUPS)).toEqual({
      path: 'planes', vec4: true, partialWorkgroups: [1, 1, 1], channelWorkgroups: [1, 1, 1], elements: 60000, elementWg: 64, elementWorkgroups: [938, 1, 1],
    });
  });
  it('follows its overrides', () => {
    expect(batchNormPlan(conv, LAVAPIPE, { path: 'planes', vec4: false })).toMatchObject({ path: 'planes', vec4: false, elements: 524288, elementWg: 256 });
    expect(batchNormPlan(conv, LAVAPIPE, { lanes: 'lane', subgroups: false })).toEqual({ path: 'channel', vec4: true, perLane: true, subgroups: false, wg: 64, workgroups: [1, 1, 1] });
  });
});

describe('optimizer and poll plans', () => {
  it('optimizers: blocks on software adapters, the subgroup norms where subgroups are usable; overrides win', () => {
    expect(optimPlan(LAVAPIPE)).toEqual({ layout: 'blocks', larsNorms: 'sg' });
    expect(optimPlan(GPU)).toEqual({ layout: 'vec4', larsNorms: 'tree' });
    expect(optimPlan(SOFTWARE_NO_SUBGROUPS)).toEqual({ layout: 'blocks', larsNorms: 'tree' });
    expect(optimPlan(LAVAPIPE, { layout: 'vec4', larsNorms: 'tree' })).toEqual({ layout: 'vec4', larsNorms: 'tree' });
  });
  it('waits: a short spin, then sleeps; overrides win knob by knob', () => {
    expect(pollPlan()).toEqual({ spinMs: 0.05, firstSleepMs: 0.02, sleepMs: 0.2 });
    expect(pollPlan({ spinMs: Infinity })).toEqual({ spinMs: Infinity, firstSleepMs: 0.02, sleepMs: 0.2 });
  });
});

describe('withKernelOverrides', () => {
  it('holds its overrides for the call alone, merged knob by knob over the enclosing ones', () => {
    expect(overridesOf('conv2d')).toEqual({});
    expect(overridesKey()).toBe('');
    withKernelOverrides({ conv2d: { forward: 'tile', tileWG: 128 }, matmul: { kernel: 'sg' } }, () => {
      expect(overridesOf('conv2d')).toEqual({ forward: 'tile', tileWG: 128 });
      withKernelOverrides({ conv2d: { tileWG: undefined, dx: 'gemm' } }, () => {
        expect(overridesOf('conv2d')).toEqual({ forward: 'tile', tileWG: undefined, dx: 'gemm' });
        expect(overridesOf('matmul')).toEqual({ kernel: 'sg' });
        // Unset knobs are no part of the key.
        expect(overridesKey()).toBe('conv2d{dx=gemm,forward=tile};matmul{kernel=sg}');
      });
      expect(overridesOf('conv2d')).toEqual({ forward: 'tile', tileWG: 128 });
    });
    expect(overridesOf('conv2d')).toEqual({});
    expect(overridesOf('matmul')).toEqual({});
  });

  it('gives the same key for the same overrides, whatever their order', () => {
    const a = withKernelOverrides({ optim: { layout: 'vec4', larsNorms: 'tree' }, batchNorm: { path: 'planes' } }, overridesKey);
    const b = withKernelOverrides({ batchNorm: { path: 'planes' }, optim: { larsNorms: 'tree', layout: 'vec4' } }, overridesKey);
    expect(a).toBe(b);
    expect(a).not.toBe(withKernelOverrides({ batchNorm: { path: 'channel' } }, overridesKey));
  });

  it('restores the enclosing overrides when its function throws, and when its promise settles', async () => {
    expect(() => withKernelOverrides({ poll: { spinMs: 0 } }, () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(overridesOf('poll')).toEqual({});
    let seen: unknown = null;
    const done = withKernelOverrides({ poll: { spinMs: 0 } }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      seen = overridesOf('poll').spinMs;
    });
    expect(overridesOf('poll')).toEqual({ spinMs: 0 }); // still pending
    await done;
    expect(seen).toBe(0);
    expect(overridesOf('poll')).toEqual({});
    await expect(withKernelOverrides({ poll: { spinMs: 0 } }, async () => Promise.reject(new Error('late')))).rejects.toThrow('late');
    expect(overridesKey()).toBe('');
  });

  it('refuses an unknown family or knob, naming what there is', () => {
    expect(() => withKernelOverrides({ conv3d: {} } as never, () => 0)).toThrow(/unknown family 'conv3d' \(known: .*conv2d/);
    expect(() => withKernelOverrides({ conv2d: { forwrd: 'tile' } } as never, () => 0)).toThrow(/conv2d has no override 'forwrd' \(it has forward, dx, dw/);
    expect(overridesKey()).toBe('');
  });
});
