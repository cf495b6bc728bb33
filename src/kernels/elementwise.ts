/** Elementwise kernels: unary ops, binary ops with broadcasting, and where(). */
import { StepValue } from '../gpu/step-encoder.js';
import opCommonWgsl from '../../shaders/op_common.wgsl';
import unaryWgsl from '../../shaders/unary.wgsl';
import unaryVec4Wgsl from '../../shaders/unary_vec4.wgsl';
import binaryWgsl from '../../shaders/binary.wgsl';
import binaryVec4Wgsl from '../../shaders/binary_vec4.wgsl';
import whereWgsl from '../../shaders/where.wgsl';
import axpyWgsl from '../../shaders/axpy.wgsl';
import axpyVec4Wgsl from '../../shaders/axpy_vec4.wgsl';
import { grid } from '../gpu/runtime.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { BINARY_WGSL, binaryApplyWgsl, ofOp, perOp, UNARY_OPS, unaryApplyWgsl, type BinaryOpName, type UnaryOpName } from './op-tables.js';
import { defineKernel } from './define.js';
import { assertFloat, broadcastShapes, broadcastStrides, sameShape, WG } from './util.js';

const F32 = 'read array<f32>';
const F32_OUT = 'read_write array<f32>';
const V4 = 'read array<vec4<f32>>';
const V4_OUT = 'read_write array<vec4<f32>>';
const DIMS = 'array<vec4<u32>, 2>';

/**
 * A unary op's parameters: n elements (vec4s in the vec4 kernels), and its scalars s0 (the exponent of
 * powScalar, the scale of affine) and s1 (the shift of affine).
 */
const UNARY_PARAMS = { n: 'u32', s0: 'f32', s1: 'f32' } as const;
/** One unary op's kernel, one float per invocation or (vec4) four. */
const unary = (op: UnaryOpName, vec4: boolean) =>
  defineKernel({
    name: `${vec4 ? 'unary_vec4' : 'unary'}_${op}`,
    params: UNARY_PARAMS,
    storage: { x: vec4 ? V4 : F32, out: vec4 ? V4_OUT : F32_OUT },
    constants: { WG: 256 },
    code: [opCommonWgsl, unaryApplyWgsl(op), vec4 ? unaryVec4Wgsl : unaryWgsl],
  });
/** Each unary op's kernels, made from its entry in the op table: an op outside the table has none. */
export const UNARY_KERNELS = perOp(UNARY_OPS, (op) => ({ scalar: unary(op, false), vec4: unary(op, true) }));
/** The output's n elements (vec4s in the vec4 kernels), rank and shape, and each input's strides along it. */
const BINARY_PARAMS = { n: 'u32', rank: 'u32', shape: DIMS, a_strides: DIMS, b_strides: DIMS } as const;
/** The vec4 kernel's: n vec4s, and each input's length in vec4s where it repeats along leading axes (0: none). */
const BINARY_VEC4_PARAMS = { n: 'u32', a_period: 'u32', b_period: 'u32' } as const;
/** One binary op's kernel, one float per invocation, any broadcasting. */
const binary = (op: BinaryOpName) =>
  defineKernel({
    name: `binary_${op}`,
    params: BINARY_PARAMS,
    storage: { a: F32, b: F32, out: F32_OUT },
    constants: { BROADCAST: true, WG: 256 },
    code: [opCommonWgsl, binaryApplyWgsl(op), binaryWgsl],
  });
/** Four floats per invocation: inputs of the output's shape, or repeating along its leading axes (PERIODIC). */
const binaryVec4 = (op: BinaryOpName) =>
  defineKernel({
    name: `binary_vec4_${op}`,
    params: BINARY_VEC4_PARAMS,
    storage: { a: V4, b: V4, out: V4_OUT },
    constants: { PERIODIC: false, WG: 256 },
    code: [opCommonWgsl, binaryApplyWgsl(op), binaryVec4Wgsl],
  });
export const BINARY_KERNELS = perOp(BINARY_WGSL, (op) => ({ scalar: binary(op), vec4: binaryVec4(op) }));

/** Whole vec4s: the length is a multiple of 4 and every tensor starts on a 16-byte boundary. */
function vec4able(n: number, ...ts: Tensor[]): boolean {
  return n % 4 === 0 && ts.every((t) => t.byteOffset % 16 === 0);
}
const WHERE = defineKernel({
  name: 'where',
  params: { n: 'u32', rank: 'u32', shape: DIMS, c_strides: DIMS, a_strides: DIMS, b_strides: DIMS },
  storage: { cond: F32, a: F32, b: F32, out: F32_OUT },
  constants: { WG: 256 },
  code: whereWgsl,
});

/** out = f(x) for a unary op of src/kernels/op-tables.ts, with its scalars s0 (exponent, scale) and s1 (shift). */
export function unaryKernel(op: UnaryOpName, x: Tensor, s0 = 0, s1 = 0): Tensor {
  const kernels = ofOp('unary', UNARY_KERNELS, op);
  assertFloat(op, x);
  const out = empty(x.shape, 'float32', op);
  if (x.size === 0) return out;
  const vec4 = vec4able(x.size, x, out);
  const count = vec4 ? x.size / 4 : x.size;
  (vec4 ? kernels.vec4 : kernels.scalar).dispatch({
    op,
    constants: { WG },
    params: { n: count, s0, s1 },
    storage: { x: x.binding(op), out: out.binding(op) },
    workgroups: grid(Math.ceil(count / WG)),
  });
  return out;
}

/**
 * How an input of `shape` is read against the broadcast `out` shape: 0 when it has out's own shape; its
 * length when it repeats along out's leading axes only (its shape, leading 1s aside, is out's trailing axes:
 * a bias [N] against [M, N]); null otherwise.
 */
export function suffixPeriod(shape: readonly number[], out: readonly number[]): number | null {
  let first = 0;
  while (first < shape.length && shape[first] === 1) first++;
  const own = shape.slice(first);
  if (own.length > out.length || own.some((d, i) => d !== out[out.length - own.length + i])) return null;
  const size = own.reduce((p, d) => p * d, 1);
  return size === out.reduce((p, d) => p * d, 1) ? 0 : size;
}

/** out = a ∘ b for a binary op of src/kernels/op-tables.ts (arithmetic or comparison), broadcasting. */
export function binaryKernel(op: BinaryOpName, a: Tensor, b: Tensor): Tensor {
  const kernels = ofOp('binary', BINARY_KERNELS, op);
  assertFloat(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape, 'float32', op);
  if (out.size === 0) return out;
  const plain = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  // Each input's length where it repeats along the output's leading axes (a bias against [M, N]), 0 where it is
  // the output's size, null where it broadcasts otherwise (the scalar kernel's case).
  const aPeriod = suffixPeriod(a.shape, shape);
  const bPeriod = suffixPeriod(b.shape, shape);
  if (aPeriod !== null && bPeriod !== null && aPeriod % 4 === 0 && bPeriod % 4 === 0 && vec4able(out.size, a, b, out)) {
    kernels.vec4.dispatch({
      op,
      constants: { PERIODIC: aPeriod + bPeriod > 0, WG },
      params: { n: out.size / 4, a_period: aPeriod / 4, b_period: bPeriod / 4 },
      storage: { a: a.binding(op), b: b.binding(op), out: out.binding(op) },
      workgroups: grid(Math.ceil(out.size / 4 / WG)),
    });
    return out;
  }
  kernels.scalar.dispatch({
    op,
    constants: { BROADCAST: !plain, WG },
    params: {
      n: out.size,
      rank: shape.length,
      shape,
      a_strides: broadcastStrides(a.shape, shape),
      b_strides: broadcastStrides(b.shape, shape),
    },
    storage: { a: a.binding(op), b: b.binding(op), out: out.binding(op) },
    workgroups: grid(Math.ceil(out.size / WG)),
  });
  return out;
}

export function whereKernel(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  assertFloat('where', cond, a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const out = empty(shape, 'float32', 'where');
  if (out.size === 0) return out;
  const op = 'where';
  WHERE.dispatch({
    op,
    constants: { WG },
    params: {
      n: out.size,
      rank: shape.length,
      shape,
      c_strides: broadcastStrides(cond.shape, shape),
      a_strides: broadcastStrides(a.shape, shape),
      b_strides: broadcastStrides(b.shape, shape),
    },
    storage: { cond: cond.binding(op), a: a.binding(op), b: b.binding(op), out: out.binding(op) },
    workgroups: grid(Math.ceil(out.size / WG)),
  });
  return out;
}

/**
 * y = alpha·y + beta·x, one float per invocation or (vec4) four (n then counts vec4s); `perStep`: beta is
 * declared per step (a StepValue, read afresh by every replay of a captured step).
 */
const axpy = <P extends boolean>(vec4: boolean, perStep: P) =>
  defineKernel({
    name: vec4 ? 'axpy_vec4' : 'axpy',
    params: { n: 'u32', alpha: 'f32', beta: (perStep ? 'step f32' : 'f32') as P extends true ? 'step f32' : 'f32' },
    storage: { x: vec4 ? V4 : F32, y: vec4 ? V4_OUT : F32_OUT },
    constants: { WG: 256 },
    code: vec4 ? axpyVec4Wgsl : axpyWgsl,
  });
const AXPY = axpy(false, false);
const AXPY_VEC4 = axpy(true, false);
const AXPY_STEP = axpy(false, true);
const AXPY_STEP_VEC4 = axpy(true, true);

/**
 * In place: y = alpha * y + beta * x (same shapes). `beta` may be a StepValue (a captured step's value):
 * then the kernel whose beta is declared per step runs, and every replay reads it afresh.
 */
export function axpyInPlace(y: Tensor, x: Tensor, alpha = 1, beta: number | StepValue = 1, op = 'axpy'): void {
  assertFloat(op, x, y);
  if (!sameShape(x.shape, y.shape)) throw new Error(`${op}: shapes ${shapeString(y.shape)} and ${shapeString(x.shape)} differ`);
  if (x.size === 0) return;
  y.zeroed = false;
  const vec4 = x.size % 4 === 0 && x.byteOffset % 16 === 0 && y.byteOffset % 16 === 0;
  const count = vec4 ? x.size / 4 : x.size;
  const launch = { op, constants: { WG }, storage: { x: x.binding(op), y: y.binding(op) }, workgroups: grid(Math.ceil(count / WG)) };
  if (beta instanceof StepValue) (vec4 ? AXPY_STEP_VEC4 : AXPY_STEP).dispatch({ ...launch, params: { n: count, alpha, beta } });
  else (vec4 ? AXPY_VEC4 : AXPY).dispatch({ ...launch, params: { n: count, alpha, beta } });
}
