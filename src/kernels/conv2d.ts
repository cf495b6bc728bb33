/**
 * 2-D convolution: forward, input gradient and filter gradient, each an implicit GEMM with register tiles.
 *
 * Layout: activations stay NCHW on the GPU ([N, C, H, W], row-major), as in PyTorch, so checkpoints, fixtures
 * and reshapes (flatten) line up without transposes; weights keep PyTorch's [C_out, C_in, KH, KW].
 *
 * - conv2dForward: M = C_out, N = output pixels, K = C_in·KH·KW; tiles of 4 output channels × 4 output
 *   pixels of a row (shaders/conv2d_forward.wgsl).
 * - conv2dBackwardInput: M = C_in, N = input pixels, K = C_out·KH·KW; tiles of 4 input channels × 4 input
 *   pixels of one stride phase, so the stride's divisibility test is uniform per tile
 *   (shaders/conv2d_backward_input.wgsl).
 * - conv2dBackwardFilter: M = C_out, N = C_in·KH·KW, K = N·H_out·W_out; tiles of 4 × 4 channels at one
 *   kernel position, split over the batch when there are few tiles, the slices summed by a reduction
 *   (shaders/conv2d_backward_filter.wgsl).
 * - conv2dBackwardBias: a sum of dy over N, H, W.
 */
import forwardWgsl from '../../shaders/conv2d_forward.wgsl';
import backwardInputWgsl from '../../shaders/conv2d_backward_input.wgsl';
import backwardFilterWgsl from '../../shaders/conv2d_backward_filter.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { reduceKernel } from './reduce.js';
import { assertFloat, Params } from './util.js';

const FORWARD = { name: 'conv2d_forward', code: forwardWgsl };
const BACKWARD_INPUT = { name: 'conv2d_backward_input', code: backwardInputWgsl };
const BACKWARD_FILTER = { name: 'conv2d_backward_filter', code: backwardFilterWgsl };
const WG = 64;
/** The filter gradient splits its reduction over the batch until about this many invocations run. */
const FILTER_TARGET_INVOCATIONS = 16384;

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

function params(g: Conv2dGeometry, tail: [number, number, number, number]): ArrayBuffer {
  return new Params()
    .u32(g.N, g.C_in, g.H, g.W, g.C_out, g.H_out, g.W_out, g.KH, g.KW, g.strideH, g.strideW, g.padH, g.padW, ...tail)
    .build();
}

function workgroups(tiles: number, z: number): [number, number, number] {
  const [x, y] = grid(Math.ceil(tiles / WG));
  return [x, y, z];
}

/** out = conv2d(x, w) + bias: x [N, C_in, H, W], w [C_out, C_in, KH, KW], bias [C_out] → [N, C_out, H_out, W_out]. */
export function conv2dForward(x: Tensor, w: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  assertFloat(op, x, w, ...(bias ? [bias] : []));
  const g = conv2dGeometry(x.shape, w.shape, options, op);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.C_out)) {
    throw new Error(`${op}: bias must be [${g.C_out}] for weight ${shapeString(w.shape)}, got ${shapeString(bias.shape)}`);
  }
  const out = empty([g.N, g.C_out, g.H_out, g.W_out], 'float32', op);
  if (g.N === 0) return out;
  const tilesW = Math.ceil(g.W_out / 4);
  const tiles = g.N * g.H_out * tilesW;
  getRuntime().dispatch({
    op,
    shader: FORWARD,
    constants: { WG, HAS_BIAS: bias !== null },
    uniforms: params(g, [tilesW, tiles, 0, 0]),
    storage: [x.binding(op), w.binding(op), (bias ?? w).binding(op), out.binding(op)],
    workgroups: workgroups(tiles, Math.ceil(g.C_out / 4)),
  });
  return out;
}

/** dx of a convolution: dy [N, C_out, H_out, W_out], w [C_out, C_in, KH, KW] → [N, C_in, H, W] (xShape). */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: readonly number[], options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d.backwardInput';
  assertFloat(op, dy, w);
  const g = conv2dGeometry(xShape, w.shape, options, op);
  const want = [g.N, g.C_out, g.H_out, g.W_out];
  if (dy.shape.join() !== want.join()) throw new Error(`${op}: dy must be ${shapeString(want)}, got ${shapeString(dy.shape)}`);
  const dx = empty(xShape, 'float32', op);
  if (g.N === 0) return dx;
  const chunks = Math.ceil(Math.ceil(g.W / g.strideW) / 4);
  const tilesW = g.strideW * chunks;
  const tiles = g.N * g.H * tilesW;
  getRuntime().dispatch({
    op,
    shader: BACKWARD_INPUT,
    constants: { WG },
    uniforms: params(g, [tilesW, tiles, chunks, 0]),
    storage: [dy.binding(op), w.binding(op), dx.binding(op)],
    workgroups: workgroups(tiles, Math.ceil(g.C_in / 4)),
  });
  return dx;
}

/** dw of a convolution: dy [N, C_out, H_out, W_out], x [N, C_in, H, W] → [C_out, C_in, KH, KW] (wShape). */
export function conv2dBackwardFilter(dy: Tensor, x: Tensor, wShape: readonly number[], options: Conv2dOptions = {}): Tensor {
  const op = 'conv2d.backwardFilter';
  assertFloat(op, dy, x);
  const g = conv2dGeometry(x.shape, wShape, options, op);
  const want = [g.N, g.C_out, g.H_out, g.W_out];
  if (dy.shape.join() !== want.join()) throw new Error(`${op}: dy must be ${shapeString(want)}, got ${shapeString(dy.shape)}`);
  const ciTiles = Math.ceil(g.C_in / 4);
  const tiles = Math.ceil(g.C_out / 4) * ciTiles * g.KH * g.KW;
  let splits = Math.max(1, Math.min(g.N, Math.floor(FILTER_TARGET_INVOCATIONS / tiles)));
  const nPerSplit = Math.max(1, Math.ceil(g.N / splits));
  splits = Math.max(1, Math.ceil(g.N / nPerSplit));
  const partial = empty(splits > 1 ? [splits, ...wShape] : wShape, 'float32', op);
  getRuntime().dispatch({
    op,
    shader: BACKWARD_FILTER,
    constants: { WG },
    uniforms: params(g, [ciTiles, tiles, nPerSplit, 0]),
    storage: [dy.binding(op), x.binding(op), partial.binding(op)],
    workgroups: workgroups(tiles, splits),
  });
  if (splits === 1) return partial;
  const dw = reduceKernel('sum', partial, [0], false, 1, op);
  partial.dispose();
  return dw;
}

/** The bias gradient: dy [N, C_out, H_out, W_out] summed over N, H, W → [C_out]. */
export function conv2dBackwardBias(dy: Tensor): Tensor {
  const op = 'conv2d.backwardBias';
  assertFloat(op, dy);
  if (dy.rank !== 4) throw new Error(`${op}: dy must be [N, C_out, H_out, W_out], got ${shapeString(dy.shape)}`);
  return reduceKernel('sum', dy, [0, 2, 3], false, 1, op);
}
