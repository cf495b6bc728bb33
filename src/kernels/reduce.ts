/** Reductions (sum, mean, max) over any set of axes. */
import opCommonWgsl from '../../shaders/op_common.wgsl';
import reduceWgsl from '../../shaders/reduce.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { clone } from './copy.js';
import { defineKernel } from './define.js';
import { ofOp, perOp, REDUCE_FOLDS, reduceFoldWgsl, type ReduceOp } from './op-tables.js';
import { assertFloat, contiguousStrides, normalizeAxes, WG } from './util.js';

const DIMS = 'array<vec4<u32>, 2>';
/**
 * One fold's reduce kernel, made from its entry in the op table. Parameters: the kept (out) and reduced (red)
 * axes, each as sizes and input strides; scale multiplies each result (the entry point `sliced`: the number of
 * slices per output, as a float).
 */
export const REDUCE_KERNELS = perOp(REDUCE_FOLDS, (fold) =>
  defineKernel({
    name: `reduce_${fold}`,
    params: {
      n_out: 'u32', n_red: 'u32', out_rank: 'u32', red_rank: 'u32', scale: 'f32',
      out_shape: DIMS, out_strides: DIMS, red_shape: DIMS, red_strides: DIMS,
    },
    storage: { x: 'read array<f32>', out: 'read_write array<f32>' },
    constants: { WG: 256 },
    code: [opCommonWgsl, reduceFoldWgsl(fold), reduceWgsl],
  }),
);

/** Merges neighbouring axes of a (shape, strides) list that are contiguous with each other. */
function merge(shape: number[], strides: number[]): [number[], number[]] {
  const sh: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && st[k] === strides[i] * shape[i]) {
      sh[k] *= shape[i];
      st[k] = strides[i];
    } else {
      sh.push(shape[i]);
      st.push(strides[i]);
    }
  }
  return [sh, st];
}

/**
 * Reduces `x` over `axes` (all axes when undefined) and multiplies the result by `scale`.
 * The output keeps reduced axes as size 1 when keepDims is true. With `into` (a float32 tensor of as many
 * elements as the result, bindable), the result is written there and `into` itself is returned.
 */
export function reduceKernel(
  op: ReduceOp,
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepDims = false,
  scale = 1,
  name: string = op,
  into: Tensor | null = null,
): Tensor {
  const kernel = ofOp('reduce', REDUCE_KERNELS, op);
  assertFloat(name, x);
  const ax = normalizeAxes(name, axes, x.rank);
  const outShape = keepDims ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
  const strides = contiguousStrides(x.shape);
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((d, i) => {
    if (ax.includes(i)) {
      redShape.push(d);
      redStrides.push(strides[i]);
    } else {
      keptShape.push(d);
      keptStrides.push(strides[i]);
    }
  });
  const nRed = redShape.reduce((a, b) => a * b, 1);
  const nOut = keptShape.reduce((a, b) => a * b, 1);
  if (nRed === 0 && op === 'max') throw new Error(`${name}: cannot take the max over an empty axis of shape [${x.shape.join(', ')}]`);
  if (into) {
    assertFloat(name, into);
    if (into.size !== nOut) throw new Error(`${name}: the result has ${nOut} elements (${shapeString(outShape)}); the tensor to write it into has ${into.size}`);
  }
  if (ax.length === 0 && scale === 1) {
    if (!into) return clone(x);
    if (nOut > 0) getRuntime().copy(x.storage.buffer, x.byteOffset, into.storage.buffer, into.byteOffset, x.byteLength, name);
    return into;
  }
  const out = into ?? empty(outShape, 'float32', name);
  if (nOut === 0) return out;
  const [ks, kst] = merge(keptShape, keptStrides);
  const [rs, rst] = merge(redShape, redStrides);
  const long = nRed >= 2048 && nOut < 2048;
  const rt = getRuntime();
  const params = (scaleOrSlices: number) => ({
    n_out: nOut,
    n_red: nRed,
    out_rank: ks.length,
    red_rank: Math.max(1, rs.length),
    scale: scaleOrSlices,
    out_shape: ks,
    out_strides: kst,
    red_shape: rs.length ? rs : [1],
    red_strides: rst.length ? rst : [1],
  });
  if (long && rt.report.software) {
    // Barrier-free two passes: slices of ~512 elements per invocation, then their combination.
    const slices = Math.min(1024, Math.ceil(nRed / 512));
    const parts = empty([nOut, slices], 'float32', name);
    kernel.dispatch({
      op: name,
      entry: 'sliced',
      constants: { WG },
      params: params(slices),
      storage: { x: x.binding(name), out: parts.binding(name) },
      workgroups: grid(Math.ceil((nOut * slices) / WG)),
    });
    if (into) {
      reduceKernel(op, parts, [1], false, scale, name, into);
      parts.dispose();
      return into;
    }
    const combined = reduceKernel(op, parts, [1], false, scale, name);
    parts.dispose();
    const result = combined.view(outShape);
    combined.dispose();
    out.dispose();
    return result;
  }
  kernel.dispatch({
    op: name,
    entry: long ? 'per_group' : 'per_thread',
    constants: { WG },
    params: params(scale),
    storage: { x: x.binding(name), out: out.binding(name) },
    workgroups: grid(long ? nOut : Math.ceil(nOut / WG)),
  });
  return out;
}
