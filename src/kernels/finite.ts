/** Finiteness checks: how many elements of each tensor are NaN or ±Infinity. */
import finiteWgsl from '../../shaders/finite.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { clearTensor } from './creation.js';
import { assertFloat, Params, WG } from './util.js';

const FINITE = { name: 'finite', code: finiteWgsl };
/** Elements per invocation (PER in the shader). */
const PER = 4;

/**
 * A uint32 tensor [xs.length] whose element i counts the NaN and ±Infinity elements of float32 tensor
 * xs[i]: one dispatch per tensor, nothing read back (read the counts with one `data()`). The floats are
 * tested by their exponent bits, so the count holds whatever the adapter's floating-point rules.
 */
export function countNonFinite(xs: readonly Tensor[], op = 'countNonFinite'): Tensor {
  for (const x of xs) assertFloat(op, x);
  const counts = empty([xs.length], 'uint32', op);
  clearTensor(counts, op);
  const rt = getRuntime();
  xs.forEach((x, slot) => {
    if (x.size === 0) return;
    rt.dispatch({
      op,
      shader: FINITE,
      constants: { WG },
      uniforms: new Params().u32(x.size, slot).build(),
      storage: [x.binding(op), counts.binding(op)],
      workgroups: grid(Math.ceil(x.size / PER / WG)),
    });
  });
  return counts;
}
