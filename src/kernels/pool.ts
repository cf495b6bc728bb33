/**
 * Pooling over NCHW activations: max pooling with its argmax (for the backward pass) and global average
 * pooling [N, C, H, W] → [N, C], each with its backward kernel.
 */
import maxWgsl from '../../shaders/pool_max.wgsl';
import maxBackwardWgsl from '../../shaders/pool_max_backward.wgsl';
import maxBackwardVec4Wgsl from '../../shaders/pool_max_backward_vec4.wgsl';
import avgWgsl from '../../shaders/pool_avg.wgsl';
import { grid } from '../gpu/runtime.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { declareOverrides, overridesOf } from '../gpu/overrides.js';
import { defineKernel } from './define.js';
import { assertFloat, WG } from './util.js';

/**
 * The max-pooling kernels' constants: the geometry compiled in (one pipeline per pooling shape). On software
 * adapters an integer division by a runtime value is a scalar loop over the lanes, by a constant a vector
 * multiply.
 */
const MAX_CONSTANTS = {
  WG: 256, H: 'u32', W: 'u32', H_OUT: 'u32', W_OUT: 'u32', KH: 'u32', KW: 'u32', SH: 'u32', SW: 'u32', PH: 'u32', PW: 'u32',
} as const;
const MAX = defineKernel({
  name: 'pool_max',
  params: { total: 'u32' },
  storage: { x: 'read array<f32>', y: 'read_write array<f32>', argmax: 'read_write array<i32>' },
  constants: MAX_CONSTANTS,
  code: maxWgsl,
});
/** The gather of max pooling's backward: one element per invocation, or four of a row (`vec4`). */
function maxBackwardKernel(vec4: boolean) {
  return defineKernel({
    name: vec4 ? 'pool_max_backward_vec4' : 'pool_max_backward',
    params: { total: 'u32' },
    storage: { dy: 'read array<f32>', argmax: 'read array<i32>', dx: vec4 ? 'read_write array<vec4<f32>>' : 'read_write array<f32>' },
    constants: MAX_CONSTANTS,
    code: vec4 ? maxBackwardVec4Wgsl : maxBackwardWgsl,
  });
}
const MAX_BACKWARD = maxBackwardKernel(false);
const MAX_BACKWARD_VEC4 = maxBackwardKernel(true);
/** Global average pooling: entry points forward and backward. */
const AVG = defineKernel({
  name: 'pool_avg',
  params: { total: 'u32', HW: 'u32' },
  storage: { src: 'read array<f32>', dst: 'read_write array<f32>' },
  constants: { WG: 256 },
  code: avgWgsl,
});

/** Overrides of max pooling's backward (for tests and measurements). */
export interface MaxPool2dOverrides {
  /**
   * Four elements of a row per invocation where the rows' length is a multiple of 4 (default true), else
   * one: the same bits, fewer loads (bench/RESULTS.md, "Max-pool backward four elements at a time").
   */
  vec4?: boolean;
}

declare module '../gpu/overrides.js' {
  interface KernelOverrides {
    /** Overrides of max pooling (MaxPool2dOverrides). */
    maxPool2d?: MaxPool2dOverrides;
  }
}
declareOverrides('maxPool2d', { vec4: true });

/** Window, stride and padding of {@link maxPool2d}. */
export interface MaxPool2dOptions {
  /** Window size: a number or [KH, KW]. */
  kernel: number | readonly [number, number];
  /** Default: the kernel size (as PyTorch). */
  stride?: number | readonly [number, number];
  /** Implicit padding with −∞ on each side: a number or [along H, along W]. Default 0. */
  padding?: number | readonly [number, number];
}

interface PoolGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  H_out: number;
  W_out: number;
}

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export function maxPool2dGeometry(xShape: readonly number[], options: MaxPool2dOptions, op = 'maxPool2d'): PoolGeometry {
  if (xShape.length !== 4) throw new Error(`${op}: input must be NCHW [N, C, H, W], got ${shapeString(xShape)}`);
  const [N, C, H, W] = xShape;
  const [KH, KW] = pair(options.kernel);
  const [sh, sw] = pair(options.stride ?? options.kernel);
  const [ph, pw] = pair(options.padding ?? 0);
  for (const [name, v, min] of [
    ['kernel', KH, 1],
    ['kernel', KW, 1],
    ['stride', sh, 1],
    ['stride', sw, 1],
    ['padding', ph, 0],
    ['padding', pw, 0],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${op}: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  if (2 * ph > KH || 2 * pw > KW) throw new RangeError(`${op}: padding ${ph},${pw} must be at most half the kernel ${KH}×${KW}`);
  const H_out = Math.floor((H + 2 * ph - KH) / sh) + 1;
  const W_out = Math.floor((W + 2 * pw - KW) / sw) + 1;
  if (H_out < 1 || W_out < 1) throw new Error(`${op}: kernel ${KH}×${KW} does not fit input ${shapeString(xShape)} with padding ${ph},${pw}`);
  return { N, C, H, W, KH, KW, sh, sw, ph, pw, H_out, W_out };
}

/** The geometry as the max-pool shaders' override constants (one pipeline per pooling shape). */
function poolConstants(g: PoolGeometry) {
  return { WG, H: g.H, W: g.W, H_OUT: g.H_out, W_OUT: g.W_out, KH: g.KH, KW: g.KW, SH: g.sh, SW: g.sw, PH: g.ph, PW: g.pw };
}

/** Max pooling: the pooled values and the int32 argmax (flat index ih·W + iw in its plane) of each. */
export function maxPool2dForward(x: Tensor, options: MaxPool2dOptions): { y: Tensor; argmax: Tensor } {
  const op = 'maxPool2d';
  assertFloat(op, x);
  const g = maxPool2dGeometry(x.shape, options, op);
  const shape = [g.N, g.C, g.H_out, g.W_out];
  const y = empty(shape, 'float32', op);
  const argmax = empty(shape, 'int32', op);
  if (y.size === 0) return { y, argmax };
  MAX.dispatch({
    op,
    constants: poolConstants(g),
    params: { total: y.size },
    storage: { x: x.binding(op), y: y.binding(op), argmax: argmax.binding(op) },
    workgroups: grid(Math.ceil(y.size / WG)),
  });
  return { y, argmax };
}

/** Routes dy to the argmax of each window: dx of shape xShape. */
export function maxPool2dBackward(dy: Tensor, argmax: Tensor, xShape: readonly number[], options: MaxPool2dOptions): Tensor {
  const op = 'maxPool2d.backward';
  assertFloat(op, dy);
  const g = maxPool2dGeometry(xShape, options, op);
  const want = [g.N, g.C, g.H_out, g.W_out];
  if (dy.shape.join() !== want.join() || argmax.shape.join() !== want.join()) {
    throw new Error(`${op}: dy ${shapeString(dy.shape)} and argmax ${shapeString(argmax.shape)} must be ${shapeString(want)}`);
  }
  if (argmax.dtype !== 'int32') throw new TypeError(`${op}: argmax must be int32, got ${argmax.dtype}`);
  const dx = empty(xShape, 'float32', op);
  if (dx.size === 0) return dx;
  // Four elements of a row per invocation where rows are a multiple of 4 (MaxPool2dOverrides.vec4).
  const per = g.W % 4 === 0 && overridesOf('maxPool2d').vec4 !== false ? 4 : 1;
  (per === 4 ? MAX_BACKWARD_VEC4 : MAX_BACKWARD).dispatch({
    op,
    constants: poolConstants(g),
    params: { total: dx.size / per },
    storage: { dy: dy.binding(op), argmax: argmax.binding(op), dx: dx.binding(op) },
    workgroups: grid(Math.ceil(dx.size / per / WG)),
  });
  return dx;
}

/** [N, C, H, W] → [N, C], the mean over H and W. */
export function globalAvgPoolForward(x: Tensor): Tensor {
  const op = 'globalAvgPool';
  assertFloat(op, x);
  if (x.rank !== 4) throw new Error(`${op}: input must be NCHW [N, C, H, W], got ${shapeString(x.shape)}`);
  const [N, C, H, W] = x.shape;
  if (H * W === 0) throw new Error(`${op}: empty spatial size in ${shapeString(x.shape)}`);
  const out = empty([N, C], 'float32', op);
  if (out.size === 0) return out;
  AVG.dispatch({
    op,
    entry: 'forward',
    constants: { WG },
    params: { total: N * C, HW: H * W },
    storage: { src: x.binding(op), dst: out.binding(op) },
    workgroups: grid(Math.ceil((N * C) / WG)),
  });
  return out;
}

/** dy [N, C] → dx [N, C, H, W] = dy / (H·W). */
export function globalAvgPoolBackward(dy: Tensor, xShape: readonly number[]): Tensor {
  const op = 'globalAvgPool.backward';
  assertFloat(op, dy);
  const [N, C, H, W] = xShape;
  if (dy.shape.join() !== [N, C].join()) throw new Error(`${op}: dy must be [${N}, ${C}], got ${shapeString(dy.shape)}`);
  const dx = empty(xShape, 'float32', op);
  if (dx.size === 0) return dx;
  AVG.dispatch({
    op,
    entry: 'backward',
    constants: { WG },
    params: { total: dx.size, HW: H * W },
    storage: { src: dy.binding(op), dst: dx.binding(op) },
    workgroups: grid(Math.ceil(dx.size / WG)),
  });
  return dx;
}
