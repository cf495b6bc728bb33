/**
 * Optimizers over flat buffers: SGD and AdamW against torch.optim (fixtures), LARS against a float64 reference, EMA,
 * dispatch counts; each update in both of its layouts (the `optim` override `layout`: one vec4 per invocation, or blocks).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { emaUpdate, flattenParameters, type FlatParameters } from '../../src/nn/flat.js';
import { Module } from '../../src/nn/module.js';
import { AdamW, LARS, SGD } from '../../src/nn/optim.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { byolTau, warmupCosine } from '../../src/nn/schedule.js';
import { getRuntime } from '../../src/tensor/engine.js';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { engine, rand, seedNote } from '../helpers.js';
import { loadNnFixture, pformula, relErr } from './formula.js';

beforeAll(engine);

/** A module that only holds parameters (name, shape, values). */
class ParamBag extends Module {
  constructor(specs: [string, number[], Float32Array][]) {
    super();
    for (const [name, shape, values] of specs) this.registerParameter(name, fromArray(values, shape));
  }

  forward(x: Tensor): Tensor {
    return x;
  }
}

function setGrads(flat: FlatParameters, grads: Float32Array[]): void {
  const rt = getRuntime();
  flat.segments.forEach((s, j) => rt.upload(flat.grads.storage.buffer, flat.grads.byteOffset + s.offset * 4, grads[j]));
}

async function paramValues(flat: FlatParameters): Promise<Float32Array[]> {
  const all = new Float32Array((await flat.params.data()).buffer);
  return flat.segments.map((s) => all.slice(s.offset, s.offset + s.size));
}

function dispatchesOf(fn: () => void): number {
  const before = getRuntime().counters().dispatches;
  fn();
  return getRuntime().counters().dispatches - before;
}

interface OptimFixture {
  params: [string, number[], number, number][];
  steps: number;
  cases: { kind: 'SGD' | 'AdamW'; config: Record<string, number | boolean | number[]>; params: number[][][] }[];
}

const LAYOUTS = ['vec4', 'blocks'] as const;

/** Runs `fn` with the updates in `layout`. */
function withLayout(layout: (typeof LAYOUTS)[number], fn: () => Promise<void>): Promise<void> {
  return withKernelOverrides({ optim: { layout } }, fn);
}

describe('SGD and AdamW match torch.optim', () => {
  const fx = loadNnFixture<OptimFixture>('optim.json');
  for (const c of fx.cases) for (const layout of LAYOUTS) {
    it(`${c.kind} ${JSON.stringify(c.config)}, ${layout}`, () => withLayout(layout, async () => {
      const bag = new ParamBag(fx.params.map(([n, s, k, scale]) => [n, s, pformula(s, k, scale)]));
      const flat = flattenParameters(bag);
      const cfg = c.config;
      const opt =
        c.kind === 'SGD'
          ? new SGD(bag, {
              lr: cfg.lr as number,
              momentum: cfg.momentum as number,
              dampening: cfg.dampening as number,
              weightDecay: cfg.weight_decay as number,
              nesterov: cfg.nesterov as boolean,
            })
          : new AdamW(bag, { lr: cfg.lr as number, betas: cfg.betas as [number, number], eps: cfg.eps as number, weightDecay: cfg.weight_decay as number });
      for (let t = 0; t < fx.steps; t++) {
        setGrads(flat, fx.params.map(([, s], j) => pformula(s, 100 + 10 * t + j, 1)));
        expect(dispatchesOf(() => opt.step()), 'one dispatch per step').toBe(1);
        const got = await paramValues(flat);
        got.forEach((g, j) => expect(relErr(g, c.params[t][j]), `step ${t + 1} ${fx.params[j][0]}`).toBeLessThan(1e-5));
      }
      opt.dispose();
      bag.dispose();
    }));
  }
});

/** The LARS rule documented in src/nn/optim.ts, in float64. */
function larsReference(
  w: Float64Array[],
  g: Float64Array[],
  mu: Float64Array[],
  excluded: boolean[],
  frozen: boolean[],
  o: { lr: number; momentum: number; wd: number; eta: number },
): void {
  w.forEach((wj, j) => {
    if (frozen[j]) return;
    const wd = excluded[j] ? 0 : o.wd;
    const u = wj.map((v, i) => g[j][i] + wd * v);
    let wn = 0;
    let un = 0;
    for (let i = 0; i < u.length; i++) {
      wn += wj[i] * wj[i];
      un += u[i] * u[i];
    }
    wn = Math.sqrt(wn);
    un = Math.sqrt(un);
    const q = !excluded[j] && wn > 0 && un > 0 ? (o.eta * wn) / un : 1;
    for (let i = 0; i < u.length; i++) {
      mu[j][i] = o.momentum * mu[j][i] + q * u[i];
      wj[i] -= o.lr * mu[j][i];
    }
  });
}

describe('LARS', () => {
  for (const norms of ['tree', 'sg'] as const) for (const layout of LAYOUTS) {
    it(`matches the float64 reference (segmented norms over several blocks, exclusions, a frozen parameter), ${norms} norms, ${layout} update ${seedNote}`, async (ctx) => {
      if (norms === 'sg' && !getRuntime().device.features.has('subgroups')) ctx.skip();
      await withKernelOverrides({ optim: { larsNorms: norms, layout } }, async () => {
        const specs: [string, number[]][] = [
          ['conv_weight', [7, 3, 3, 3]],
          ['bn_weight', [7]],
          ['bn_bias', [7]],
          ['big_weight', [3, 5001]], // 15003 floats: four blocks of ≤ 4096
          ['frozen_weight', [4, 6]],
          ['zero_weight', [2, 3]], // ‖w‖ = 0: trust ratio 1
        ];
        const randArr = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);
        const sizes = specs.map(([, s]) => s.reduce((a, b) => a * b, 1));
        const w0 = sizes.map((n, j) => (specs[j][0] === 'zero_weight' ? new Float32Array(n) : randArr(n)));
        const bag = new ParamBag(specs.map(([n, s], j) => [n, s, w0[j]]));
        const flat = flattenParameters(bag);
        bag.namedParameters().find((p) => p.name === 'frozen_weight')!.param.requiresGrad = false;
        const o = { lr: 0.3, momentum: 0.9, wd: 1.5e-2, eta: 0.001 };
        const opt = new LARS(bag, { lr: o.lr, momentum: o.momentum, weightDecay: o.wd, eta: o.eta });
        const w = w0.map((a) => Float64Array.from(a));
        const mu = sizes.map((n) => new Float64Array(n));
        const excluded = specs.map(([, s]) => s.length === 1);
        const frozen = specs.map(([n]) => n === 'frozen_weight');
        for (let t = 0; t < 3; t++) {
          const g = sizes.map((n) => randArr(n, 0.5));
          setGrads(flat, g);
          expect(dispatchesOf(() => opt.step()), 'three dispatches: norms, ratios, update').toBe(3);
          larsReference(w, g.map((a) => Float64Array.from(a)), mu, excluded, frozen, o);
          const got = await paramValues(flat);
          got.forEach((a, j) => expect(relErr(a, w[j]), `step ${t + 1} ${specs[j][0]}`).toBeLessThan(1e-5));
          // The update's size relative to the weights is what LARS controls: check it too, where it is tiny.
          const j = 0;
          const moved = got[j].map((v, i) => v - w0[j][i]);
          const want = w[j].map((v, i) => v - w0[j][i]);
          expect(relErr(moved, want), 'conv_weight displacement').toBeLessThan(1e-3);
        }
        expect([...(await paramValues(flat))[4]]).toEqual([...w0[4]]);
        opt.dispose();
        bag.dispose();
      });
    });
  }
});

describe('flat-buffer updates', () => {
  for (const layout of LAYOUTS) {
    it(`zeroGrad is one clear and the EMA update one dispatch; EMA matches τ·target + (1 − τ)·online, ${layout}`, () =>
      withLayout(layout, async () => {
        // 'c' makes the buffer longer than the strided kernel's grid (64 × 64 vec4s), so its loop turns more than once.
        const shapes = [[5, 3], [70], [300, 70]];
        const online = new ParamBag(shapes.map((s, j) => [String.fromCharCode(97 + j), s, pformula(s, j + 1)]));
        flattenParameters(online);
        const target = online.deepCopy();
        // Move the online model away from the target.
        setGrads(online._flat!, shapes.map((s, j) => pformula(s, j + 9)));
        new SGD(online, { lr: 0.5 }).step();
        const on = await paramValues(online._flat!);
        const tg = await paramValues(target._flat!);
        const tau = 0.99;
        expect(dispatchesOf(() => emaUpdate(target, online, tau))).toBe(1);
        const got = await paramValues(target._flat!);
        got.forEach((v, j) => expect(relErr(v, tg[j].map((x, i) => tau * x + (1 - tau) * on[j][i]))).toBeLessThan(1e-6));
        const before = getRuntime().counters();
        online._flat!.zeroGrad();
        const after = getRuntime().counters();
        expect([after.dispatches - before.dispatches, after.clears - before.clears]).toEqual([0, 1]);
        expect([...(await online._flat!.grads.data())].every((v) => v === 0)).toBe(true);
        online.dispose();
        target.dispose();
      }));
  }

  it('EMA accepts a target whose layout is a prefix of the online one, and rejects other layouts', async () => {
    const a = new ParamBag([['w', [3, 3], pformula([3, 3], 1)]]);
    const b = new ParamBag([['w', [3, 3], pformula([3, 3], 2)], ['extra', [4], pformula([4], 3)]]);
    const c = new ParamBag([['w', [9], pformula([9], 4)]]);
    for (const m of [a, b, c]) flattenParameters(m);
    emaUpdate(a, b, 0.5);
    const want = pformula([3, 3], 1).map((v, i) => 0.5 * v + 0.5 * pformula([3, 3], 2)[i]);
    expect(relErr((await paramValues(a._flat!))[0], want)).toBeLessThan(1e-6);
    expect(() => emaUpdate(b, a, 0.5)).toThrow(/layouts differ/);
    expect(() => emaUpdate(a, c, 0.5)).toThrow(/\[3, 3\].*\[9\]/);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('schedules', () => {
  it('linear warm-up then cosine, as a pure function of the step', () => {
    const o = { baseLr: 1, warmupSteps: 10, totalSteps: 110, finalLr: 0.1 };
    expect(warmupCosine(0, o)).toBeCloseTo(0.1, 12);
    expect(warmupCosine(9, o)).toBeCloseTo(1, 12);
    expect(warmupCosine(10, o)).toBeCloseTo(1, 12);
    expect(warmupCosine(60, o)).toBeCloseTo(0.55, 12);
    expect(warmupCosine(110, o)).toBeCloseTo(0.1, 12);
    expect(warmupCosine(500, o)).toBeCloseTo(0.1, 12);
    expect(byolTau(0, 100)).toBeCloseTo(0.996, 12);
    expect(byolTau(100, 100)).toBeCloseTo(1, 12);
    expect(byolTau(50, 100)).toBeCloseTo(0.998, 12);
  });
});
