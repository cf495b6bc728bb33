/**
 * The matmul kernels forced one at a time through the `matmul` override `kernel` ('sg': shaders/matmul_sg.wgsl;
 * 'tile': matmul_vec4.wgsl or, where the layout has no whole vec4 rows, matmul.wgsl) against a float64 reference, for every operand layout,
 * batched and broadcast, on fresh random inputs of awkward shapes and of the BYOL head shapes.
 */
import { describe, expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { overridesOf, withKernelOverrides } from '../../src/gpu/overrides.js';
import { matmulKernel, type MatmulOverrides } from '../../src/kernels/matmul.js';
import { subgroupsUsable } from '../../src/kernels/subgroups.js';
import { fromArray } from '../../src/tensor/tensor.js';

function random(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rand() - 1;
  return x;
}

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/**
 * Checks C = op(A)·op(B) for a [...aBatch, M, K] (or [..., K, M] with transA), b [...bBatch, K, N] (or
 * [..., N, K] with transB) against float64, element by element: |got − want| ≤ 1e-5·√K·‖terms‖ where ‖terms‖
 * is the root of Σ_k (a_ik·b_kj)², the size of what the sum rounds.
 */
async function check(
  M: number, N: number, K: number, transA: boolean, transB: boolean,
  aBatch: number[] = [], bBatch: number[] = [],
): Promise<void> {
  const aShape = [...aBatch, ...(transA ? [K, M] : [M, K])];
  const bShape = [...bBatch, ...(transB ? [N, K] : [K, N])];
  const o = overridesOf('matmul');
  const name = `[${aShape}]${transA ? 'ᵀ' : ''}·[${bShape}]${transB ? 'ᵀ' : ''} (${o.kernel ?? 'auto'}${o.ksteps ? `, ${o.ksteps} k` : ''})`;
  const a = random(prod(aShape));
  const b = random(prod(bShape));
  const ta = fromArray(a, aShape);
  const tb = fromArray(b, bShape);
  const c = matmulKernel(ta, tb, transA, transB);
  // Batch shape: the broadcast of both, right-aligned.
  const rank = Math.max(aBatch.length, bBatch.length);
  const pa = [...Array(rank - aBatch.length).fill(1), ...aBatch];
  const pb = [...Array(rank - bBatch.length).fill(1), ...bBatch];
  const batchShape = pa.map((d, i) => Math.max(d, pb[i]));
  expect(c.shape, name).toEqual([...batchShape, M, N]);
  const got = await c.data();
  for (const t of [ta, tb, c]) t.dispose();

  const batch = prod(batchShape);
  let worst = 0;
  let where = '';
  for (let bi = 0; bi < batch; bi++) {
    // Index of this batch element within each operand's own batch (size-1 axes broadcast).
    let ia = 0;
    let ib = 0;
    let rest = bi;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rest % batchShape[d];
      rest = Math.floor(rest / batchShape[d]);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    const ao = ia * M * K;
    const bo = ib * K * N;
    const sum = new Float64Array(N);
    const sq = new Float64Array(N);
    for (let i = 0; i < M; i++) {
      sum.fill(0);
      sq.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[ao + (transA ? k * M + i : i * K + k)];
        for (let j = 0; j < N; j++) {
          const t = av * b[bo + (transB ? j * K + k : k * N + j)];
          sum[j] += t;
          sq[j] += t * t;
        }
      }
      const co = (bi * M + i) * N;
      for (let j = 0; j < N; j++) {
        const err = Math.abs(got[co + j] - sum[j]) / (1e-5 * Math.sqrt(K) * Math.sqrt(sq[j]) + 1e-30);
        if (!(err <= worst)) {
          worst = Number.isNaN(err) ? Infinity : err;
          where = `batch ${bi} row ${i} column ${j}: got ${got[co + j]}, want ${sum[j]}`;
        }
      }
    }
  }
  expect(worst, `${name}: worst error / tolerance at ${where} ${seedNote}`).toBeLessThanOrEqual(1);
}

const LAYOUTS: [string, boolean, boolean][] = [
  ['NN', false, false],
  ['NT', false, true],
  ['TN', true, false],
  ['TT', true, true],
];

/**
 * [M, N, K]: size 1, odd sizes, non-multiples of 4 and 8, and exact tile multiples. Both entries of
 * matmul_sg.wgsl: 'main' (vec4 loads) where each operand's contiguous axis is a multiple of 4, with ragged
 * edges elsewhere ([20, 12, 7] is Aᵀ·B with K = 7, [12, 10, 8] is A·Bᵀ with N = 10), 'ragged' otherwise.
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 7, 5],
  [7, 3, 33],
  [33, 65, 7],
  [65, 130, 3],
  [130, 33, 65],
  [1, 130, 65],
  [130, 1, 7],
  [32, 64, 64],
  [64, 64, 4],
  [36, 20, 12],
  [20, 12, 7],
  [12, 10, 8],
  [100, 44, 36],
];

/** The BYOL projector/predictor heads at batch 64 and the classifier, as the Linear layer runs them. */
const HEADS: [string, number, number, number, boolean, boolean][] = [
  // Forward: x [64, in] · Wᵀ, W [out, in].
  ['head fwd 512→4096', 64, 4096, 512, false, true],
  ['head fwd 4096→256', 64, 256, 4096, false, true],
  ['fc fwd 512→10', 64, 10, 512, false, true],
  // Input gradient: dY [64, out] · W [out, in].
  ['head dx 4096→512', 64, 512, 4096, false, false],
  ['head dx 256→4096', 64, 4096, 256, false, false],
  // Weight gradient: dYᵀ [out, 64] · X [64, in].
  ['head dW [4096, 512]', 4096, 512, 64, true, false],
  ['head dW [256, 4096]', 256, 4096, 64, true, false],
];

/** The kernels forced, with the subgroup kernel's vec4 entry at both of its k steps ('main2' by default, 'main'). */
const KERNELS: [string, MatmulOverrides][] = [
  ['sg', { kernel: 'sg' }],
  ['sg, 4 k per update', { kernel: 'sg', ksteps: 4 }],
  ['tile', { kernel: 'tile' }],
];

for (const [label, overrides] of KERNELS) {
  describe(`matmul kernel '${label}'`, () => {
    /** Runs `fn` with this kernel forced (skipped where subgroups are missing for 'sg'). */
    const use = async (ctx: { skip: (note?: string) => void }, fn: () => Promise<void>) => {
      await engine();
      if (overrides.kernel === 'sg' && !subgroupsUsable()) ctx.skip('the device has no usable subgroups');
      await withKernelOverrides({ matmul: overrides }, fn);
    };

    for (const [layout, ta, tb] of LAYOUTS) {
      it(`${layout} on awkward shapes`, (ctx) => use(ctx, async () => {
        for (const [M, N, K] of SHAPES) await check(M, N, K, ta, tb);
      }));
      it(`${layout} batched, broadcast and expanded`, (ctx) => use(ctx, async () => {
        await check(33, 17, 9, ta, tb, [3], [3]);
        await check(7, 40, 65, ta, tb, [2, 3], []); // b broadcast: batch stride 0
        await check(40, 9, 12, ta, tb, [], [4]); // a broadcast
        await check(5, 12, 31, ta, tb, [2, 1], [1, 3]); // both expanded to [2, 3]
        // Multiples of 4: vec4 loads ('main') with batch strides.
        await check(36, 24, 20, ta, tb, [3], [3]);
        await check(36, 24, 20, ta, tb, [3], [1]);
        await check(4, 44, 8, ta, tb, [], [2, 2]);
      }));
    }

    it('the BYOL head shapes', (ctx) => use(ctx, async () => {
      for (const [, M, N, K, ta, tb] of HEADS) await check(M, N, K, ta, tb);
    }));
  });
}

it("'auto' routes to a kernel that gives the same answer as both forced kernels", async () => {
  await engine();
  const [M, N, K] = [37, 45, 70];
  const a = fromArray(random(M * K), [M, K]);
  const b = fromArray(random(N * K), [N, K]);
  const results: ArrayLike<number>[] = [];
  for (const kernel of [undefined, 'tile', ...(subgroupsUsable() ? ['sg' as const] : [])] as const) {
    const c = withKernelOverrides({ matmul: { kernel } }, () => matmulKernel(a, b, false, true));
    results.push(await c.data());
    c.dispose();
  }
  a.dispose();
  b.dispose();
  // Different kernels sum in different orders: close, and not trivially zero.
  for (const r of results.slice(1)) {
    for (let i = 0; i < r.length; i++) expect(Math.abs(r[i] - results[0][i])).toBeLessThan(1e-4 * Math.sqrt(K));
  }
  expect(Array.from(results[0]).some((v) => Math.abs(v) > 0.5)).toBe(true);
});

it("the subgroup kernel's two vec4 entries ('main2': 2 k per update, 'main': 4) give the same bits", async (ctx) => {
  await engine();
  if (!subgroupsUsable()) ctx.skip('the device has no usable subgroups');
  // K a multiple of 4, so both walk the same k; batches with a broadcast operand; the head shapes.
  const cases: [number, number, number, boolean, boolean, number[], number[]][] = [
    [36, 24, 20, false, false, [3], [3]],
    [36, 24, 20, false, true, [3], [1]],
    [36, 24, 20, true, false, [], [2]],
    [100, 44, 36, true, true, [2], [2]],
    [64, 4096, 512, false, true, [], []],
    [4096, 512, 64, true, false, [], []],
  ];
  for (const [M, N, K, ta, tb, aBatch, bBatch] of cases) {
    const aShape = [...aBatch, ...(ta ? [K, M] : [M, K])];
    const bShape = [...bBatch, ...(tb ? [N, K] : [K, N])];
    const a = fromArray(random(prod(aShape)), aShape);
    const b = fromArray(random(prod(bShape)), bShape);
    const out: Float32Array[] = [];
    for (const ksteps of [2, 4] as const) {
      const c = withKernelOverrides({ matmul: { kernel: 'sg', ksteps } }, () => matmulKernel(a, b, ta, tb));
      out.push(new Float32Array(await c.data()));
      c.dispose();
    }
    a.dispose();
    b.dispose();
    const name = `[${aShape}]${ta ? 'ᵀ' : ''}·[${bShape}]${tb ? 'ᵀ' : ''}`;
    expect(out[0].length, name).toBe(prod(aBatch.length >= bBatch.length ? aBatch : bBatch) * M * N);
    let differ = 0;
    for (let i = 0; i < out[0].length; i++) if (!Object.is(out[0][i], out[1][i])) differ++;
    expect(differ, `${name}: elements whose bits differ between the entries`).toBe(0);
  }
});
