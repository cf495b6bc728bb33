/**
 * gradcheck: runs a differentiable GPU function forward and backward (with a random upstream gradient) and
 * compares its output with a float64 reference function and its gradients with the reference's central
 * differences.
 */
import { getRuntime } from '../tensor/engine.js';
import { fromArray, type Tensor } from '../tensor/tensor.js';
import { arr, numericGrad, relativeError, type Arr } from './reference.js';
import { backward, requireGrad } from './tape.js';

/** How far a GPU function is from its float64 reference ({@link gradcheck}). */
export interface GradcheckResult {
  /** Normwise relative error of the forward result. */
  forwardError: number;
  /** One relative error per input. */
  gradErrors: number[];
}

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Step of the central differences. Default 1e-6. */
  eps?: number;
  /** Inputs (by position) to check; default all. */
  check?: number[];
  /** Seed of the random upstream gradient. Default 12345. */
  seed?: number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Checks a differentiable GPU function against a float64 reference: runs `gpuFn` on `inputs` (as float32
 * tensors), compares its result with `refFn(inputs)`, back-propagates a random upstream gradient and compares
 * each input's gradient with central differences of the reference. Returns normwise relative errors; float32
 * kernels typically land below 1e-5 (forward) and 1e-4 (gradients).
 */
export async function gradcheck(
  gpuFn: (...xs: Tensor[]) => Tensor,
  refFn: (xs: Arr[]) => Arr,
  inputs: Arr[],
  options: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const check = options.check ?? inputs.map((_, i) => i);
  const tensors = inputs.map((x, i) => {
    const t = fromArray(Float32Array.from(x.data), x.shape);
    return check.includes(i) ? requireGrad(t) : t;
  });
  const out = gpuFn(...tensors);
  const expected = refFn(inputs);
  const rand = lcg(options.seed ?? 12345);
  const up = arr(expected.shape, expected.data.map(() => rand() * 2 - 1));
  const upT = fromArray(Float32Array.from(up.data), up.shape);
  const got = await out.data();
  backward(out, upT);
  const gradErrors: number[] = [];
  for (let i = 0; i < inputs.length; i++) {
    if (!check.includes(i)) {
      gradErrors.push(0);
      continue;
    }
    const num = numericGrad(refFn, inputs, i, up, options.eps ?? 1e-6);
    const g = tensors[i].grad;
    const gd = g ? await g.data() : new Float32Array(num.data.length);
    gradErrors.push(relativeError(gd, num.data));
  }
  for (const t of [...tensors, out, upT]) t.dispose();
  await getRuntime().checkErrors();
  return { forwardError: relativeError(got, expected.data), gradErrors };
}
