/**
 * 2-D convolution: forward, input gradient and filter gradient, each an implicit GEMM with register tiles.
 *
 * Layout: activations stay NCHW on the GPU ([N, C, H, W], row-major), as in PyTorch, so checkpoints, fixtures
 * and reshapes (flatten) line up without transposes; weights keep PyTorch's [C_out, C_in, KH, KW].
 *
 * Two kernel families:
 *
 * Subgroup kernels (software adapters with the 'subgroups' feature and subgroups of ≥ 8, as lavapipe's;
 * see subgroupTilesPreferred for why not on hardware GPUs): each
 * workgroup owns 32 GEMM rows shared by the subgroup, each invocation 8 columns for all 32 rows (a 32 × 8
 * register tile). Per step of K every lane gathers the row operand for 4 of the rows and subgroupBroadcast
 * hands the values round, and it reads its own 8 columns as two vec4 (after a layout pass,
 * shaders/conv2d_layout.wgsl) or, when there are few rows, as 8 scalars in place. On lavapipe, where every
 * per-lane load is a gather and barriers are slow, this runs well ahead of the 4 × 4 tiles below: far fewer
 * loads per multiply-add (figures: bench/RESULTS.md, "conv2d and batchnorm (issue 3)").
 * - conv2dForward: rows = output pixels, columns = C_out, K = (kh, kw, C_in) (conv2d_forward_sg.wgsl).
 * - conv2dBackwardInput: per stride phase, rows = input pixels of the phase, columns = C_in,
 *   K = (taps of the phase, C_out) (conv2d_backward_input_sg.wgsl). The stem (C_in < 8), where 8 columns
 *   per lane would be mostly padding, goes the GEMM route instead: cols = Wᵀ · dy by the matmul kernel,
 *   then a gather of the taps into dx (conv2d_col2im.wgsl).
 * - conv2dBackwardFilter: rows = (C_in, KH, KW), columns = C_out, K = (N, H_out, W_out), split over the batch
 *   when there are few tiles (conv2d_backward_filter_sg.wgsl). The rows cover only the kernel taps that meet
 *   the input (usedTaps): at ResNet-18's 1 × 1 maps (layer4 at 32 × 32) the centre of a 3 × 3 kernel alone,
 *   the other taps' gradient cleared.
 *
 * Register-tiled kernels (every other device, hardware GPUs included, and where overrides ask for them):
 * - conv2dForward: M = C_out, N = output pixels, K = C_in·KH·KW; tiles of 4 output channels × 4 output
 *   pixels of a row (shaders/conv2d_forward.wgsl).
 * - conv2dBackwardInput: M = C_in, N = input pixels, K = C_out·KH·KW; tiles of 4 input channels × 4 input
 *   pixels of one stride phase, so the stride's divisibility test is uniform per tile
 *   (shaders/conv2d_backward_input.wgsl).
 * - conv2dBackwardFilter: M = C_out, N = C_in·KH·KW, K = N·H_out·W_out; tiles of 4 × 4 channels at one
 *   kernel position, split over the batch when there are few tiles, the slices summed by a reduction
 *   (shaders/conv2d_backward_filter.wgsl).
 * - conv2dBackwardBias: a sum of dy over N, H, W.
 *
 * Each launch is planned first: conv2dForwardPlan, conv2dBackwardInputPlan and conv2dBackwardFilterPlan choose
 * the kernel, its workgroup size and counts and its splits from the geometry, the adapter's capabilities and
 * the `conv2d` overrides (withKernelOverrides, src/gpu/overrides.ts), as pure functions; the launchers below
 * encode the plan.
 *
 * Measurements: bench/RESULTS.md (`npm run bench -- --ops conv2d`).
 */
import forwardWgsl from '../../shaders/conv2d_forward.wgsl';
import backwardInputWgsl from '../../shaders/conv2d_backward_input.wgsl';
import backwardFilterWgsl from '../../shaders/conv2d_backward_filter.wgsl';
import sgCommonWgsl from '../../shaders/sg_tile_common.wgsl';
import forwardSgWgsl from '../../shaders/conv2d_forward_sg.wgsl';
import storeWgsl from '../../shaders/conv2d_store.wgsl';
import storeBnWgsl from '../../shaders/conv2d_store_bn.wgsl';
import layoutWgsl from '../../shaders/conv2d_layout.wgsl';
import backwardInputSgWgsl from '../../shaders/conv2d_backward_input_sg.wgsl';
import backwardFilterSgWgsl from '../../shaders/conv2d_backward_filter_sg.wgsl';
import col2imWgsl from '../../shaders/conv2d_col2im.wgsl';
import type { AdapterCaps } from '../gpu/device.js';
import { declareOverrides, overridesOf } from '../gpu/overrides.js';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { clearTensor } from './creation.js';
import { matmulKernel } from './matmul.js';
import { reduceKernel } from './reduce.js';
import { defineKernel, type Kernel, type ParamSchema, type ParamValues } from './define.js';
import { SUBGROUP_DIRECTIVES, subgroupTilesPreferred, takesSubgroupTiles } from './subgroups.js';
import { assertFloat } from './util.js';

/** The convolution's geometry, the first fields of every conv2d kernel's parameters (see convParams). */
const GEOMETRY = {
  N: 'u32', C_in: 'u32', H: 'u32', W: 'u32', C_out: 'u32', H_out: 'u32', W_out: 'u32', KH: 'u32', KW: 'u32',
  stride_h: 'u32', stride_w: 'u32', pad_h: 'u32', pad_w: 'u32',
} as const;
const F32 = 'read array<f32>';
const VEC4 = 'read array<vec4<f32>>';
const OUT = 'read_write array<f32>';

const FORWARD = defineKernel({
  name: 'conv2d_forward',
  params: { ...GEOMETRY, tiles_w: 'u32', tiles: 'u32', ci_chunk: 'u32' },
  storage: { x: F32, w: F32, bias: F32, out: OUT },
  constants: { WG: 64, HAS_BIAS: false },
  code: forwardWgsl,
});
const BACKWARD_INPUT = defineKernel({
  name: 'conv2d_backward_input',
  params: { ...GEOMETRY, tiles_w: 'u32', tiles: 'u32', chunks: 'u32', co_chunk: 'u32' },
  storage: { dy: F32, w: F32, dx: OUT },
  constants: { WG: 64, ACCUMULATE: false },
  code: backwardInputWgsl,
});
const BACKWARD_FILTER = defineKernel({
  name: 'conv2d_backward_filter',
  params: { ...GEOMETRY, ci_tiles: 'u32', tiles: 'u32', n_per_split: 'u32' },
  storage: { dy: F32, x: F32, out: OUT },
  constants: { WG: 64 },
  code: backwardFilterWgsl,
});
const FORWARD_SG_CONSTANTS = { WG: 8, HAS_BIAS: false, WDIRECT: false, UNROLL4: false, UNROLL2: false, FLATK: false };
const FORWARD_SG = defineKernel({
  name: 'conv2d_forward_sg',
  directives: SUBGROUP_DIRECTIVES,
  params: { ...GEOMETRY, rows: 'u32', co4: 'u32', img_fast: 'u32' },
  storage: { x: F32, wt: VEC4, bias: F32, out: OUT, w: F32 },
  constants: FORWARD_SG_CONSTANTS,
  code: [sgCommonWgsl, forwardSgWgsl, storeWgsl],
});
/** The same kernel with eval-mode batch norm and ReLU in its epilogue (conv2dBatchNormEval). */
const FORWARD_SG_BN = defineKernel({
  name: 'conv2d_forward_sg_bn',
  directives: SUBGROUP_DIRECTIVES,
  params: { ...GEOMETRY, rows: 'u32', co4: 'u32', img_fast: 'u32', bn_eps: 'f32' },
  storage: { x: F32, wt: VEC4, bias: F32, out: OUT, w: F32, bn_mean: F32, bn_var: F32, bn_gamma: F32, bn_beta: F32 },
  constants: { ...FORWARD_SG_CONSTANTS, RELU: false },
  code: [sgCommonWgsl, forwardSgWgsl, storeBnWgsl],
});
/** Storage buffers FORWARD_SG_BN binds: it runs only where the device allows that many per stage. */
const FORWARD_SG_BN_BUFFERS = 9;
const LAYOUT = defineKernel({
  name: 'conv2d_layout',
  params: { B: 'u32', R: 'u32', S: 'u32', R4: 'u32', S4: 'u32', total: 'u32' },
  storage: { src: F32, dst: 'read_write array<vec4<f32>>' },
  constants: { WG: 64 },
  code: layoutWgsl,
});
const BACKWARD_INPUT_SG = defineKernel({
  name: 'conv2d_backward_input_sg',
  directives: SUBGROUP_DIRECTIVES,
  params: { ...GEOMETRY, rows: 'u32', ci4: 'u32', col_groups: 'u32', img_fast: 'u32' },
  storage: { dy: F32, wt: VEC4, dx: OUT, w: F32 },
  constants: { WG: 8, WDIRECT: false, UNROLL4: false, UNROLL2: false, ACCUMULATE: false },
  code: [sgCommonWgsl, backwardInputSgWgsl],
});
const BACKWARD_FILTER_SG = defineKernel({
  name: 'conv2d_backward_filter_sg',
  directives: SUBGROUP_DIRECTIVES,
  params: { ...GEOMETRY, rows: 'u32', co4: 'u32', col_groups: 'u32', n_per_split: 'u32', tap_h0: 'u32', tap_w0: 'u32', taps_w: 'u32', taps: 'u32' },
  storage: { x: F32, dyt: VEC4, out: OUT, dy: F32 },
  constants: { WG: 8, YDIRECT: false, UNROLL4: false, UNROLL2: false, TAP_MAJOR: false },
  code: [sgCommonWgsl, backwardFilterSgWgsl],
});
const COL2IM = defineKernel({
  name: 'conv2d_col2im',
  params: { ...GEOMETRY, total: 'u32' },
  storage: { cols: F32, dx: OUT },
  constants: { WG: 64 },
  code: col2imWgsl,
});
const LAYOUT_WG = 64;
/**
 * The subgroup kernels read their per-invocation operand in place (8 scalar gathers per step, no layout
 * pass) up to this many blocks of 32 rows, through the layout pass and vec4 loads above it.
 */
const DIRECT_MAX_ROW_BLOCKS = 8;
/** Maps of up to this many pixels count as small for the row order (see imageFastest). */
const SMALL_MAP = 64;

/**
 * Row order of the subgroup forward and input-gradient kernels: image fastest when the map is small and
 * padded, so a block of 32 rows shares which taps fall on padding and skips them together; otherwise
 * neighbouring rows are neighbouring pixels, which the caches prefer (on lavapipe the image-fastest order
 * measured faster for 3×3 kernels on maps of 6×6 and less, slower for 1×1 kernels and larger maps).
 */
function imageFastest(g: Conv2dGeometry, mapSize: number, o: Conv2dOverrides): boolean {
  if (o.imageFastest !== undefined) return o.imageFastest;
  return (g.padH > 0 || g.padW > 0) && mapSize <= SMALL_MAP;
}

/** src viewed as [B, R, S] → [B, S, R_pad] (R_pad = R rounded up to 4, zero filled): see conv2d_layout.wgsl. */
function relayout(src: Tensor, B: number, R: number, S: number, op: string): Tensor {
  const R4 = Math.ceil(R / 4);
  const S4 = Math.ceil(S / 4);
  const total = B * S4 * R4;
  const dst = empty([B, S, R4 * 4], 'float32', op);
  LAYOUT.dispatch({
    op: `${op}.layout`,
    constants: { WG: LAYOUT_WG },
    params: { B, R, S, R4, S4, total },
    storage: { src: src.binding(op), dst: dst.binding(op) },
    workgroups: grid(Math.ceil(total / LAYOUT_WG)),
  });
  return dst;
}

/**
 * What a test or a measurement may force in the conv2d plans (`withKernelOverrides({ conv2d: {...} }, fn)`);
 * a knob left unset is chosen by shape and adapter.
 */
export interface Conv2dOverrides {
  /** The forward's kernel: register tiles or subgroup tiles. */
  forward?: 'tile' | 'sg';
  /** The input gradient's; 'gemm': cols = Wᵀ · dy by the matmul kernel, then conv2d_col2im.wgsl gathers dx. */
  dx?: 'tile' | 'sg' | 'gemm';
  /** The filter gradient's. */
  dw?: 'tile' | 'sg';
  /** Invocations per workgroup of the subgroup kernels (a multiple of 8; default 8, and 8–32 measured alike on lavapipe). */
  WG?: number;
  /** Read the per-invocation operand in place (true) or through the layout pass (false). */
  direct?: boolean;
  /** Row order of the subgroup forward and input gradient (image fastest or not). */
  imageFastest?: boolean;
  /**
   * Steps of K per accumulator update in the subgroup kernels (accumulate_rows, accumulate_rows2,
   * accumulate_rows4 of sg_tile_common.wgsl). Every write of a loop-carried accumulator is a masked
   * load-blend-store on lavapipe, which more steps per write save, while a longer loop body costs code size.
   * By default 2 where the reduction it steps over is long enough (the forward: C_in ≥ 8; the input
   * gradient: C_out ≥ 8; the filter gradient: maps of ≥ 16 positions), else 1. On this project's 2-core AMD
   * EPYC (Zen 5) with Mesa 25.0.7, two steps measured 1.1–1.3× faster than one on ResNet-18's convolutions
   * where the default takes them, and one step 1.04–1.7× faster than four (bench/RESULTS.md, "Two steps of K
   * per accumulator update" and "One step of K per accumulator update, and the bias add in vec4"); four
   * had won on the machine of 2026-11-28, so all three stay knobs. A step count longer than the reduction
   * falls back to 1 (4 in the filter gradient: maps of ≥ 32 positions). The sums are the same to the bit
   * whichever is taken.
   */
  steps?: 1 | 2 | 4;
  /**
   * Eval-mode batch norm (and its ReLU) in the subgroup forward's epilogue where a network runs without
   * gradients (conv2dBatchNormEval; default true): one pass instead of two, the same bits.
   */
  fuseBatchNorm?: boolean;
  /**
   * The subgroup filter gradient splits the batch until about this many workgroups run. By default 8 on
   * software adapters (two CPU cores need little parallelism, and every split adds a reduction pass, so
   * fewer splits win on the rows that split, ResNet-18's downsamples and first stages at 32×32), 64
   * elsewhere (figures: bench/RESULTS.md, "Figures behind the kernel choices (moved from code comments,
   * 2026-12-05)").
   */
  dwTargetWorkgroups?: number;
  /**
   * Input gradients where only stride phase (0, 0) meets a kernel tap (1×1/2 downsamples): clear dx with the
   * encoder's clear and run the product over that phase alone (true, the default), or let the kernel's idle
   * phases store their zeros pixel by pixel (false). On lavapipe a shader's stores are slow and the clear is
   * a memset, so the idle phases' zeros are cheaper cleared than stored (figures: bench/RESULTS.md,
   * "Figures behind the kernel choices (moved from code comments, 2026-12-05)").
   */
  dxZeroFill?: boolean;
  /**
   * The subgroup filter gradient's rows: only the kernel taps that meet the input somewhere, the gradient of
   * the others cleared (true, the default), or every tap (false). At a 1 × 1 map a 3 × 3 kernel with padding 1
   * meets the input with its centre alone, so 8 rows of 9 would sum products with padding (see usedTaps).
   */
  dwUsedTaps?: boolean;
  /**
   * The subgroup filter gradient's row order: tap-major, so that a block of 32 rows shares its tap and skips
   * the output positions where that tap meets padding (true), or the weight's own order (false). By default
   * tap-major for padded kernels of more than one tap taken one or two positions per step (see steps), the weight's
   * order elsewhere.
   */
  dwTapMajor?: boolean;
  /** Invocations per workgroup of the register-tiled kernels (one 4 × 4 tile each; default 64). */
  tileWG?: number;
  /** Splits of the tiled forward's and input gradient's channel reduction (see tileSplits). */
  tileSplits?: number;
}

declare module '../gpu/overrides.js' {
  interface KernelOverrides {
    /** Overrides of the conv2d plans (conv2dForwardPlan, conv2dBackwardInputPlan, conv2dBackwardFilterPlan). */
    conv2d?: Conv2dOverrides;
  }
}
declareOverrides('conv2d', { forward: true, dx: true, dw: true, WG: true, direct: true, imageFastest: true, steps: true, dwTargetWorkgroups: true, dxZeroFill: true, dwUsedTaps: true, dwTapMajor: true, tileWG: true, tileSplits: true, fuseBatchNorm: true });

/** Invocations per workgroup of the subgroup kernels and of the register-tiled kernels, unless overridden. */
const SG_WG = 8;
const TILE_WG = 64;

/** tileSplits: the launch size the split reduction aims at, and the fewest channels a split sums. */
const TILE_TARGET_INVOCATIONS = 65536;
const TILE_MIN_CHANNELS = 32;
/** Invocations per workgroup of the col2im gather (one element of dx each). */
const GATHER_WG = 64;
/** The filter gradient splits its reduction over the batch until about this many invocations run. */
const FILTER_TARGET_INVOCATIONS = 16384;

/** Stride and zero padding of {@link conv2d}. */
export interface Conv2dOptions {
  /** A number, or [along H, along W]. Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding on each side: a number, or [along H, along W]. Default 0. */
  padding?: number | readonly [number, number];
}

export interface Conv2dGeometry {
  N: number;
  C_in: number;
  H: number;
  W: number;
  C_out: number;
  KH: number;
  KW: number;
  H_out: number;
  W_out: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

function pair(op: string, name: string, v: number | readonly [number, number] | undefined, dflt: number, min: number): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.some((d) => !Number.isInteger(d) || d < min)) throw new RangeError(`${op}: ${name} must be integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

/** Checks the shapes of a convolution of `xShape` ([N, C_in, H, W]) with `wShape` ([C_out, C_in, KH, KW]). */
export function conv2dGeometry(xShape: readonly number[], wShape: readonly number[], options: Conv2dOptions = {}, op = 'conv2d'): Conv2dGeometry {
  if (xShape.length !== 4) throw new Error(`${op}: input must be NCHW [N, C_in, H, W], got ${shapeString(xShape)}`);
  if (wShape.length !== 4) throw new Error(`${op}: weight must be [C_out, C_in, KH, KW], got ${shapeString(wShape)}`);
  const [N, C_in, H, W] = xShape;
  const [C_out, C_inW, KH, KW] = wShape;
  if (C_in !== C_inW) {
    throw new Error(`${op}: input ${shapeString(xShape)} has ${C_in} channels but weight ${shapeString(wShape)} expects ${C_inW}`);
  }
  const [strideH, strideW] = pair(op, 'stride', options.stride, 1, 1);
  const [padH, padW] = pair(op, 'padding', options.padding, 0, 0);
  const H_out = Math.floor((H + 2 * padH - KH) / strideH) + 1;
  const W_out = Math.floor((W + 2 * padW - KW) / strideW) + 1;
  if (KH < 1 || KW < 1 || H_out < 1 || W_out < 1) {
    throw new Error(
      `${op}: kernel ${KH}×${KW} with padding ${padH},${padW} does not fit input ${shapeString(xShape)} (output would be ${H_out}×${W_out})`,
    );
  }
  if (C_in < 1 || C_out < 1) throw new Error(`${op}: zero channels in input ${shapeString(xShape)} or weight ${shapeString(wShape)}`);
  return { N, C_in, H, W, C_out, KH, KW, H_out, W_out, strideH, strideW, padH, padW };
}

/**
 * Whether stride phase (0, 0) is the only one any kernel tap reaches: phase (a, b) gets taps
 * kh ≡ a + pad_h (mod stride_h) below KH and kw ≡ b + pad_w (mod stride_w) below KW. True for a 1×1 stride-2
 * convolution without padding, whose input gradient is zero at three pixels of every four.
 */
export function onlyPhaseZeroHasTaps(g: Conv2dGeometry): boolean {
  // Phases that hold pixels at all: a single one leaves nothing to skip.
  if (Math.min(g.strideH, g.H) * Math.min(g.strideW, g.W) === 1) return false;
  for (let a = 0; a < Math.min(g.strideH, g.H); a++) {
    for (let b = 0; b < Math.min(g.strideW, g.W); b++) {
      if (a === 0 && b === 0) continue;
      if ((a + g.padH) % g.strideH < g.KH && (b + g.padW) % g.strideW < g.KW) return false;
    }
  }
  return g.padH % g.strideH < g.KH && g.padW % g.strideW < g.KW;
}

/**
 * The window of kernel taps that meet the input at some output position: rows h0 … h0 + h − 1 and columns
 * w0 … w0 + w − 1 of the kernel (h or w 0 when no tap does). Tap row kh meets input row oh·stride − pad + kh
 * for some oh < H_out; the taps outside the window see padding alone, so their filter gradient is zero.
 * The window is the bounding box of the taps that meet the input (with stride > H a tap inside it may still
 * meet none; the kernel's bounds checks give that one its zeros).
 */
export function usedTaps(g: Conv2dGeometry): { h0: number; h: number; w0: number; w: number } {
  const span = (K: number, size: number, out: number, stride: number, pad: number): [number, number] => {
    let lo = -1;
    let hi = -1;
    for (let k = 0; k < K; k++) {
      for (let o = 0; o < out; o++) {
        const i = o * stride - pad + k;
        if (i >= 0 && i < size) {
          if (lo < 0) lo = k;
          hi = k;
          break;
        }
      }
    }
    return lo < 0 ? [0, 0] : [lo, hi - lo + 1];
  };
  const [h0, h] = span(g.KH, g.H, g.H_out, g.strideH, g.padH);
  const [w0, w] = span(g.KW, g.W, g.W_out, g.strideW, g.padW);
  return h === 0 || w === 0 ? { h0: 0, h: 0, w0: 0, w: 0 } : { h0, h, w0, w };
}

/**
 * `kernel`'s parameters: the GEOMETRY fields, then the kernel's own (checked against its declaration).
 * Object.assign: a spread into a literal with further fields measured slower per launch in V8.
 */
function convParams<S extends ParamSchema>(_kernel: Kernel<S, never, never>, g: Conv2dGeometry, own: Omit<ParamValues<S>, keyof typeof GEOMETRY>): ParamValues<S> {
  const { N, C_in, H, W, C_out, H_out, W_out, KH, KW } = g;
  const geometry = { N, C_in, H, W, C_out, H_out, W_out, KH, KW, stride_h: g.strideH, stride_w: g.strideW, pad_h: g.padH, pad_w: g.padW };
  return Object.assign(geometry, own) as unknown as ParamValues<S>;
}

/**
 * How the register-tiled forward and input gradient split their reduction over channels (each split sums a
 * range of `channels` into its own slice, a reduction adds the slices): the `tileSplits` override when set;
 * else one split on software adapters, and on GPUs as many as bring the launch to about
 * TILE_TARGET_INVOCATIONS invocations with at least TILE_MIN_CHANNELS channels each. ResNet-18's late layers
 * at batch 32 launch 10–20 thousand tile invocations each looping over 2,000–4,600 terms, too few threads
 * for a GPU. On an H200 (ours alone, every ResNet-18 conv at batch 32) the split made the forward and the input
 * gradient faster in total, the late layers' 3×3 convolutions most; some small 1×1 and 64-channel rows, near
 * the dispatch floor, came out slightly slower split, within that run's noise (figures: bench/RESULTS.md,
 * "An NVIDIA H200 (first real GPU; Dawn on NVIDIA's Vulkan driver 580.159.04)").
 */
function tileSplits(invocations: number, channels: number, caps: AdapterCaps, o: Conv2dOverrides): { splits: number; chunk: number } {
  let splits = o.tileSplits ?? (caps.software ? 1 : Math.min(Math.ceil(TILE_TARGET_INVOCATIONS / invocations), Math.floor(channels / TILE_MIN_CHANNELS)));
  splits = Math.max(1, Math.min(splits, channels));
  const chunk = Math.ceil(channels / splits);
  return { splits: Math.ceil(channels / chunk), chunk };
}

function tileWorkgroups(tiles: number, z: number, wg: number): [number, number, number] {
  const [x, y] = grid(Math.ceil(tiles / wg));
  return [x, y, z];
}

/**
 * How a subgroup kernel reads its per-invocation operand (the weights; dy for the filter gradient): 8 scalar
 * gathers in place ('direct'), vec4 loads in place where the tensor already has the layout ('vec4'), or vec4
 * loads after the layout pass ('layout').
 */
export type OperandRead = 'direct' | 'vec4' | 'layout';

/** What every launch a conv2d plan describes has: the kernel's workgroup size and the workgroups. */
export interface Conv2dLaunch {
  wg: number;
  workgroups: [number, number, number];
}

/**
 * The steps of K per accumulator update of a subgroup forward or input gradient whose reduction walks
 * `length` channels per tap: the override, else 2 from 8 channels up; 1 where the steps exceed the channels.
 */
function kSteps(steps: 1 | 2 | 4 | undefined, length: number): 1 | 2 | 4 {
  const s = steps ?? (length >= 8 ? 2 : 1);
  return s <= length ? s : 1;
}

/** A launch of a subgroup-tile kernel: `rows` GEMM rows in blocks of 32, its operand read as `operand` says. */
export interface Conv2dSubgroupLaunch extends Conv2dLaunch {
  kernel: 'sg';
  operand: OperandRead;
  /** Steps of K per accumulator update (see Conv2dOverrides.steps). */
  steps: 1 | 2 | 4;
  rows: number;
}

/** A launch of a register-tiled kernel: `tiles` tiles of 4 × 4, the reduction in `splits` slices (summed by a reduction when more than one). */
export interface Conv2dTileLaunch extends Conv2dLaunch {
  kernel: 'tile';
  tiles: number;
  splits: number;
}

/** The launch of a convolution's forward: which kernel, and everything it is launched with but the tensors. */
export type Conv2dForwardPlan =
  | (Conv2dSubgroupLaunch & {
      operand: 'direct' | 'layout';
      imageFastest: boolean;
      /**
       * K walked as one range of (tap, channel) steps, `steps` (2) per update wherever they fall, instead of
       * tap by tap: for inputs of fewer than 8 channels (the stem's 3), whose taps hold too few steps.
       */
      flatK: boolean;
      /** C_out in vec4s. */
      co4: number;
    })
  | (Conv2dTileLaunch & {
      tilesW: number;
      /** Channels per slice of the reduction. */
      chunk: number;
    });

/** The plan of conv2dForward for geometry `g` on an adapter with `caps`, under overrides `o`. */
export function conv2dForwardPlan(g: Conv2dGeometry, caps: AdapterCaps, o: Conv2dOverrides = {}): Conv2dForwardPlan {
  if (takesSubgroupTiles(o.forward, caps)) {
    const co4 = Math.ceil(g.C_out / 4);
    const rows = g.N * g.H_out * g.W_out;
    const rowBlocks = Math.ceil(rows / 32);
    // 1×1 kernels: the layout pass costs about as much as the product itself.
    const direct = o.direct ?? (rowBlocks <= DIRECT_MAX_ROW_BLOCKS || g.KH * g.KW === 1);
    const wg = o.WG ?? SG_WG;
    const [gx, gy] = grid(rowBlocks);
    const flatK = (o.steps ?? 2) === 2 && g.C_in < 8 && g.KH * g.KW > 1;
    return {
      kernel: 'sg',
      wg,
      operand: direct ? 'direct' : 'layout',
      steps: flatK ? 2 : kSteps(o.steps, g.C_in),
      flatK,
      imageFastest: imageFastest(g, g.H_out * g.W_out, o),
      rows,
      co4,
      workgroups: [gx, gy, Math.ceil(Math.ceil(co4 / 2) / wg)],
    };
  }
  const tilesW = Math.ceil(g.W_out / 4);
  const tiles = g.N * g.H_out * tilesW;
  const coGroups = Math.ceil(g.C_out / 4);
  const { splits, chunk } = tileSplits(tiles * coGroups, g.C_in, caps, o);
  const wg = o.tileWG ?? TILE_WG;
  return { kernel: 'tile', wg, tilesW, tiles, splits, chunk, workgroups: tileWorkgroups(tiles, splits * coGroups, wg) };
}

/** The launch of a convolution's input gradient (see conv2dForwardPlan). */
export type Conv2dBackwardInputPlan =
  | {
      /** cols = Wᵀ · dy by matmulKernel (planned there), then the col2im gather of `total` elements. */
      kernel: 'gemm';
      total: number;
      workgroups: [number, number, number];
    }
  | (Conv2dSubgroupLaunch & {
      imageFastest: boolean;
      /** Only stride phase (0, 0) runs; the others' zeros come from a clear (`clear`) or from the gradient added into. */
      zeroFill: boolean;
      clear: boolean;
      /** Add into the gradient given (in place). */
      accumulate: boolean;
      /** C_in in vec4s, column groups (`rows` counts the largest stride phase). */
      ci4: number;
      colGroups: number;
    })
  | (Conv2dTileLaunch & {
      chunks: number;
      tilesW: number;
      chunk: number;
      /** Add into the gradient given (in place; only without a split reduction). */
      accumulate: boolean;
    });

/**
 * The plan of conv2dBackwardInput for geometry `g` (N > 0), adding into another gradient when `into`, on an
 * adapter with `caps`, under overrides `o`.
 */
export function conv2dBackwardInputPlan(g: Conv2dGeometry, into: boolean, caps: AdapterCaps, o: Conv2dOverrides = {}): Conv2dBackwardInputPlan {
  // Fewer than 8 input channels (the stem) on software adapters: a GEMM and a gather, faster on lavapipe than
  // the tiled kernel, which loops over all C_out·KH·KW terms per pixel (figures: bench/RESULTS.md,
  // "Figures behind the kernel choices (moved from code comments, 2026-12-05)").
  const colsBytes = g.N * g.C_in * g.KH * g.KW * g.H_out * g.W_out * 4;
  const gemm = o.dx === 'gemm' || (o.dx === undefined && g.C_in < 8 && subgroupTilesPreferred(caps) && colsBytes <= caps.maxStorageBufferBindingSize);
  if (gemm) {
    // Invocations along W run phase by phase, stride_w · ceil(W / stride_w) per row (conv2d_col2im.wgsl).
    const total = g.N * g.C_in * g.H * g.strideW * Math.ceil(g.W / g.strideW);
    return { kernel: 'gemm', total, workgroups: grid(Math.ceil(total / GATHER_WG)) };
  }
  // With fewer than 8 input channels (the stem) most of an invocation's 8 columns would be padding.
  if (o.dx === 'sg' || (o.dx === undefined && g.C_in >= 8 && subgroupTilesPreferred(caps))) {
    // Only phase (0, 0) has taps: clear dx (unless adding into another gradient), then the product over
    // that phase alone.
    const zeroFill = (o.dxZeroFill ?? true) && onlyPhaseZeroHasTaps(g);
    const ci4 = Math.ceil(g.C_in / 4);
    const wg = o.WG ?? SG_WG;
    // Rows of the largest phase (phase 0, 0); the smaller phases leave some workgroups idle.
    const rows = g.N * Math.ceil(g.H / g.strideH) * Math.ceil(g.W / g.strideW);
    const rowBlocks = Math.ceil(rows / 32);
    // A 1×1 kernel's weights [C_out, C_in] already are the [C_out, 1, C_in₄] layout when C_in % 4 == 0.
    const inPlace = g.KH * g.KW === 1 && g.C_in % 4 === 0;
    const direct = !inPlace && (o.direct ?? rowBlocks <= DIRECT_MAX_ROW_BLOCKS);
    const colGroups = Math.ceil(Math.ceil(ci4 / 2) / wg);
    const [gx, gy] = grid(rowBlocks);
    return {
      kernel: 'sg',
      wg,
      operand: inPlace ? 'vec4' : direct ? 'direct' : 'layout',
      steps: kSteps(o.steps, g.C_out),
      imageFastest: imageFastest(g, g.H * g.W, o),
      zeroFill,
      clear: zeroFill && !into,
      accumulate: into,
      rows,
      ci4,
      colGroups,
      workgroups: [gx, gy, (zeroFill ? 1 : g.strideH * g.strideW) * colGroups],
    };
  }
  const chunks = Math.ceil(Math.ceil(g.W / g.strideW) / 4);
  const tilesW = g.strideW * chunks;
  const tiles = g.N * g.H * tilesW;
  const ciGroups = Math.ceil(g.C_in / 4);
  const { splits, chunk } = tileSplits(tiles * ciGroups, g.C_out, caps, o);
  const wg = o.tileWG ?? TILE_WG;
  return { kernel: 'tile', wg, chunks, tilesW, tiles, splits, chunk, accumulate: into && splits === 1, workgroups: tileWorkgroups(tiles, splits * ciGroups, wg) };
}

/** The launch of a convolution's filter gradient (see conv2dForwardPlan); `splits` slices of the batch. */
export type Conv2dBackwardFilterPlan =
  | (Conv2dSubgroupLaunch & {
      /** C_out in vec4s, column groups (`operand` is dy's read: in place when a 1 × 1 map has whole vec4s of C_out). */
      co4: number;
      colGroups: number;
      splits: number;
      nPerSplit: number;
      /**
       * The kernel taps the rows cover (`rows` = C_in × taps.h × taps.w); when that is not every tap, the
       * gradient is cleared first and the other taps keep its zeros (`clear`).
       */
      taps: { h0: number; h: number; w0: number; w: number };
      clear: boolean;
      /** Rows ordered (tap, C_in) instead of (C_in, tap), and positions where a block's taps see padding skipped. */
      tapMajor: boolean;
    })
  | (Conv2dTileLaunch & {
      ciTiles: number;
      /** Samples per slice. */
      nPerSplit: number;
    });

/** The plan of conv2dBackwardFilter for geometry `g` on an adapter with `caps`, under overrides `o`. */
export function conv2dBackwardFilterPlan(g: Conv2dGeometry, caps: AdapterCaps, o: Conv2dOverrides = {}): Conv2dBackwardFilterPlan {
  if (takesSubgroupTiles(o.dw, caps)) {
    const co4 = Math.ceil(g.C_out / 4);
    const HWo = g.H_out * g.W_out;
    const wg = o.WG ?? SG_WG;
    const taps = (o.dwUsedTaps ?? true) ? usedTaps(g) : { h0: 0, h: g.KH, w0: 0, w: g.KW };
    const rows = g.C_in * taps.h * taps.w;
    const rowBlocks = Math.max(1, Math.ceil(rows / 32));
    // dy [N, C_out, 1] already is the [N, 1, C_out₄] layout when C_out % 4 == 0.
    const inPlace = HWo === 1 && g.C_out % 4 === 0;
    const direct = !inPlace && (o.direct ?? rowBlocks <= DIRECT_MAX_ROW_BLOCKS);
    const colGroups = Math.ceil(Math.ceil(co4 / 2) / wg);
    const target = o.dwTargetWorkgroups ?? (caps.software ? 8 : 64);
    let splits = Math.max(1, Math.min(g.N, Math.ceil(target / (rowBlocks * colGroups))));
    const nPerSplit = Math.max(1, Math.ceil(g.N / splits));
    splits = Math.max(1, Math.ceil(g.N / nPerSplit));
    const [gx, gy] = grid(rowBlocks);
    // Two positions per step on maps of 16 positions and more; four only where asked for, on maps of 32 and
    // more (see Conv2dOverrides.steps).
    const steps = o.steps === 4 ? (HWo >= 32 ? 4 : 1) : (o.steps ?? 2) === 2 && HWo >= 16 ? 2 : 1;
    // Tap-major rows pay off on lavapipe on padded maps, where a tap meets padding at some positions, with one
    // or two positions per step; with four positions per step they measured about 3× slower (figures:
    // bench/RESULTS.md, "Filter gradients at small maps: used taps and tap-major rows").
    const tapMajor = o.dwTapMajor ?? (steps !== 4 && (g.padH > 0 || g.padW > 0) && taps.h * taps.w > 1);
    return {
      kernel: 'sg',
      wg,
      operand: inPlace ? 'vec4' : direct ? 'direct' : 'layout',
      steps,
      rows,
      co4,
      colGroups,
      splits,
      nPerSplit,
      tapMajor,
      taps,
      clear: taps.h * taps.w < g.KH * g.KW,
      workgroups: [gx, gy, splits * colGroups],
    };
  }
  const ciTiles = Math.ceil(g.C_in / 4);
  const tiles = Math.ceil(g.C_out / 4) * ciTiles * g.KH * g.KW;
  let splits = Math.max(1, Math.min(g.N, Math.floor(FILTER_TARGET_INVOCATIONS / tiles)));
  const nPerSplit = Math.max(1, Math.ceil(g.N / splits));
  splits = Math.max(1, Math.ceil(g.N / nPerSplit));
  const wg = o.tileWG ?? TILE_WG;
  return { kernel: 'tile', wg, ciTiles, tiles, splits, nPerSplit, workgroups: tileWorkgroups(tiles, splits, wg) };
}

/** Sums the slices of a split reduction (axis 0 of `dst`) into a new tensor, or into `into`; disposes `dst`. */
function sumSlices(dst: Tensor, op: string, into: Tensor | null = null): Tensor {
  const sum = reduceKernel('sum', dst, [0], false, 1, op, into);
  dst.dispose();
  return sum;
}

type ForwardSgPlan = Extract<Conv2dForwardPlan, { kernel: 'sg' }>;

function checkBias(op: string, bias: Tensor | null, g: Conv2dGeometry, w: Tensor): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.C_out)) {
    throw new Error(`${op}: bias must be [${g.C_out}] for weight ${shapeString(w.shape)}, got ${shapeString(bias.shape)}`);
  }
}

function forwardSgConstants(plan: ForwardSgPlan, hasBias: boolean) {
  return {
    WG: plan.wg,
    HAS_BIAS: hasBias,
    WDIRECT: plan.operand === 'direct',
    UNROLL4: plan.steps === 4,
    UNROLL2: plan.steps === 2 && !plan.flatK,
    FLATK: plan.flatK,
  };
}

/** Eval-mode batch norm after a convolution, for conv2dBatchNormEval. */
export interface ConvBatchNormEval {
  /** Running mean, [C_out]. */
  mean: Tensor;
  /** Running (unbiased) variance, [C_out]. */
  variance: Tensor;
  /** Scale γ, [C_out]. */
  gamma: Tensor;
  /** Shift β, [C_out]. */
  beta: Tensor;
  /** Added to the variance before its inverse square root. */
  eps: number;
  /** ReLU last. */
  relu: boolean;
}

/**
 * act(batchNorm_eval(conv2d(x, w) + bias)) in one dispatch: the subgroup forward with the batch norm and the
 * ReLU in its epilogue (conv2d_store_bn.wgsl), the bits of conv2dForward followed by batchNormForward in eval
 * mode (batchnorm_channel_forward.wgsl's arithmetic, operation for operation). Returns null where that
 * kernel does not run (a plan other than the subgroup forward, fewer than 9 storage buffers per stage, or
 * the `fuseBatchNorm: false` override); the caller then runs the two ops. No gradient: for inference (eval
 * mode, no tape).
 */
export function conv2dBatchNormEval(x: Tensor, w: Tensor, bias: Tensor | null, options: Conv2dOptions, bn: ConvBatchNormEval): Tensor | null {
  const op = 'conv2d';
  const o = overridesOf('conv2d');
  const rt = getRuntime();
  if (o.fuseBatchNorm === false || rt.device.limits.maxStorageBuffersPerShaderStage < FORWARD_SG_BN_BUFFERS) return null;
  assertFloat(op, x, w, bn.mean, bn.variance, bn.gamma, bn.beta, ...(bias ? [bias] : []));
  const g = conv2dGeometry(x.shape, w.shape, options, op);
  if (g.N === 0) return null;
  const plan = conv2dForwardPlan(g, rt.caps, o);
  if (plan.kernel !== 'sg') return null;
  for (const [name, t] of [['mean', bn.mean], ['variance', bn.variance], ['gamma', bn.gamma], ['beta', bn.beta]] as const) {
    if (t.rank !== 1 || t.shape[0] !== g.C_out) throw new Error(`${op}: batch norm ${name} must be [${g.C_out}], got ${shapeString(t.shape)}`);
  }
  checkBias(op, bias, g, w);
  const out = empty([g.N, g.C_out, g.H_out, g.W_out], 'float32', op);
  const wt = plan.operand === 'layout' ? relayout(w, 1, g.C_out, g.C_in * g.KH * g.KW, op) : w;
  FORWARD_SG_BN.dispatch({
    op,
    constants: { ...forwardSgConstants(plan, bias !== null), RELU: bn.relu },
    params: convParams(FORWARD_SG_BN, g, { rows: plan.rows, co4: plan.co4, img_fast: plan.imageFastest ? 1 : 0, bn_eps: bn.eps }),
    storage: {
      x: x.binding(op),
      wt: wt.binding(op),
      bias: (bias ?? w).binding(op),
      out: out.binding(op),
      w: w.binding(op),
      bn_mean: bn.mean.binding(op),
      bn_var: bn.variance.binding(op),
      bn_gamma: bn.gamma.binding(op),
      bn_beta: bn.beta.binding(op),
    },
    workgroups: plan.workgroups,
  });
  if (wt !== w) wt.dispose();
  return out;
}

/** out = conv2d(x, w) + bias: x [N, C_in, H, W], w [C_out, C_in, KH, KW], bias [C_out] → [N, C_out, H_out, W_out]. */
export function conv2dForward(x: Tensor, w: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  assertFloat(op, x, w, ...(bias ? [bias] : []));
  const g = conv2dGeometry(x.shape, w.shape, options, op);
  checkBias(op, bias, g, w);
  const out = empty([g.N, g.C_out, g.H_out, g.W_out], 'float32', op);
  if (g.N === 0) return out;
  const plan = conv2dForwardPlan(g, getRuntime().caps, overridesOf('conv2d'));
  if (plan.kernel === 'sg') {
    const wt = plan.operand === 'layout' ? relayout(w, 1, g.C_out, g.C_in * g.KH * g.KW, op) : w;
    FORWARD_SG.dispatch({
      op,
      constants: forwardSgConstants(plan, bias !== null),
      params: convParams(FORWARD_SG, g, { rows: plan.rows, co4: plan.co4, img_fast: plan.imageFastest ? 1 : 0 }),
      storage: { x: x.binding(op), wt: wt.binding(op), bias: (bias ?? w).binding(op), out: out.binding(op), w: w.binding(op) },
      workgroups: plan.workgroups,
    });
    if (wt !== w) wt.dispose();
    return out;
  }
  const dst = plan.splits > 1 ? empty([plan.splits, g.N, g.C_out, g.H_out, g.W_out], 'float32', op) : out;
  FORWARD.dispatch({
    op,
    constants: { WG: plan.wg, HAS_BIAS: bias !== null },
    params: convParams(FORWARD, g, { tiles_w: plan.tilesW, tiles: plan.tiles, ci_chunk: plan.chunk }),
    storage: { x: x.binding(op), w: w.binding(op), bias: (bias ?? w).binding(op), out: dst.binding(op) },
    workgroups: plan.workgroups,
  });
  if (dst === out) return out;
  out.dispose();
  return sumSlices(dst, op);
}

/**
 * dx of a convolution: dy [N, C_out, H_out, W_out], w [C_out, C_in, KH, KW] → [N, C_in, H, W] (xShape).
 * With `into` (a tensor of xShape holding another gradient of the same input), the kernels that can add
 * their result into it in place do so and return `into` (the subgroup kernel, and the tiled kernel without
 * a split reduction); the others return a new tensor, which the caller adds.
 */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: readonly number[], options: Conv2dOptions = {}, into: Tensor | null = null): Tensor {
  const op = 'conv2d.backwardInput';
  assertFloat(op, dy, w);
  const g = conv2dGeometry(xShape, w.shape, options, op);
  const want = [g.N, g.C_out, g.H_out, g.W_out];
  if (dy.shape.join() !== want.join()) throw new Error(`${op}: dy must be ${shapeString(want)}, got ${shapeString(dy.shape)}`);
  if (into) {
    assertFloat(op, into);
    if (into.shape.join() !== xShape.join()) throw new Error(`${op}: the gradient to add into is ${shapeString(into.shape)}, expected ${shapeString(xShape)}`);
  }
  if (g.N === 0) return into ?? empty(xShape, 'float32', op);
  const plan = conv2dBackwardInputPlan(g, !!into, getRuntime().caps, overridesOf('conv2d'));
  if (plan.kernel === 'gemm') return conv2dBackwardInputGemm(dy, w, g, plan, op);
  if (plan.kernel === 'sg') {
    const dx = into ?? empty(xShape, 'float32', op);
    if (plan.clear) clearTensor(dx, op);
    const wt = plan.operand === 'layout' ? relayout(w, g.C_out, g.C_in, g.KH * g.KW, op) : w;
    BACKWARD_INPUT_SG.dispatch({
      op,
      constants: { WG: plan.wg, WDIRECT: plan.operand === 'direct', UNROLL4: plan.steps === 4, UNROLL2: plan.steps === 2, ACCUMULATE: plan.accumulate },
      params: convParams(BACKWARD_INPUT_SG, g, { rows: plan.rows, ci4: plan.ci4, col_groups: plan.colGroups, img_fast: plan.imageFastest ? 1 : 0 }),
      storage: { dy: dy.binding(op), wt: wt.binding(op), dx: dx.binding(op), w: w.binding(op) },
      workgroups: plan.workgroups,
    });
    if (wt !== w) wt.dispose();
    return dx;
  }
  const dx = plan.accumulate ? into! : empty(xShape, 'float32', op);
  const dst = plan.splits > 1 ? empty([plan.splits, g.N, g.C_in, g.H, g.W], 'float32', op) : dx;
  BACKWARD_INPUT.dispatch({
    op,
    constants: { WG: plan.wg, ACCUMULATE: plan.accumulate },
    params: convParams(BACKWARD_INPUT, g, { tiles_w: plan.tilesW, tiles: plan.tiles, chunks: plan.chunks, co_chunk: plan.chunk }),
    storage: { dy: dy.binding(op), w: w.binding(op), dx: dst.binding(op) },
    workgroups: plan.workgroups,
  });
  if (dst === dx) return dx;
  dx.dispose();
  return sumSlices(dst, op);
}

/** The GEMM route of the input gradient: cols [N, C_in·KH·KW, H_out·W_out] = Wᵀ · dy, then col2im. */
function conv2dBackwardInputGemm(dy: Tensor, w: Tensor, g: Conv2dGeometry, plan: Extract<Conv2dBackwardInputPlan, { kernel: 'gemm' }>, op: string): Tensor {
  const KK = g.KH * g.KW;
  const wm = w.view([g.C_out, g.C_in * KK]);
  const dym = dy.view([g.N, g.C_out, g.H_out * g.W_out]);
  const cols = matmulKernel(wm, dym, true, false);
  wm.dispose();
  dym.dispose();
  const dx = empty([g.N, g.C_in, g.H, g.W], 'float32', op);
  COL2IM.dispatch({
    op: `${op}.col2im`,
    constants: { WG: GATHER_WG },
    params: convParams(COL2IM, g, { total: plan.total }),
    storage: { cols: cols.binding(op), dx: dx.binding(op) },
    workgroups: plan.workgroups,
  });
  cols.dispose();
  return dx;
}

/**
 * dw of a convolution: dy [N, C_out, H_out, W_out], x [N, C_in, H, W] → [C_out, C_in, KH, KW] (wShape).
 * With `into` (a tensor of wShape, e.g. the weight's zeroed gradient), dw is written there and `into` returned.
 */
export function conv2dBackwardFilter(dy: Tensor, x: Tensor, wShape: readonly number[], options: Conv2dOptions = {}, into: Tensor | null = null): Tensor {
  const op = 'conv2d.backwardFilter';
  assertFloat(op, dy, x);
  const g = conv2dGeometry(x.shape, wShape, options, op);
  const want = [g.N, g.C_out, g.H_out, g.W_out];
  if (dy.shape.join() !== want.join()) throw new Error(`${op}: dy must be ${shapeString(want)}, got ${shapeString(dy.shape)}`);
  if (into) {
    assertFloat(op, into);
    if (into.shape.join() !== wShape.join()) throw new Error(`${op}: the tensor to write dw into is ${shapeString(into.shape)}, expected ${shapeString(wShape)}`);
  }
  const plan = conv2dBackwardFilterPlan(g, getRuntime().caps, overridesOf('conv2d'));
  // The weights' gradient: into itself when the kernel writes it in one pass, else the sum of the splits' slices.
  const result = () => (plan.splits > 1 ? empty([plan.splits, ...wShape], 'float32', op) : (into ?? empty(wShape, 'float32', op)));
  let partial: Tensor;
  if (plan.kernel === 'sg') {
    const dyt = plan.rows > 0 && plan.operand === 'layout' ? relayout(dy, g.N, g.C_out, g.H_out * g.W_out, op) : dy;
    partial = result();
    // Taps outside the window keep zeros: cleared here unless written straight into a gradient known to hold them.
    if (plan.clear && !(partial === into && into.zeroed)) clearTensor(partial, op);
    const { taps } = plan;
    if (plan.rows > 0) {
      BACKWARD_FILTER_SG.dispatch({
        op,
        constants: { WG: plan.wg, YDIRECT: plan.operand === 'direct', UNROLL4: plan.steps === 4, UNROLL2: plan.steps === 2, TAP_MAJOR: plan.tapMajor },
        params: convParams(BACKWARD_FILTER_SG, g, {
          rows: plan.rows, co4: plan.co4, col_groups: plan.colGroups, n_per_split: plan.nPerSplit,
          tap_h0: taps.h0, tap_w0: taps.w0, taps_w: taps.w, taps: taps.h * taps.w,
        }),
        storage: { x: x.binding(op), dyt: dyt.binding(op), out: partial.binding(op), dy: dy.binding(op) },
        workgroups: plan.workgroups,
      });
    }
    if (dyt !== dy) dyt.dispose();
  } else {
    partial = result();
    BACKWARD_FILTER.dispatch({
      op,
      constants: { WG: plan.wg },
      params: convParams(BACKWARD_FILTER, g, { ci_tiles: plan.ciTiles, tiles: plan.tiles, n_per_split: plan.nPerSplit }),
      storage: { dy: dy.binding(op), x: x.binding(op), out: partial.binding(op) },
      workgroups: plan.workgroups,
    });
  }
  return plan.splits === 1 ? partial : sumSlices(partial, op, into);
}

/** The bias gradient: dy [N, C_out, H_out, W_out] summed over N, H, W → [C_out] (written into `into` when given). */
export function conv2dBackwardBias(dy: Tensor, into: Tensor | null = null): Tensor {
  const op = 'conv2d.backwardBias';
  assertFloat(op, dy);
  if (dy.rank !== 4) throw new Error(`${op}: dy must be [N, C_out, H_out, W_out], got ${shapeString(dy.shape)}`);
  return reduceKernel('sum', dy, [0, 2, 3], false, 1, op, into);
}
