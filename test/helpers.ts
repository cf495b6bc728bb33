/** Shared test helpers: one engine per test file, fresh random inputs, float64 comparisons. */
import { init, getRuntime, hasRuntime } from '../src/tensor/engine.js';
import { arr, type Arr } from '../src/autograd/reference.js';
import { fromArray, type Tensor } from '../src/tensor/tensor.js';
import type { GpuRuntime } from '../src/gpu/runtime.js';

export async function engine(): Promise<GpuRuntime> {
  if (hasRuntime()) return getRuntime();
  return init();
}

/**
 * Random numbers for test inputs: a fresh seed every run (printed with failures through `seedNote`), or the
 * one in TEST_SEED to replay a failure.
 */
export const testSeed = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
let state = testSeed >>> 0 || 1;
export function rand(): number {
  // xorshift32
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
}
export const seedNote = `(replay with TEST_SEED=${testSeed})`;

export function randomArr(shape: readonly number[], low = -1, high = 1): Arr {
  const a = arr(shape);
  for (let i = 0; i < a.data.length; i++) a.data[i] = low + (high - low) * rand();
  return a;
}

/** Rounds to float32 so the reference sees exactly what the GPU sees. */
export function f32(a: Arr): Arr {
  return { shape: a.shape, data: Float64Array.from(Float32Array.from(a.data)) };
}

export function toTensor(a: Arr): Tensor {
  return fromArray(Float32Array.from(a.data), a.shape);
}
