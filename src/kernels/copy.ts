/**
 * Data movement through one strided-copy kernel: permute, slice, concat, broadcast-expand, and writing a
 * block into a region of a larger tensor. Works on 32-bit words, so on every dtype.
 */
import copyWgsl from '../../shaders/copy.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { defineKernel } from './define.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, normalizeAxes, WG } from './util.js';
import { fillKernel } from './creation.js';

const DIMS = 'array<vec4<u32>, 2>';
/** Offsets and strides in 32-bit words; the iteration shape of `rank` dimensions. */
const COPY = defineKernel({
  name: 'copy',
  params: { n: 'u32', rank: 'u32', src_offset: 'u32', dst_offset: 'u32', shape: DIMS, src_strides: DIMS, dst_strides: DIMS },
  storage: { src: 'read array<u32>', dst: 'read_write array<u32>' },
  constants: { WG: 256 },
  code: copyWgsl,
});

export interface StridedCopy {
  op: string;
  src: Tensor;
  srcOffset?: number;
  srcStrides: readonly number[];
  dst: Tensor;
  dstOffset?: number;
  dstStrides: readonly number[];
  /** The iteration shape. */
  shape: Shape;
}

/** Drops size-1 axes and merges neighbours that are contiguous in both source and destination. */
function simplify(shape: Shape, s: readonly number[], d: readonly number[]): [number[], number[], number[]] {
  const sh: number[] = [];
  const ss: number[] = [];
  const ds: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && ss[k] === s[i] * shape[i] && ds[k] === d[i] * shape[i]) {
      sh[k] *= shape[i];
      ss[k] = s[i];
      ds[k] = d[i];
    } else {
      sh.push(shape[i]);
      ss.push(s[i]);
      ds.push(d[i]);
    }
  }
  return [sh, ss, ds];
}

export function stridedCopy(c: StridedCopy): void {
  const n = sizeOf(c.shape);
  if (n === 0) return;
  if (c.src.dtype !== c.dst.dtype) throw new TypeError(`${c.op}: cannot copy ${c.src.dtype} into ${c.dst.dtype}`);
  const [shape, ss, ds] = simplify(c.shape, c.srcStrides, c.dstStrides);
  COPY.dispatch({
    op: c.op,
    constants: { WG },
    params: { n, rank: shape.length, src_offset: c.srcOffset ?? 0, dst_offset: c.dstOffset ?? 0, shape, src_strides: ss, dst_strides: ds },
    storage: { src: c.src.binding(c.op), dst: c.dst.binding(c.op) },
    workgroups: grid(Math.ceil(n / WG)),
  });
}

/** A contiguous copy of `x` (a fresh storage). */
export function clone(x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype, 'clone');
  if (x.size > 0) getRuntime().copy(x.storage.buffer, x.byteOffset, out.storage.buffer, 0, x.byteLength, 'clone');
  return out;
}

export function permuteKernel(x: Tensor, perm: readonly number[]): Tensor {
  const axes = perm.map((p) => (p < 0 ? p + x.rank : p));
  if (axes.length !== x.rank || new Set(axes).size !== x.rank || axes.some((a) => a < 0 || a >= x.rank)) {
    throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the axes of a tensor of shape ${shapeString(x.shape)}`);
  }
  const shape = axes.map((a) => x.shape[a]);
  const strides = contiguousStrides(x.shape);
  const out = empty(shape, x.dtype, 'permute');
  stridedCopy({ op: 'permute', src: x, srcStrides: axes.map((a) => strides[a]), dst: out, dstStrides: contiguousStrides(shape), shape });
  return out;
}

/** Checks and normalizes slice bounds: begin per axis, size per axis (-1 = to the end). */
export function sliceBounds(x: Shape, begin: readonly number[], size?: readonly number[]): { begin: number[]; size: number[] } {
  if (begin.length > x.length || (size && size.length !== begin.length)) {
    throw new Error(`slice: begin [${begin.join(', ')}]${size ? ` and size [${size.join(', ')}]` : ''} do not fit shape ${shapeString(x)}`);
  }
  const b: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const bi = begin[i] ?? 0;
    const start = bi < 0 ? bi + x[i] : bi;
    const si = size?.[i] ?? -1;
    const len = si === -1 ? x[i] - start : si;
    if (!Number.isInteger(start) || !Number.isInteger(len) || start < 0 || len < 0 || start + len > x[i]) {
      throw new RangeError(`slice: axis ${i}: begin ${bi}, size ${si} is outside shape ${shapeString(x)}`);
    }
    b.push(start);
    s.push(len);
  }
  return { begin: b, size: s };
}

export function sliceKernel(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const strides = contiguousStrides(x.shape);
  const out = empty(size, x.dtype, 'slice');
  const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
  stridedCopy({ op: 'slice', src: x, srcOffset: offset, srcStrides: strides, dst: out, dstStrides: contiguousStrides(size), shape: size });
  return out;
}

/** A zero tensor of `shape` with `x` written at `begin` (the backward of slice). */
export function padKernel(x: Tensor, shape: Shape, begin: readonly number[]): Tensor {
  const out = fillKernel(shape, 0, x.dtype);
  const strides = contiguousStrides(shape);
  const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
  stridedCopy({ op: 'pad', src: x, srcStrides: contiguousStrides(x.shape), dst: out, dstOffset: offset, dstStrides: strides, shape: x.shape });
  return out;
}

export function concatKernel(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const rank = xs[0].rank;
  const [ax] = normalizeAxes('concat', axis, rank);
  for (const t of xs) {
    const ok = t.rank === rank && t.dtype === xs[0].dtype && t.shape.every((d, i) => i === ax || d === xs[0].shape[i]);
    if (!ok) {
      throw new Error(`concat: along axis ${axis}, shapes ${xs.map((t) => `${shapeString(t.shape)} ${t.dtype}`).join(', ')} do not match`);
    }
  }
  const shape = [...xs[0].shape];
  shape[ax] = xs.reduce((acc, t) => acc + t.shape[ax], 0);
  const out = empty(shape, xs[0].dtype, 'concat');
  const outStrides = contiguousStrides(shape);
  let at = 0;
  for (const t of xs) {
    stridedCopy({ op: 'concat', src: t, srcStrides: contiguousStrides(t.shape), dst: out, dstOffset: at * outStrides[ax], dstStrides: outStrides, shape: t.shape });
    at += t.shape[ax];
  }
  return out;
}

/** Materializes `x` broadcast to `shape`. */
export function expandKernel(x: Tensor, shape: Shape): Tensor {
  const full = broadcastShapes('expand', x.shape, shape);
  if (full.length !== shape.length || full.some((d, i) => d !== shape[i])) {
    throw new Error(`expand: shape ${shapeString(x.shape)} cannot be broadcast to ${shapeString(shape)}`);
  }
  const out = empty(shape, x.dtype, 'expand');
  stridedCopy({ op: 'expand', src: x, srcStrides: broadcastStrides(x.shape, shape), dst: out, dstStrides: contiguousStrides(shape), shape });
  return out;
}
