/**
 * The divergence check's counting: NaN and ±Infinity counted per tensor on the GPU against the CPU's count,
 * on fresh random inputs of awkward sizes with finite extremes (the largest float32, denormals, −0) beside
 * them; and the names nonFiniteTensors gives for a model's parameters, buffers and optimizer state.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { countNonFinite } from '../../src/kernels/finite.js';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { flattenParameters } from '../../src/nn/flat.js';
import { MLPHead } from '../../src/nn/mlp.js';
import { SGD } from '../../src/nn/optim.js';
import { nonFiniteTensors } from '../../src/nn/finite.js';
import { Generator } from '../../src/kernels/creation.js';
import type { GpuRuntime } from '../../src/gpu/runtime.js';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await engine();
});

const SPECIAL = [NaN, Infinity, -Infinity];
const EXTREME = [3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.17549435e-38, -0, 0, 1e30];

/** Random values, finite extremes and (with probability `p` each) NaN or ±Infinity. */
function values(n: number, p: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    a[i] = r < p ? SPECIAL[Math.floor(rand() * 3)] : r < 2 * p ? EXTREME[Math.floor(rand() * EXTREME.length)] : (rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 10);
  }
  return a;
}

const cpuCount = (a: Float32Array): number => a.reduce((s, v) => s + (Number.isFinite(v) ? 0 : 1), 0);

describe('countNonFinite', () => {
  it('counts NaN and ±Infinity per tensor as the CPU does, on awkward sizes and views', async () => {
    // Lengths of any kind (read as scalars) and multiples of 4 (read as vec4s), ragged against the groups
    // of four an invocation reads.
    const sizes = [1, 2, 3, 5, 7, 63, 255, 1023, 1025, 4099, 70_001, 300_007, 4, 8, 12, 64, 1028, 65_540, 400_004];
    const arrays = sizes.map((n, k) => values(n, k % 4 === 0 ? 0 : [0.5, 0.01, 1e-5][k % 3]));
    // One non-finite value of a large tensor alone, at its very end: the last invocation's partial group.
    for (const n of [1_000_003, 1_000_004]) arrays.push(Float32Array.from({ length: n }, (_, i) => (i === n - 1 ? -Infinity : i)));
    const tensors: Tensor[] = arrays.map((a) => fromArray(a, [a.length]));
    // A view at an aligned offset into a larger buffer whose other elements are all NaN.
    const align = rt.storageAlignment / 4;
    const host = new Float32Array(3 * align + 10).fill(NaN);
    const inner = values(align + 10, 0.1);
    host.set(inner, align);
    const hostT = fromArray(host, [host.length]);
    const view = hostT.view([inner.length], align * 4);
    const empty = fromArray(new Float32Array(0), [0]);
    const all = [...tensors, view, empty];
    const counts = countNonFinite(all);
    expect(counts.dtype).toBe('uint32');
    const got = Array.from((await counts.data()) as Uint32Array);
    const want = [...arrays, inner, new Float32Array(0)].map(cpuCount);
    expect(got, seedNote).toEqual(want);
    // Tests of this kind are worthless if every input happens to be finite or every one not.
    expect(want.filter((c) => c === 0).length).toBeGreaterThan(0);
    expect(want.filter((c) => c > 0).length).toBeGreaterThan(3);
    for (const t of [...all, hostT, counts]) t.dispose();
  });

  it('refuses non-float tensors, naming the op', () => {
    const i = fromArray(new Int32Array([1, 2]), [2], 'int32');
    expect(() => countNonFinite([i])).toThrow(/countNonFinite: expected float32 tensors, got int32 \[2\]/);
    i.dispose();
  });
});

describe('nonFiniteTensors', () => {
  it('names the parameters, batch-norm statistics and optimizer state that hold NaN or ±Infinity', async () => {
    const head = new MLPHead({ inFeatures: 6, hidden: 10, outFeatures: 3, generator: new Generator(7) });
    const flat = flattenParameters(head);
    const opt = new SGD(head, { lr: 0.1, momentum: 0.9, weightDecay: 0 });
    expect(await nonFiniteTensors(head, opt)).toEqual([]);

    const put = (t: Tensor, at: number, v: number): void => rt.upload(t.storage.buffer, t.byteOffset + 4 * at, new Float32Array([v]));
    // Two non-finite values in the last linear layer's weight, one in the batch norm's running variance.
    const w = flat.segment('3.weight');
    put(flat.params, w.offset + 1, NaN);
    put(flat.params, w.offset + w.size - 1, -Infinity);
    const bn = head.namedBuffers().find((b) => b.name === '1.running_var')!.buffer as Tensor;
    put(bn, 9, Infinity);
    // And one in the momentum of the first layer's bias.
    const b0 = flat.segment('0.bias');
    put(opt.stateBuffers().get('momentum_buffer')!, b0.offset + 4, NaN);
    expect(await nonFiniteTensors(head, opt)).toEqual([
      { name: '3.weight', count: 2 },
      { name: '1.running_var', count: 1 },
      { name: 'optimizer: 0.bias.momentum_buffer', count: 1 },
    ]);
    // Without the optimizer, its state is not looked at.
    expect((await nonFiniteTensors(head)).map((t) => t.name)).toEqual(['3.weight', '1.running_var']);
    opt.dispose();
    head.dispose();
  });
});
