/** Finiteness checks: how many elements of each tensor are NaN or ±Infinity. */
import finiteWgsl from '../../shaders/finite.wgsl';
import finiteScalarWgsl from '../../shaders/finite_scalar.wgsl';
import finiteVec4Wgsl from '../../shaders/finite_vec4.wgsl';
import { grid } from '../gpu/runtime.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { clearTensor } from './creation.js';
import { defineKernel } from './define.js';
import { assertFloat, WG } from './util.js';

/** n: elements, or (vec4) vec4s; slot: the element of `counts` to add to. */
const finite = (vec4: boolean) =>
  defineKernel({
    name: vec4 ? 'finite_vec4' : 'finite',
    params: { n: 'u32', slot: 'u32' },
    storage: { x: vec4 ? 'read array<vec4<u32>>' : 'read array<u32>', counts: 'read_write array<atomic<u32>>' },
    constants: { WG: 256 },
    code: [finiteWgsl, vec4 ? finiteVec4Wgsl : finiteScalarWgsl],
  });
const FINITE = finite(false);
const FINITE_VEC4 = finite(true);
/** Elements, or vec4s, per invocation (PER in the shader). */
const PER = 4;

/**
 * A uint32 tensor [xs.length] whose element i counts the NaN and ±Infinity elements of float32 tensor
 * xs[i]: one dispatch per tensor (vec4 loads when its length is a multiple of 4), nothing read back (read
 * the counts with one `data()`). The floats are tested by their exponent bits, so the count holds whatever
 * the adapter's floating-point rules.
 */
export function countNonFinite(xs: readonly Tensor[], op = 'countNonFinite'): Tensor {
  for (const x of xs) assertFloat(op, x);
  const counts = empty([xs.length], 'uint32', op);
  clearTensor(counts, op);
  xs.forEach((x, slot) => {
    if (x.size === 0) return;
    // vec4 loads where the length allows (flat buffers always do: multiples of 64 at aligned offsets).
    const vec4 = x.size % 4 === 0;
    const n = vec4 ? x.size / 4 : x.size;
    (vec4 ? FINITE_VEC4 : FINITE).dispatch({
      op,
      constants: { WG },
      params: { n, slot },
      storage: { x: x.binding(op), counts: counts.binding(op) },
      workgroups: grid(Math.ceil(n / PER / WG)),
    });
  });
  return counts;
}
