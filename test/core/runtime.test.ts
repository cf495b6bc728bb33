import { describe, expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { sizeClass } from '../../src/gpu/pool.js';
import { grid, GpuError } from '../../src/gpu/runtime.js';
import { noAdapterHelp } from '../../src/gpu/device.js';
import { fromArray, zeros, full, add, memory, getRuntime, scope } from '../../src/index.js';

describe('gpu runtime', () => {
  it('reports the adapter: name, features, limits', async () => {
    const rt = await engine();
    expect(rt.report.name.length).toBeGreaterThan(0);
    expect(rt.report.runtime).toBe('node');
    expect(rt.report.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(rt.report.features)).toBe(true);
  });

  it('explains how to get an adapter on Linux with the exact install command', () => {
    const help = noAdapterHelp();
    expect(help).toContain('bookworm-backports');
    expect(help).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1');
  });

  it('rounds sizes to classes with at most a fifth of slack', () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(256)).toBe(256);
    for (const n of [257, 1000, 4097, 123_457, 10_000_001]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c).toBeLessThanOrEqual(n * 1.25 + 256);
    }
  });

  it('splits large workgroup counts into a 2D grid within the limit', () => {
    expect(grid(10)).toEqual([10, 1, 1]);
    const [x, y] = grid(200_000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_000);
  });

  it('reuses pooled buffers: a repeated computation allocates nothing new', async () => {
    const rt = await engine();
    const a = fromArray(new Float32Array(1000).fill(1));
    const step = () => scope(() => add(add(a, a), a));
    (await step().data(), undefined);
    const before = rt.poolStats();
    for (let i = 0; i < 5; i++) {
      const r = step();
      await r.data();
      r.dispose();
    }
    const after = rt.poolStats();
    expect(after.allocatedBytes).toBeLessThanOrEqual(before.allocatedBytes + 4096);
    expect(after.hits).toBeGreaterThan(before.hits);
    a.dispose();
  });

  it('batches many dispatches into one submit, flushed by the readback', async () => {
    const rt = await engine();
    await rt.sync();
    const start = rt.counters();
    const x = full([64], 2); // a fill dispatch (zeros would be the encoder's clear, not a dispatch)
    let y = x;
    for (let i = 0; i < 50; i++) {
      const next = add(y, 1);
      if (y !== x) y.dispose();
      y = next;
    }
    const data = await y.data();
    const end = rt.counters();
    expect(data[0]).toBe(52);
    expect(end.dispatches - start.dispatches).toBe(51);
    expect(end.submits - start.submits).toBe(1);
    x.dispose();
    y.dispose();
  });

  it('zeros clears a recycled buffer through the encoder, for every dtype', async () => {
    const rt = await engine();
    for (const dtype of ['float32', 'int32', 'uint32'] as const) {
      const n = 1000 + 37;
      // Dirty the pool with a buffer of the same size class first, so a missed clear would show.
      const junk = fromArray(new Float32Array(n).fill(7.5), [n]);
      await junk.data();
      junk.dispose();
      const before = rt.counters();
      const z = zeros([n], dtype);
      const got = await z.data();
      expect(rt.counters().dispatches - before.dispatches).toBe(0);
      expect(rt.counters().clears - before.clears).toBe(1);
      expect(Array.from(got).every((v) => v === 0 && !Object.is(v, -0))).toBe(true);
      z.dispose();
    }
    // -0.0 is not all-zero bits: it goes through the fill kernel and keeps its sign.
    const m = full([5], -0);
    expect(Array.from(await m.data()).every((v) => Object.is(v, -0))).toBe(true);
    m.dispose();
  });

  it('caches pipelines', async () => {
    const rt = await engine();
    const a = fromArray([1, 2, 3]);
    const p1 = rt.pipeline({ name: 'unary-test', code: '@compute @workgroup_size(1) fn main() {}' });
    const p2 = rt.pipeline({ name: 'unary-test', code: '@compute @workgroup_size(1) fn main() {}' });
    expect(p1).toBe(p2);
    a.dispose();
  });

  it('turns a WebGPU validation error into a thrown error that names the op', async () => {
    const rt = await engine();
    const x = fromArray([1, 2, 3, 4]);
    const broken = { name: 'broken', code: '@group(0) @binding(0) var<storage, read_write> v: array<f32>;\n@compute @workgroup_size(1) fn main() { v[0] = undefined_name; }' };
    rt.dispatch({ op: 'deliberatelyBroken', shader: broken, storage: [x.binding()], workgroups: [1] });
    const err = await x.data().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GpuError);
    expect(String((err as Error).message)).toContain('deliberatelyBroken');
    // The engine keeps working afterwards.
    const y = add(x, 1);
    expect(Array.from(await y.data())).toEqual([2, 3, 4, 5]);
    x.dispose();
    y.dispose();
  });

  it('times each op on the GPU with timestamp queries where the adapter has them', async () => {
    const rt = await engine();
    if (!rt.hasTimestamps) {
      expect(() => rt.setProfiling(true)).toThrow(/timestamp-query/);
      return;
    }
    rt.setProfiling(true);
    const a = fromArray(new Float32Array(4096).fill(2));
    const b = add(a, a);
    await b.data();
    const profile = await rt.profile(true);
    rt.setProfiling(false);
    const row = profile.find((r) => r.op === 'add');
    expect(row?.count).toBe(1);
    expect(row!.ms).toBeGreaterThanOrEqual(0);
    // The kernel its plan chose: the vec4 form (4096 floats) made for add from its op-table entry.
    expect(row!.kernels).toEqual([{ kernel: 'binary_vec4_add', count: 1, ms: row!.ms }]);
    a.dispose();
    b.dispose();
  });

  it('reports memory statistics', async () => {
    await engine();
    const m0 = memory();
    const t = zeros([100]);
    const m1 = memory();
    expect(m1.liveTensors).toBe(m0.liveTensors + 1);
    expect(m1.inUseBytes).toBeGreaterThan(m0.inUseBytes);
    t.dispose();
    expect(memory().liveTensors).toBe(m0.liveTensors);
    expect(getRuntime()).toBeDefined();
  });
});
