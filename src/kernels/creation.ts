/** Tensors made on the GPU: constants, ranges, and counter-based random numbers. */
import fillWgsl from '../../shaders/fill.wgsl';
import randomWgsl from '../../shaders/random.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, type DType, type Shape, type Tensor } from '../tensor/tensor.js';
import { defineKernel } from './define.js';
import { WG } from './util.js';

const FILL = defineKernel({
  name: 'fill',
  params: { n: 'u32', bits: 'u32', start: 'f32', step: 'f32' },
  storage: { out: 'read_write array<u32>' },
  constants: { MODE: 0, WG: 256 },
  code: fillWgsl,
});
/** The generator's seed and first counter (offset), each as two u32 words: see shaders/random.wgsl. */
const RANDOM = defineKernel({
  name: 'random',
  params: { n: 'u32', seed_lo: 'u32', seed_hi: 'u32', offset_lo: 'u32', offset_hi: 'u32', a: 'f32', b: 'f32' },
  storage: { out: 'read_write array<f32>' },
  constants: { DIST: 0, WG: 256 },
  code: randomWgsl,
});

export function fillKernel(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const out = empty(shape, dtype, 'fill');
  const word = new ArrayBuffer(4);
  if (dtype === 'float32') new Float32Array(word)[0] = value;
  else if (dtype === 'int32') new Int32Array(word)[0] = value;
  else new Uint32Array(word)[0] = value;
  if (out.size === 0) return out;
  if (new Uint32Array(word)[0] === 0) {
    // A word of zero bits (0 in every dtype; -0.0 has its sign bit set): the encoder's clear.
    clearTensor(out, 'fill');
    return out;
  }
  FILL.dispatch({
    op: 'fill',
    constants: { MODE: 0, WG },
    params: { n: out.size, bits: new Uint32Array(word)[0], start: 0, step: 0 },
    storage: { out: out.binding('fill') },
    workgroups: grid(Math.ceil(out.size / WG)),
  });
  return out;
}

/** Zeroes `t` in place with the encoder's clear (runtime.clear): a memset, no dispatch. */
export function clearTensor(t: Tensor, op = 'clear'): void {
  if (t.byteLength === 0) return;
  const b = t.binding(op);
  getRuntime().clear(b.buffer, b.offset, t.byteLength, op);
}

/** A new tensor of zeros. */
export function zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
  return fillKernel(shape, 0, dtype);
}

/** A new tensor of ones. */
export function ones(shape: Shape, dtype: DType = 'float32'): Tensor {
  return fillKernel(shape, 1, dtype);
}

/** A new tensor with every element `value`. */
export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  return fillKernel(shape, value, dtype);
}

/** start, start + step, ... for `count` elements (float32, or int32 for integer arguments with dtype 'int32'). */
export function arange(count: number, start = 0, step = 1, dtype: 'float32' | 'int32' = 'float32'): Tensor {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`arange: count must be a non-negative integer, got ${count}`);
  const out = empty([count], dtype, 'arange');
  if (count === 0) return out;
  FILL.dispatch({
    op: 'arange',
    constants: { MODE: dtype === 'int32' ? 2 : 1, WG },
    params: { n: count, bits: 0, start, step },
    storage: { out: out.binding('arange') },
    workgroups: grid(Math.ceil(count / WG)),
  });
  return out;
}

/**
 * A counter-based random generator (Philox4x32-10 on the GPU). Its whole state is (seed, offset): every
 * draw of n numbers uses the counters offset .. offset + ceil(n/4) - 1 and advances offset past them, so a
 * run restored from (seed, offset) continues with exactly the same numbers.
 */
export class Generator {
  constructor(
    /** The key of the generator: another seed gives independent numbers. */
    public seed: number,
    /** The next unused counter (advances with every draw). */
    public offset = 0,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`Generator: seed must be a non-negative integer, got ${seed}`);
  }

  /** The whole state, for checkpoints. */
  state(): {
    /** The seed. */
    seed: number;
    /** The next unused counter. */
    offset: number;
  } {
    return { seed: this.seed, offset: this.offset };
  }

  /** Restores a state from {@link Generator.state}. */
  setState(s: { seed: number; offset: number }): void {
    this.seed = s.seed;
    this.offset = s.offset;
  }

  /** Reserves counters for n numbers; returns the first counter. */
  take(n: number): number {
    const start = this.offset;
    this.offset += Math.ceil(n / 4);
    return start;
  }

  /** Uniform numbers in [low, high). */
  uniform(shape: Shape, low = 0, high = 1): Tensor {
    return randomKernel(shape, 0, low, high, this);
  }

  /** Normal numbers with this mean and standard deviation (Box-Muller). */
  normal(shape: Shape, mean = 0, std = 1): Tensor {
    return randomKernel(shape, 1, mean, std, this);
  }
}

function randomKernel(shape: Shape, dist: 0 | 1, a: number, b: number, gen: Generator): Tensor {
  const out = empty(shape, 'float32', dist ? 'normal' : 'uniform');
  if (out.size === 0) return out;
  const offset = gen.take(out.size);
  const seed = gen.seed;
  RANDOM.dispatch({
    op: dist ? 'normal' : 'uniform',
    constants: { DIST: dist, WG },
    params: {
      n: out.size,
      seed_lo: seed % 2 ** 32,
      seed_hi: Math.floor(seed / 2 ** 32),
      offset_lo: offset % 2 ** 32,
      offset_hi: Math.floor(offset / 2 ** 32),
      a,
      b,
    },
    storage: { out: out.binding('random') },
    workgroups: grid(Math.ceil(out.size / 4 / WG)),
  });
  return out;
}

/** Uniform numbers in [low, high) from a one-off generator with this seed. */
export function uniform(shape: Shape, seed: number, low = 0, high = 1): Tensor {
  return new Generator(seed).uniform(shape, low, high);
}

/** Normal numbers from a one-off generator with this seed. */
export function normal(shape: Shape, seed: number, mean = 0, std = 1): Tensor {
  return new Generator(seed).normal(shape, mean, std);
}
