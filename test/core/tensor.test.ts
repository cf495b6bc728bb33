import { describe, expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import {
  arange, fromArray, fromBytes, full, Generator, keep, memory, normal, ones, reshape, scope, uniform, zeros, beginScope, endScope,
} from '../../src/index.js';

/** Philox4x32-10 on the CPU, with BigInt products: the reference for the GPU generator. */
function philox(counter: number[], key: number[]): number[] {
  let c = counter.map((v) => v >>> 0);
  let k = key.map((v) => v >>> 0);
  const mul = (a: number, b: number) => {
    const p = BigInt(a) * BigInt(b);
    return [Number(p >> 32n) >>> 0, Number(p & 0xffffffffn) >>> 0];
  };
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mul(0xd2511f53, c[0]);
    const [hi1, lo1] = mul(0xcd9e8d57, c[2]);
    c = [(hi1 ^ c[1] ^ k[0]) >>> 0, lo1, (hi0 ^ c[3] ^ k[1]) >>> 0, lo0];
    k = [(k[0] + 0x9e3779b9) >>> 0, (k[1] + 0xbb67ae85) >>> 0];
  }
  return c;
}

describe('tensors', () => {
  it('round-trips float32, int32 and uint32 data exactly', async () => {
    await engine();
    const f = Float32Array.from({ length: 37 }, () => rand() * 200 - 100);
    const i = Int32Array.from({ length: 37 }, () => Math.floor(rand() * 2 ** 31) * (rand() < 0.5 ? -1 : 1));
    const u = Uint32Array.from({ length: 37 }, () => Math.floor(rand() * 2 ** 32));
    const tf = fromArray(f, [37]);
    const ti = fromArray(i, [1, 37]);
    const tu = fromArray(u, [37, 1]);
    expect(ti.dtype).toBe('int32');
    expect(tu.dtype).toBe('uint32');
    expect(Array.from(await tf.data())).toEqual(Array.from(f));
    expect(Array.from(await ti.data())).toEqual(Array.from(i));
    expect(Array.from(await tu.data())).toEqual(Array.from(u));
    for (const t of [tf, ti, tu]) t.dispose();
  });

  it('packs bytes four to a word', async () => {
    await engine();
    const bytes = Uint8Array.from({ length: 10 }, (_, k) => k * 20 + 1);
    const t = fromBytes(bytes);
    expect(t.shape).toEqual([3]);
    const words = await t.data();
    expect(Array.from(new Uint8Array(words.buffer).slice(0, 10))).toEqual(Array.from(bytes));
    t.dispose();
  });

  it('rejects data that does not fill the shape, naming both', () => {
    expect(() => fromArray([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => zeros([2, -1])).toThrow(/invalid shape/);
  });

  it('makes constants and ranges on the GPU', async () => {
    await engine();
    const z = zeros([3, 5]);
    const o = ones([7]);
    const v = full([2, 2], -2.5);
    const r = arange(11, 3, 0.5);
    const ri = arange(6, -2, 3, 'int32');
    const zi = zeros([4], 'int32');
    expect(Array.from(await z.data())).toEqual(new Array(15).fill(0));
    expect(Array.from(await o.data())).toEqual(new Array(7).fill(1));
    expect(Array.from(await v.data())).toEqual([-2.5, -2.5, -2.5, -2.5]);
    expect(Array.from(await r.data())).toEqual(Array.from({ length: 11 }, (_, k) => 3 + 0.5 * k));
    expect(Array.from(await ri.data())).toEqual([-2, 1, 4, 7, 10, 13]);
    expect(Array.from(await zi.data())).toEqual([0, 0, 0, 0]);
    for (const t of [z, o, v, r, ri, zi]) t.dispose();
  });

  it('draws uniform numbers that are exactly Philox4x32-10 of (seed, counter)', async () => {
    await engine();
    const seed = Math.floor(rand() * 2 ** 40);
    const n = 1030;
    const t = uniform([n], seed, -3, 5);
    const got = await t.data();
    const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
    for (let i = 0; i < n; i += 97) {
      const words = philox([Math.floor(i / 4), 0, 0, 0], key);
      const unit = (words[i % 4] >>> 8) / 2 ** 24;
      expect(got[i], `element ${i} ${seedNote}`).toBeCloseTo(-3 + 8 * unit, 5);
    }
    t.dispose();
  });

  it('draws uniform and normal numbers with the right moments, reproducibly per seed', async () => {
    await engine();
    const n = 200_003;
    const u = uniform([n], 7);
    const g = normal([n], 7, 2, 3);
    const ud = (await u.data()) as Float32Array;
    const gd = (await g.data()) as Float32Array;
    const m = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const v = (a: Float32Array, mu: number) => a.reduce((s, x) => s + (x - mu) ** 2, 0) / a.length;
    expect(Math.min(...ud.subarray(0, 10000))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ud.subarray(0, 10000))).toBeLessThan(1);
    expect(m(ud)).toBeCloseTo(0.5, 2);
    expect(v(ud, 0.5)).toBeCloseTo(1 / 12, 2);
    expect(m(gd)).toBeCloseTo(2, 1);
    expect(Math.sqrt(v(gd, 2))).toBeCloseTo(3, 1);
    const again = uniform([n], 7);
    expect(Array.from((await again.data()).subarray(0, 100))).toEqual(Array.from(ud.subarray(0, 100)));
    const other = uniform([n], 8);
    expect(Array.from((await other.data()).subarray(0, 100))).not.toEqual(Array.from(ud.subarray(0, 100)));
    for (const t of [u, g, again, other]) t.dispose();
  });

  it('continues a generator exactly from its saved state', async () => {
    await engine();
    const gen = new Generator(99);
    gen.uniform([10]).dispose();
    const state = gen.state();
    const a = gen.normal([21]);
    const restored = new Generator(0);
    restored.setState(state);
    const b = restored.normal([21]);
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    a.dispose();
    b.dispose();
  });

  it('reshapes as a view sharing storage', async () => {
    await engine();
    const t = fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = reshape(t, [3, -1]);
    expect(v.shape).toEqual([3, 2]);
    expect(v.storage).toBe(t.storage);
    t.dispose();
    expect(Array.from(await v.data())).toEqual([1, 2, 3, 4, 5, 6]);
    v.dispose();
    expect(() => reshape(fromArray([1, 2, 3]), [2, 2])).toThrow(/cannot view \[3\]/);
  });

  it('frees every intermediate made in a scope, keeping what it returns', async () => {
    await engine();
    const before = memory();
    const kept = scope(() => {
      const a = ones([100]);
      const b = zeros([100]);
      const c = full([100], 3);
      keep(c);
      void b;
      return { a, list: [c] };
    });
    expect(memory().liveTensors).toBe(before.liveTensors + 2);
    expect(kept.a.disposed).toBe(false);
    kept.a.dispose();
    kept.list[0].dispose();
    expect(memory().liveTensors).toBe(before.liveTensors);
    beginScope();
    zeros([3]);
    endScope();
    expect(memory().liveTensors).toBe(before.liveTensors);
    expect(() => scope(() => Promise.resolve(1) as unknown as number)).toThrow(/synchronous/);
  });

  it('refuses to use a disposed tensor', async () => {
    await engine();
    const t = zeros([2]);
    t.dispose();
    await expect(t.data()).rejects.toThrow(/already disposed/);
  });
});
