/**
 * Step capture and replay (src/capture/capture.ts): a replayed step gives bit-identical results to the
 * same step run eagerly (ResNet-18 with SGD, BYOL with LARS, AdamW), rebinds its inputs, reads its
 * StepValues afresh, records again on a new shape, under other kernel overrides or when a buffer it binds is
 * released, allocates nothing per dispatch, and keeps its buffers away from eager work between replays.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { add, matmul, mean, mul, square, sub } from '../../src/autograd/ops.js';
import { Byol } from '../../src/byol/model.js';
import { byolStep } from '../../src/byol/step.js';
import { classifierStep } from '../../src/nn/train-step.js';
import { ByolAugment } from '../../src/byol/augment.js';
import { presetConfig } from '../../src/byol/config.js';
import { Generator, uniform, zeros } from '../../src/kernels/creation.js';
import { flattenParameters } from '../../src/nn/flat.js';
import { Linear } from '../../src/nn/layers.js';
import { Module } from '../../src/nn/module.js';
import { AdamW, LARS, SGD } from '../../src/nn/optim.js';
import { resnet18, type ResNet } from '../../src/nn/resnet.js';
import { captureStep, perStep, StepValue, type CaptureOptions } from '../../src/capture/capture.js';
import { axpyInPlace } from '../../src/kernels/elementwise.js';
import { getRuntime, memory, scope } from '../../src/tensor/engine.js';
import { empty, fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { hoistClears, type Command } from '../../src/capture/record.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { engine, rand, seedNote } from '../helpers.js';

beforeAll(engine);

/** Every parameter, buffer and counter of a module, as raw bits. */
async function stateBits(m: Module): Promise<Map<string, Uint32Array | number>> {
  const out = new Map<string, Uint32Array | number>();
  for (const { name, param } of m.namedParameters()) out.set(name, new Uint32Array((await param.value.data()).buffer));
  for (const { name, buffer } of m.namedBuffers()) {
    if ('data' in buffer) out.set(name, new Uint32Array(((await (buffer as Tensor).data()) as Float32Array).buffer));
    else out.set(name, (buffer as { value: number }).value);
  }
  return out;
}

function expectSameBits(a: Map<string, Uint32Array | number>, b: Map<string, Uint32Array | number>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    if (typeof va === 'number') expect(vb, name).toBe(va);
    else {
      const wb = vb as Uint32Array;
      let diff = -1;
      for (let i = 0; i < va.length; i++) if (va[i] !== wb[i]) { diff = i; break; }
      expect(diff, `${name}: first differing element ${seedNote}`).toBe(-1);
    }
  }
}

/** Eager work between steps that takes and gives back pooled buffers of many sizes. */
function churn(): void {
  scope(() => {
    for (const n of [7, 64, 300, 2048]) {
      const a = uniform([n, 8], 1000 + n);
      add(matmul(a, uniform([8, n], 2000 + n)), uniform([n, n], 3000 + n));
    }
  });
}

describe('captured ResNet-18 step with SGD', () => {
  it('gives bit-identical weights, statistics, momentum and losses to the eager step over 20 steps', async () => {
    const batch = 2;
    const inputs = [0, 1, 2].map((k) => ({
      x: fromArray(Float32Array.from({ length: batch * 3 * 32 * 32 }, () => 2 * rand() - 1), [batch, 3, 32, 32]),
      y: fromArray(Int32Array.from({ length: batch }, () => Math.floor(rand() * 10)), [batch], 'int32'),
      k,
    }));
    const train = async (capture: boolean) => {
      const model: ResNet = resnet18({ numClasses: 10, generator: new Generator(5) });
      flattenParameters(model);
      model.train(true);
      const opt = new SGD(model, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
      // The experiment's own classifier step (without augmentation).
      const step = classifierStep(model, opt, { replay: capture });
      const losses: number[] = [];
      const ahead0 = getRuntime().counters().encodedAhead;
      for (let i = 0; i < 20; i++) {
        const b = inputs[i % 3]!;
        const loss = step.run([b.x, b.y], { lr: 0.05 * (1 - i / 25) });
        losses.push(await loss.item());
        loss.dispose();
        churn();
      }
      const bits = await stateBits(model);
      const momentum = new Uint32Array((await opt.stateTensors()).flatMap((t) => [...new Uint32Array(t.data.buffer)]));
      const stats = { ...step.stats, stepCount: opt.stepCount, ahead: getRuntime().counters().encodedAhead - ahead0 };
      step.dispose();
      opt.dispose();
      model.dispose();
      return { losses, bits, momentum, stats };
    };
    const eager = await train(false);
    const replayed = await train(true);
    expect(eager.stats).toMatchObject({ eager: 20, recorded: 0, replayed: 0, stepCount: 20 });
    // Every replay after a wait on the loss submitted commands encoded ahead, during that wait.
    expect(replayed.stats).toMatchObject({ eager: 1, recorded: 1, replayed: 18, stepCount: 20, ahead: 18 });
    expect(replayed.losses).toEqual(eager.losses);
    expectSameBits(eager.bits, replayed.bits);
    expect(replayed.momentum.length).toBe(eager.momentum.length);
    expect(replayed.momentum.every((v, i) => v === eager.momentum[i])).toBe(true);
    // The weights moved: the comparison is not of two untouched models.
    expect(new Set(eager.losses).size).toBeGreaterThan(10);
    for (const b of inputs) (b.x.dispose(), b.y.dispose());
  }, 240_000);
});

describe('captured BYOL step with LARS', () => {
  it('gives bit-identical online and target networks to the eager step over 20 steps (views, lr and τ change every step)', async () => {
    const base = presetConfig('smoke');
    const config = { ...base, width: 8, batch: 4, imageSize: 16, byol: { ...base.byol, projectorHidden: 32, predictorHidden: 32, projectionDim: 16 } };
    const n = config.batch;
    const batches = [0, 1].map(() => fromArray(Uint32Array.from({ length: (n * 3 * 20 * 20) / 4 }, () => Math.floor(rand() * 2 ** 32)), undefined, 'uint32'));
    const train = async (capture: boolean) => {
      const byol = Byol.create(config, 3);
      byol.train(true);
      const opt = new LARS(byol.online, { lr: 0.1, weightDecay: 1.5e-6 });
      const aug = new ByolAugment({ size: 16 }, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
      // The experiment's own step.
      const step = byolStep(byol, opt, aug, { c: 3, h: 20, w: 20 }, { seed: 11, replay: capture });
      const losses: number[] = [];
      const ahead0 = getRuntime().counters().encodedAhead;
      for (let i = 0; i < 20; i++) {
        const loss = step.run([batches[i % 2]!], { lr: 0.1 + 0.01 * i, tau: 0.9 + 0.004 * i, step: i });
        losses.push(await loss.item());
        loss.dispose();
        churn();
      }
      const online = await stateBits(byol.online);
      const target = await stateBits(byol.target);
      const stats = { ...step.stats, ahead: getRuntime().counters().encodedAhead - ahead0 };
      step.dispose();
      opt.dispose();
      byol.dispose();
      return { losses, online, target, stats };
    };
    const eager = await train(false);
    const replayed = await train(true);
    expect(replayed.stats).toMatchObject({ eager: 1, recorded: 1, replayed: 18, ahead: 18 });
    expect(replayed.losses).toEqual(eager.losses);
    expectSameBits(eager.online, replayed.online);
    expectSameBits(eager.target, replayed.target);
    expect(new Set(eager.losses).size).toBeGreaterThan(10);
    for (const b of batches) b.dispose();
  }, 240_000);
});

class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(gen: Generator) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(13, 24, { generator: gen }));
    this.fc2 = this.registerModule('fc2', new Linear(24, 5, { generator: gen }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x));
  }
}

/** A captured regression step of `m`: zeroGrad, mean squared error against the second input, backward, step. */
function mseStep(m: Mlp, opt: AdamW | SGD, options: CaptureOptions = {}) {
  return captureStep(([xi, ti], { lr }) => {
    opt.zeroGrad();
    const loss = mean(square(sub(m.forward(xi!), ti!)));
    backward(loss);
    opt.step(lr);
    return loss;
  }, options);
}

describe('captureStep', () => {
  it('replays AdamW bit-identically, with its bias corrections recomputed every step', async () => {
    const x = fromArray(Float32Array.from({ length: 9 * 13 }, () => rand() - 0.5), [9, 13]);
    const t = fromArray(Float32Array.from({ length: 9 * 5 }, () => rand() - 0.5), [9, 5]);
    const run = async (capture: boolean) => {
      const m = new Mlp(new Generator(1));
      flattenParameters(m);
      const opt = new AdamW(m, { lr: 1e-2 });
      const step = mseStep(m, opt, { replay: capture });
      for (let i = 0; i < 12; i++) step.run([x, t], { lr: 1e-2 / (1 + i) }).dispose();
      const bits = await stateBits(m);
      const st = { ...step.stats, count: opt.stepCount };
      step.dispose();
      opt.dispose();
      m.dispose();
      return { bits, st };
    };
    const a = await run(false);
    const b = await run(true);
    expect(b.st).toMatchObject({ replayed: 10, count: 12 });
    expectSameBits(a.bits, b.bits);
  });

  it('takes host data as inputs: the same results as tensors, no tensor left behind, bad data refused', async () => {
    const xs = [0, 1, 2].map(() => Float32Array.from({ length: 9 * 13 }, () => rand() - 0.5));
    const ts = [0, 1, 2].map(() => Float32Array.from({ length: 9 * 5 }, () => rand() - 0.5));
    const run = async (host: boolean) => {
      const m = new Mlp(new Generator(2));
      flattenParameters(m);
      const opt = new SGD(m, { lr: 0.05, momentum: 0.9 });
      const step = mseStep(m, opt);
      const losses: number[] = [];
      const live: number[] = [];
      for (let i = 0; i < 9; i++) {
        const [x, t] = [xs[i % 3]!, ts[i % 3]!];
        if (host) {
          const loss = step.run([{ data: x, shape: [9, 13] }, { data: t, shape: [9, 5] }], { lr: 0.05 });
          losses.push(await loss.item());
          loss.dispose();
        } else {
          const [xt, tt] = [fromArray(x, [9, 13]), fromArray(t, [9, 5])];
          const loss = step.run([xt, tt], { lr: 0.05 });
          losses.push(await loss.item());
          for (const u of [loss, xt, tt]) u.dispose();
        }
        live.push(memory().liveTensors);
      }
      const bits = await stateBits(m);
      const stats = { ...step.stats };
      if (host) {
        expect(() => step.run([{ data: xs[0]!, shape: [9, 12] }, { data: ts[0]!, shape: [9, 5] }])).toThrow(/input 0 has 117 values for shape \[9, 12\] \(108 elements\)/);
        expect(() => step.run([{ data: [1, 2] as unknown as Float32Array, shape: [2] }])).toThrow(/input 0 must be a tensor or \{ data, shape \}/);
      }
      step.dispose();
      opt.dispose();
      m.dispose();
      return { losses, bits, stats, live };
    };
    const viaTensors = await run(false);
    const viaHost = await run(true);
    expect(viaHost.stats).toMatchObject({ eager: 1, recorded: 1, replayed: 7 });
    expect(viaHost.losses).toEqual(viaTensors.losses);
    expectSameBits(viaTensors.bits, viaHost.bits);
    // Replays from host data make no tensors: the count of live tensors stays put.
    expect(new Set(viaHost.live.slice(2)).size).toBe(1);
  });

  it('encodes a replay ahead while the host waits: the same bits, eager work and input copies before it, none for a loop that never waits or a dropped record', async () => {
    const xs = [0, 1, 2].map((k) => uniform([9, 13], 40 + k));
    const t = uniform([9, 5], 50);
    const rt = getRuntime();
    const run = async (mode: 'eager' | 'inline' | 'ahead' | 'host') => {
      const m = new Mlp(new Generator(3));
      flattenParameters(m);
      const opt = new SGD(m, { lr: 0.05, momentum: 0.9 });
      const step = mseStep(m, opt, { replay: mode !== 'eager', ahead: mode !== 'inline' });
      const ahead0 = rt.counters().encodedAhead;
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        let loss: Tensor;
        if (mode === 'host') {
          const x = (await add(xs[i % 3]!, i).data()) as Float32Array;
          loss = step.run([{ data: x, shape: [9, 13] }, { data: (await t.data()) as Float32Array, shape: [9, 5] }], { lr: 0.05 / (i + 1) });
        } else {
          // The input is made by eager work still in the open batch: it must run before the replay's commands.
          const x = add(xs[i % 3]!, i);
          loss = step.run([x, t], { lr: 0.05 / (i + 1) });
          x.dispose();
        }
        losses.push(await loss.item());
        loss.dispose();
      }
      const ahead = rt.counters().encodedAhead - ahead0;
      const bits = await stateBits(m);
      const out = { losses, bits, ahead, stats: { ...step.stats } };
      step.dispose();
      opt.dispose();
      m.dispose();
      return out;
    };
    const eager = await run('eager');
    for (const mode of ['inline', 'ahead', 'host'] as const) {
      const r = await run(mode);
      expect(r.stats, mode).toMatchObject({ eager: 1, recorded: 1, replayed: 6 });
      expect(r.ahead, mode).toBe(mode === 'inline' ? 0 : 6);
      expect(r.losses, mode).toEqual(eager.losses);
      expectSameBits(eager.bits, r.bits);
    }

    // A loop that never yields to the event loop encodes on the step's path: nothing is encoded ahead.
    let w = uniform([13, 4], 60);
    const step = captureStep(([x]) => matmul(x!, w));
    const before = rt.counters().encodedAhead;
    const outs = [0, 1, 2, 3].map(() => step.run([xs[0]!]));
    expect(rt.counters().encodedAhead).toBe(before);
    for (const o of outs) expect(await o.data()).toEqual(await matmul(xs[0]!, w).data());
    // After that wait the next replay is encoded ahead ...
    step.run([xs[0]!]).dispose();
    expect(rt.counters().encodedAhead).toBe(before + 1);
    await rt.sync();
    // ... and when its record is dropped (a buffer it binds was released), what was encoded for it is not sent.
    w.dispose();
    w = uniform([13, 4], 61);
    churn();
    expect(await step.run([xs[0]!]).data()).toEqual(await matmul(xs[0]!, w).data()); // eager, checked
    expect(await step.run([xs[0]!]).data()).toEqual(await matmul(xs[0]!, w).data()); // recorded again
    expect(step.stats.recorded).toBe(2);
    expect(rt.counters().encodedAhead).toBe(before + 1);
    await rt.sync();
    expect(await step.run([xs[0]!]).data()).toEqual(await matmul(xs[0]!, w).data());
    expect(rt.counters().encodedAhead).toBe(before + 2);
    step.dispose();
    await rt.sync();
    for (const x of [...xs, t, w]) x.dispose();
  });

  it('records again for another input shape, and replays each shape from its own record', async () => {
    const w = requireGrad(uniform([6, 3], 4));
    const step = captureStep(([x]) => matmul(x!, w));
    const x4 = uniform([4, 6], 5);
    const x7 = uniform([7, 6], 6);
    const want4 = await matmul(x4, w).data();
    const want7 = await matmul(x7, w).data();
    for (let i = 0; i < 3; i++) {
      expect(await step.run([x4]).data()).toEqual(want4);
      expect(await step.run([x7]).data()).toEqual(want7);
    }
    expect(step.stats).toEqual({ eager: 2, recorded: 2, replayed: 2 });
    expect(step.records).toBe(2);
    step.dispose();
  });

  it('records again under other kernel overrides, and replays each from its own record', async () => {
    const w = uniform([37, 45], 4);
    const x = uniform([29, 37], 5);
    const step = captureStep(([x]) => matmul(x!, w));
    const tiled = { matmul: { kernel: 'tile' } } as const;
    const want = await matmul(x, w).data();
    const wantTiled = await withKernelOverrides(tiled, () => matmul(x, w)).data();
    for (let i = 0; i < 3; i++) {
      expect(await step.run([x]).data()).toEqual(want);
      expect(await withKernelOverrides(tiled, () => step.run([x])).data()).toEqual(wantTiled);
    }
    expect(step.stats).toEqual({ eager: 2, recorded: 2, replayed: 2 });
    expect(step.records).toBe(2);
    step.dispose();
  });

  it('reads a StepValue afresh on every replay, remakes perStep uploads, and rebinds its inputs', async () => {
    const step = captureStep(([x], { s }) => {
      // s·x through a parameter block (axpy: y ← α·y + β·x from y = 0) ...
      const ax = zeros(x!.shape);
      axpyInPlace(ax, x!, 1, s!);
      // ... and through an upload made by a perStep hook.
      const sv = empty([1]);
      perStep(() => getRuntime().upload(sv.storage.buffer, sv.byteOffset, Float32Array.of(s!.value + 1)));
      return [ax, mul(x!, sv)];
    });
    const xs = [1, 2, 3].map((k) => fromArray(Float32Array.from({ length: 5 }, (_, i) => k * (i + 1) + 0.1), [5]));
    for (let i = 0; i < 6; i++) {
      const s = 0.3 + i;
      const [ax, bx] = step.run([xs[i % 3]!], { s }) as Tensor[];
      const x = await xs[i % 3]!.data();
      expect(Array.from(await ax!.data())).toEqual(Array.from(x, (v) => Math.fround(Math.fround(s) * v)));
      expect(Array.from(await bx!.data())).toEqual(Array.from(x, (v) => Math.fround(Math.fround(s + 1) * v)));
    }
    expect(step.stats.replayed).toBe(4);
    step.dispose();
  });

  it('drops its record when a buffer it binds without owning is released, and records again', async () => {
    let w = uniform([3, 3], 1);
    const step = captureStep(([x]) => matmul(x!, w));
    const x = uniform([2, 3], 2);
    for (let i = 0; i < 3; i++) step.run([x]).dispose();
    expect(step.stats.replayed).toBe(1);
    w.dispose();
    w = uniform([3, 3], 9);
    // Eager work now may take w's old buffer: a replay of the old record would read it.
    churn();
    // The record is dropped: one eager call (checked against, as before the first recording), then the new record, then its replay.
    expect(await step.run([x]).data()).toEqual(await matmul(x, w).data());
    expect(step.stats).toEqual({ eager: 2, recorded: 1, replayed: 1 });
    expect(await step.run([x]).data()).toEqual(await matmul(x, w).data());
    expect(step.stats.recorded).toBe(2);
    expect(await step.run([x]).data()).toEqual(await matmul(x, w).data());
    expect(step.stats.replayed).toBe(2);
    step.dispose();
  });

  it('makes no bind group, buffer or pipeline per replay', async () => {
    const m = new Mlp(new Generator(2));
    flattenParameters(m);
    const opt = new SGD(m, { lr: 0.1, momentum: 0.9 });
    const x = uniform([8, 13], 3);
    const step = captureStep(([xi], { lr }) => {
      opt.zeroGrad();
      const loss = mean(square(m.forward(xi!)));
      backward(loss);
      opt.step(lr);
      return loss;
    });
    step.run([x], { lr: 0.1 }).dispose();
    step.run([x], { lr: 0.1 }).dispose();
    await getRuntime().sync();
    const device = getRuntime().device;
    const made = { groups: 0, buffers: 0, pipelines: 0 };
    const orig = { g: device.createBindGroup, b: device.createBuffer, p: device.createComputePipeline };
    device.createBindGroup = function (this: GPUDevice, d: GPUBindGroupDescriptor) {
      made.groups++;
      return orig.g.call(this, d);
    };
    device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
      made.buffers++;
      return orig.b.call(this, d);
    };
    device.createComputePipeline = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
      made.pipelines++;
      return orig.p.call(this, d);
    };
    try {
      for (let i = 0; i < 5; i++) step.run([x], { lr: 0.1 / (i + 1) }).dispose();
    } finally {
      Object.assign(device, { createBindGroup: orig.g, createBuffer: orig.b, createComputePipeline: orig.p });
    }
    expect(step.stats.replayed).toBe(5);
    expect(made).toEqual({ groups: 0, buffers: 0, pipelines: 0 });
    step.dispose();
    opt.dispose();
    m.dispose();
  });

  it('refuses to read from the GPU inside a recorded step, naming the fix', async () => {
    let pending: Promise<unknown> | null = null;
    const step = captureStep(([x]) => {
      const y = add(x!, x!);
      pending ??= y.data();
      return y;
    });
    const x = uniform([4], 1);
    step.run([x]).dispose(); // warm-up: eager, reads fine
    await pending;
    pending = null;
    step.run([x]).dispose(); // recorded
    await expect(pending).rejects.toThrow(/cannot read from the GPU; return the tensor/);
    step.dispose();
  });

  it('refuses to record a step whose kernel parameter changed from the call before without a StepValue, naming the op', async () => {
    let k = 0;
    const step = captureStep(([x], { s }) => {
      const y = zeros(x!.shape);
      axpyInPlace(y, x!, 1, s!); // declared: a StepValue
      axpyInPlace(y, x!, 1, 0.5 + k++, 'forgotten'); // a plain number that changes every call
      return y;
    });
    const x = uniform([6], 3);
    const y0 = step.run([x], { s: 1 }); // warm-up: eager, its parameters kept
    expect(Array.from(await y0.data())).toEqual(Array.from(await x.data(), (v) => Math.fround(Math.fround(1.5) * v)));
    y0.dispose();
    expect(() => step.run([x], { s: 2 })).toThrow(/forgotten: parameter word \d+ .*StepValue/);
    expect(step.records).toBe(0);
    // The same step with the number held still records and replays.
    const steady = captureStep(([x], { s }) => {
      const y = zeros(x!.shape);
      axpyInPlace(y, x!, 1, s!);
      axpyInPlace(y, x!, 1, 0.5, 'steady');
      return y;
    });
    for (let i = 0; i < 4; i++) steady.run([x], { s: i }).dispose();
    expect(steady.stats).toEqual({ eager: 1, recorded: 1, replayed: 2 });
    step.dispose();
    steady.dispose();
  });

  it('refuses a StepValue made while the step is recorded, and replays a derived one afresh', async () => {
    const made = captureStep(([x]) => {
      const y = zeros(x!.shape);
      axpyInPlace(y, x!, 1, new StepValue(2), 'inline'); // its value would be fixed in every replay
      return y;
    });
    const x = uniform([8], 5);
    made.run([x]).dispose(); // warm-up: eager, allowed
    expect(() => made.run([x])).toThrow(/a StepValue made while step 'step' is recorded would keep its value \(2\)/);
    expect(made.records).toBe(0);
    made.dispose();
    // A derived value made inside the step is read again by each replay.
    const derived = captureStep(([x], { s }) => {
      const y = zeros(x!.shape);
      axpyInPlace(y, x!, 1, StepValue.derived(() => 3 * s!.value));
      return y;
    });
    const xs = Array.from(await x.data());
    for (let i = 1; i <= 4; i++) {
      const y = derived.run([x], { s: i });
      expect(Array.from(await y.data())).toEqual(xs.map((v) => Math.fround(Math.fround(3 * i) * v)));
    }
    expect(derived.stats).toEqual({ eager: 1, recorded: 1, replayed: 2 });
    derived.dispose();
  });

  it('refuses a plain number where a layer needs a per-step value inside a captured step, naming it; takes it in eager code', async () => {
    const m = new Mlp(new Generator(3));
    flattenParameters(m);
    const opt = new SGD(m, { lr: 0.1 });
    const x = fromArray(Float32Array.from({ length: 4 * 13 }, () => rand() - 0.5), [4, 13]);
    const t = fromArray(Float32Array.from({ length: 4 * 5 }, () => rand() - 0.5), [4, 5]);
    const step = captureStep(([xi, ti]) => {
      opt.zeroGrad();
      const loss = mean(square(sub(m.forward(xi!), ti!)));
      backward(loss);
      opt.step(0.05); // a number: fine eagerly, refused while recorded
      return loss;
    });
    step.run([x, t]).dispose();
    expect(opt.stepCount).toBe(1);
    expect(() => step.run([x, t])).toThrow(/SGD\.step: lr: the plain number 0\.05 inside the captured step 'step' would be fixed in every replay/);
    expect(step.records).toBe(0);
    step.dispose();
    opt.dispose();
    for (const v of [m, x, t]) v.dispose();
  });

  it('refuses to record a step whose upload outside perStep changed from the call before', () => {
    let k = 0;
    const step = captureStep(([x]) => {
      const c = fromArray(Float32Array.from([k++]), [1]); // per-step data uploaded outside perStep
      const y = add(x!, c);
      c.dispose();
      return y;
    });
    const x = uniform([1], 2);
    step.run([x]).dispose();
    expect(() => step.run([x])).toThrow(/an upload made outside perStep held other data on the call before than when recorded/);
    expect(step.records).toBe(0);
    step.dispose();
  });
});


describe('hoistClears', () => {
  it('moves a clear to the front only when no earlier command touches its buffer, keeping the clears in order', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((label) => ({ label }) as unknown as GPUBuffer);
    const pipeline = {} as GPUComputePipeline;
    const dispatch = (op: string, ...bufs: GPUBuffer[]): Command => ({
      kind: 'dispatch',
      op,
      pipeline,
      uniform: null,
      patches: [],
      storage: bufs.map((buffer) => ({ buffer, offset: 0, size: 4 })),
      workgroups: [1, 1, 1],
    });
    const clear = (op: string, buffer: GPUBuffer): Command => ({ kind: 'clear', op, buffer, offset: 0, size: 4 });
    const cmds: Command[] = [
      dispatch('k1', a, b),
      clear('zeroGrad', c), // nothing before touches c: to the front
      dispatch('k2', c, b),
      clear('again', b), // b was bound by k1: stays
      { kind: 'copy', op: 'cp', src: a, srcOffset: 0, dst: d, dstOffset: 0, size: 4 },
      clear('late', d), // d was written by the copy: stays
      clear('fresh', { label: 'e' } as unknown as GPUBuffer), // untouched: to the front, after zeroGrad
    ];
    expect(hoistClears(cmds).map((c) => c.op)).toEqual(['zeroGrad', 'fresh', 'k1', 'k2', 'again', 'cp', 'late']);
    // A step whose clears all come first is left as it is.
    expect(hoistClears([clear('x', a), dispatch('k', a)]).map((c) => c.op)).toEqual(['x', 'k']);
  });
});
