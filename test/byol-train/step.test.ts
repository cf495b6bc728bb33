/**
 * One BYOL step against PyTorch (issue 7): the symmetric loss, the LARS update of the online network and the
 * EMA update of the target, on a tiny model (fixture: scripts/make_byol_fixture.py, which uses the model, loss,
 * LARS and EMA of scripts/byol_reference.py).
 *
 * The model is Byol.create's with the small stem, width 4 (32 features) and 32 → 16 → 8 / 8 → 16 → 8 heads; every
 * parameter and buffer of the online network and of the target is overwritten by name with the project's
 * formula (test/nn-modules/formula.ts; the target's entries numbered from 1001 so that it starts away from
 * the online network). Then, in train mode as the experiment's step: loss(v1, v2), backward, LARS step,
 * updateTarget(τ).
 *
 * Compared: the loss; per parameter the update (new − old, computed in float64 from the float32 values) by
 * its norm, sum and first values, and the new value's norm; the batch-norm running statistics and counters
 * of both networks (two train-mode forwards each).
 *
 * Tolerance 1e-3 (relative): both sides compute in float32 with different summation orders (GPU reductions
 * and convolutions here, CPU BLAS/oneDNN in torch), and train-mode batch norm over 4 samples (16 values per
 * channel at layer4) amplifies that rounding to ~1e-5 in the loss and the gradients. A LARS update of an
 * adapted weight has norm lr·η·‖w‖ = 2e-3·‖w‖, so the float32 rounding of the new weight is ~1e-5 of the
 * update. Semantic errors (biased vs unbiased variance, decay on 1-D parameters, a trust ratio without the
 * decay term, τ on the wrong side of the EMA, a loss of mean instead of sum of the two terms) are ≥ 1e-2.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backward } from '../../src/autograd/tape.js';
import { Byol, type ByolNetwork } from '../../src/byol/model.js';
import { presetConfig } from '../../src/byol/config.js';
import { loadModelState } from '../../src/nn/checkpoint.js';
import { Counter, type Module } from '../../src/nn/module.js';
import { LARS } from '../../src/nn/optim.js';
import type { SafeTensor } from '../../src/nn/safetensors.js';
import { getRuntime } from '../../src/tensor/engine.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { engine } from '../helpers.js';
import { hformulaTensor, paramValue } from '../nn-modules/formula.js';

interface UpdateRow {
  name: string;
  size: number;
  norm: number;
  sum: number;
  l1: number;
  head: number[];
  value_norm: number;
}
type BufferRow = { name: string; count: number } | { name: string; norm: number; head: number[] };
interface StepFixture {
  config: { stem: 'small'; width: number; byol: { projectorHidden: number; projectionDim: number; predictorHidden: number } };
  view_shape: number[];
  view_k: [number, number];
  target_k: number;
  lr: number;
  momentum: number;
  weight_decay: number;
  tau: number;
  online_state_names: string[];
  target_state_names: string[];
  loss: number;
  online: UpdateRow[];
  target: UpdateRow[];
  online_buffers: BufferRow[];
  target_buffers: BufferRow[];
}

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/byol/step.json', import.meta.url)), 'utf8')) as StepFixture;
const TOL = 1e-3;
/** Below this fraction of the parameter's norm, an update is rounding noise (the real ones are ≥ 2e-3). */
const ZERO_UPDATE = 1e-4;

/** Every state entry of `module` from the formula, entry i (0-based) numbered k0 + i + 1. */
function setFormula(module: Module, k0: number): void {
  const tensors = new Map<string, SafeTensor>();
  module.stateEntries().forEach(({ name, value }, i) => tensors.set(name, paramValue(name, 'shape' in value ? value.shape : [], k0 + i + 1)));
  loadModelState(module, tensors);
}

async function parameterValues(net: ByolNetwork): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const { name, param } of net.namedParameters()) out.set(name, Float32Array.from(await param.value.data()));
  return out;
}

const rel = (got: number, want: number, scale = Math.abs(want)): number => Math.abs(got - want) / Math.max(scale, 1e-30);

function checkUpdates(what: string, rows: UpdateRow[], before: Map<string, Float32Array>, after: Map<string, Float32Array>): void {
  expect([...after.keys()], `${what} parameter names`).toEqual(rows.map((r) => r.name));
  for (const r of rows) {
    const old = before.get(r.name)!;
    const now = after.get(r.name)!;
    expect(now.length, r.name).toBe(r.size);
    const d = Float64Array.from(now, (v, i) => v - old[i]);
    let n2 = 0;
    let sum = 0;
    let v2 = 0;
    for (let i = 0; i < d.length; i++) {
      n2 += d[i] * d[i];
      sum += d[i];
      v2 += now[i] * now[i];
    }
    if (r.norm < ZERO_UPDATE * r.value_norm) {
      // The bias of a Linear followed by batch norm (projector.0, predictor.0, and projector.3 before
      // predictor.0) has a gradient of exactly zero in real arithmetic: both updates are float32 noise.
      expect(Math.sqrt(n2), `${what} ${r.name}: update (zero in exact arithmetic)`).toBeLessThan(ZERO_UPDATE * r.value_norm);
      continue;
    }
    expect(rel(Math.sqrt(n2), r.norm), `${what} ${r.name}: update norm`).toBeLessThan(TOL);
    // A sum may cancel to nearly zero: its error is measured against the sum of |update|.
    expect(rel(sum, r.sum, r.l1), `${what} ${r.name}: update sum`).toBeLessThan(TOL);
    // First values: error relative to their scale, or to the update's rms when they are tiny.
    const scale = Math.max(...r.head.map(Math.abs), r.norm / Math.sqrt(r.size));
    const err = Math.max(...r.head.map((w, i) => Math.abs(d[i] - w))) / scale;
    expect(err, `${what} ${r.name}: first update values`).toBeLessThan(TOL);
    expect(rel(Math.sqrt(v2), r.value_norm), `${what} ${r.name}: new value norm`).toBeLessThan(TOL);
  }
}

async function checkBuffers(what: string, net: ByolNetwork, rows: BufferRow[]): Promise<void> {
  const buffers = net.namedBuffers();
  expect(buffers.map((b) => b.name), `${what} buffer names`).toEqual(rows.map((r) => r.name));
  for (const [i, r] of rows.entries()) {
    const b = buffers[i].buffer;
    if ('count' in r) {
      expect((b as Counter).value, `${what} ${r.name}`).toBe(r.count);
      continue;
    }
    const v = await (b as Tensor).data();
    let n2 = 0;
    for (const x of v) n2 += x * x;
    expect(rel(Math.sqrt(n2), r.norm), `${what} ${r.name}: norm`).toBeLessThan(TOL);
    const scale = Math.max(...r.head.map(Math.abs));
    expect(Math.max(...r.head.map((w, j) => Math.abs(v[j] - w))) / scale, `${what} ${r.name}: first values`).toBeLessThan(TOL);
  }
}

beforeAll(engine);

describe('one BYOL step matches PyTorch (tiny model)', () => {
  it('loss, LARS update of the online network, EMA update of the target, batch-norm statistics', async () => {
    const byol = Byol.create({ stem: fx.config.stem, width: fx.config.width, byol: { ...presetConfig('smoke').byol, ...fx.config.byol } }, 0);
    expect(byol.online.encoder.featureDim).toBe(8 * fx.config.width);
    expect(byol.online.stateEntries().map((e) => e.name)).toEqual(fx.online_state_names);
    expect(byol.target.stateEntries().map((e) => e.name)).toEqual(fx.target_state_names);
    setFormula(byol.online, 0);
    setFormula(byol.target, fx.target_k);
    byol.train(true);
    const onlineBefore = await parameterValues(byol.online);
    const targetBefore = await parameterValues(byol.target);
    const v1 = hformulaTensor(fx.view_shape, fx.view_k[0]);
    const v2 = hformulaTensor(fx.view_shape, fx.view_k[1]);

    const opt = new LARS(byol.online, { lr: fx.lr, momentum: fx.momentum, weightDecay: fx.weight_decay });
    opt.zeroGrad();
    const loss = byol.loss(v1, v2);
    backward(loss);
    opt.step(fx.lr);
    byol.updateTarget(fx.tau);

    expect(rel(await loss.item(), fx.loss), 'loss').toBeLessThan(TOL);
    checkUpdates('online', fx.online, onlineBefore, await parameterValues(byol.online));
    checkUpdates('target', fx.target, targetBefore, await parameterValues(byol.target));
    await checkBuffers('online', byol.online, fx.online_buffers);
    await checkBuffers('target', byol.target, fx.target_buffers);

    for (const t of [v1, v2, loss]) t.dispose();
    opt.dispose();
    byol.dispose();
    await getRuntime().sync();
  });
});
