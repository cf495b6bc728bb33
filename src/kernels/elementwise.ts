/** Elementwise kernels: unary ops, binary ops with broadcasting, and where(). */
import type { Scalar } from '../gpu/record.js';
import unaryOpsWgsl from '../../shaders/unary_ops.wgsl';
import unaryWgsl from '../../shaders/unary.wgsl';
import unaryVec4Wgsl from '../../shaders/unary_vec4.wgsl';
import binaryOpsWgsl from '../../shaders/binary_ops.wgsl';
import binaryWgsl from '../../shaders/binary.wgsl';
import binaryVec4Wgsl from '../../shaders/binary_vec4.wgsl';
import whereWgsl from '../../shaders/where.wgsl';
import axpyWgsl from '../../shaders/axpy.wgsl';
import axpyVec4Wgsl from '../../shaders/axpy_vec4.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { BINARY_APPLY_WGSL, BINARY_CODES, UNARY_APPLY_WGSL, UNARY_CODES, type BinaryOpName, type UnaryOpName } from './op-tables.js';
import { assertFloat, broadcastShapes, broadcastStrides, Params, sameShape, WG } from './util.js';

const UNARY = { name: 'unary', code: unaryOpsWgsl + UNARY_APPLY_WGSL + unaryWgsl };
const UNARY_VEC4 = { name: 'unary_vec4', code: unaryOpsWgsl + UNARY_APPLY_WGSL + unaryVec4Wgsl };
const BINARY = { name: 'binary', code: binaryOpsWgsl + BINARY_APPLY_WGSL + binaryWgsl };
const BINARY_VEC4 = { name: 'binary_vec4', code: binaryOpsWgsl + BINARY_APPLY_WGSL + binaryVec4Wgsl };

/** Whole vec4s: the length is a multiple of 4 and every tensor starts on a 16-byte boundary. */
function vec4able(n: number, ...ts: Tensor[]): boolean {
  return n % 4 === 0 && ts.every((t) => t.byteOffset % 16 === 0);
}
const WHERE = { name: 'where', code: whereWgsl };

/** out = f(x) for a unary op of src/kernels/op-tables.ts, with its scalars s0 (exponent, scale) and s1 (shift). */
export function unaryKernel(op: UnaryOpName, x: Tensor, s0 = 0, s1 = 0): Tensor {
  assertFloat(op, x);
  const out = empty(x.shape, 'float32', op);
  if (x.size === 0) return out;
  const vec4 = vec4able(x.size, x, out);
  const count = vec4 ? x.size / 4 : x.size;
  getRuntime().dispatch({
    op,
    shader: vec4 ? UNARY_VEC4 : UNARY,
    constants: { OP: UNARY_CODES[op], WG },
    uniforms: new Params().u32(count, 0).f32(s0, s1).build(),
    storage: [x.binding(op), out.binding(op)],
    workgroups: grid(Math.ceil(count / WG)),
  });
  return out;
}

export function binaryKernel(op: BinaryOpName, a: Tensor, b: Tensor): Tensor {
  assertFloat(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape, 'float32', op);
  if (out.size === 0) return out;
  const plain = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  if (plain && vec4able(out.size, a, b, out)) {
    getRuntime().dispatch({
      op,
      shader: BINARY_VEC4,
      constants: { OP: BINARY_CODES[op], WG },
      uniforms: new Params().u32(out.size / 4, shape.length, 0, 0).dims(shape).dims([]).dims([]).build(),
      storage: [a.binding(op), b.binding(op), out.binding(op)],
      workgroups: grid(Math.ceil(out.size / 4 / WG)),
    });
    return out;
  }
  getRuntime().dispatch({
    op,
    shader: BINARY,
    constants: { OP: BINARY_CODES[op], BROADCAST: !plain, WG },
    uniforms: new Params()
      .u32(out.size, shape.length, 0, 0)
      .dims(shape)
      .dims(broadcastStrides(a.shape, shape))
      .dims(broadcastStrides(b.shape, shape))
      .build(),
    storage: [a.binding(op), b.binding(op), out.binding(op)],
    workgroups: grid(Math.ceil(out.size / WG)),
  });
  return out;
}

export function whereKernel(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  assertFloat('where', cond, a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const out = empty(shape, 'float32', 'where');
  if (out.size === 0) return out;
  getRuntime().dispatch({
    op: 'where',
    shader: WHERE,
    constants: { WG },
    uniforms: new Params()
      .u32(out.size, shape.length, 0, 0)
      .dims(shape)
      .dims(broadcastStrides(cond.shape, shape))
      .dims(broadcastStrides(a.shape, shape))
      .dims(broadcastStrides(b.shape, shape))
      .build(),
    storage: [cond.binding('where'), a.binding('where'), b.binding('where'), out.binding('where')],
    workgroups: grid(Math.ceil(out.size / WG)),
  });
  return out;
}

const AXPY = { name: 'axpy', code: axpyWgsl };
const AXPY_VEC4 = { name: 'axpy_vec4', code: axpyVec4Wgsl };

/** In place: y = alpha * y + beta * x (same shapes). */
export function axpyInPlace(y: Tensor, x: Tensor, alpha: Scalar = 1, beta: Scalar = 1, op = 'axpy'): void {
  assertFloat(op, x, y);
  if (!sameShape(x.shape, y.shape)) throw new Error(`${op}: shapes ${shapeString(y.shape)} and ${shapeString(x.shape)} differ`);
  if (x.size === 0) return;
  y.zeroed = false;
  const vec4 = x.size % 4 === 0 && x.byteOffset % 16 === 0 && y.byteOffset % 16 === 0;
  const count = vec4 ? x.size / 4 : x.size;
  getRuntime().dispatch({
    op,
    shader: vec4 ? AXPY_VEC4 : AXPY,
    constants: { WG },
    uniforms: new Params().u32(count, 0).f32(alpha, beta).build(),
    storage: [x.binding(op), y.binding(op)],
    workgroups: grid(Math.ceil(count / WG)),
  });
}
