/**
 * A small seeded pseudo-random generator for everything in the data layer that must be reproducible
 * (shuffles, stratified splits).
 *
 * Generator: xoshiro128** (Blackman and Vigna, 2018), 128 bits of state, 32-bit outputs, period 2^128 − 1.
 * Its state is filled from the seed by splitmix32 (a golden-ratio counter passed through MurmurHash3's
 * fmix32 finaliser), so nearby seeds give unrelated streams and the state is never all zero.
 * Streams for derived purposes (epoch e of a loader seeded s) come from {@link deriveSeed}, which hashes
 * the seed with the extra integers, so any epoch's stream can be produced directly without replaying
 * the earlier ones.
 */

const GOLDEN = 0x9e3779b9;

/** MurmurHash3's 32-bit finaliser: a bijective mix of all 32 bits. */
function fmix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Hashes a seed and further integers in [0, 2^32) (e.g. an epoch number) into a new 32-bit seed. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = fmix32((seed >>> 0) + GOLDEN);
  for (const part of parts) h = fmix32((h ^ fmix32((part >>> 0) + GOLDEN)) + GOLDEN);
  return h;
}

/** xoshiro128** generator. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is taken modulo 2^32. */
  constructor(seed: number) {
    let state = seed >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      state = (state + GOLDEN) >>> 0;
      words.push(fmix32(state));
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32, without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32) || !Number.isInteger(n)) throw new RangeError(`nextInt: bad bound ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<
    T extends {
      /** Elements to shuffle. */
      length: number;
      [i: number]: unknown;
    },
  >(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
