/**
 * A fixed-seed numerical self-test that runs the same engine code in the page and in Node: Philox uniform
 * numbers → a matmul, and → a conv2d. The browser test compares the page's arrays with Node's. And the
 * replay test: captured training steps replayed in the page give the eager step's results bit for bit.
 */
import { conv2d, flattenParameters, fromArray, Generator, matmul, resnet18, scope, SGD, uniform, type Module, type Tensor } from '../src/index.js';
import { classifierStep } from '../src/nn/train-step.js';
import { ByolAugment } from '../src/byol/augment.js';
import { presetConfig } from '../src/byol/config.js';
import { byolTraining } from '../src/byol/step.js';

export interface SelfTestResult {
  matmul: { shape: number[]; values: number[] };
  conv2d: { shape: number[]; values: number[] };
}

export async function runSelfTest(): Promise<SelfTestResult> {
  const [mm, cv] = scope(() => {
    const a = uniform([19, 37], 101, -1, 1);
    const b = uniform([37, 23], 102, -1, 1);
    const x = uniform([2, 3, 9, 11], 103, -1, 1);
    const w = uniform([5, 3, 3, 3], 104, -0.5, 0.5);
    const bias = uniform([5], 105, -0.1, 0.1);
    return [matmul(a, b), conv2d(x, w, bias, { stride: 2, padding: 1 })];
  });
  const out: SelfTestResult = {
    matmul: { shape: [...mm.shape], values: Array.from((await mm.data()) as Float32Array) },
    conv2d: { shape: [...cv.shape], values: Array.from((await cv.data()) as Float32Array) },
  };
  mm.dispose();
  cv.dispose();
  return out;
}

export interface ReplayTestResult {
  /** Per workload: whether the replayed run's parameters, buffers and losses equal the eager run's bit for bit. */
  cases: { name: string; identical: boolean; replayed: number; firstDifference: string | null }[];
}

/**
 * Step replay in this page: 20 steps of a narrow ResNet-18 with SGD and of a narrow BYOL with LARS, run eagerly
 * and replayed from their records from the same start, compared bit for bit (test/capture/replay.test.ts
 * does the same in Node at full width).
 */
export async function runReplayTest(): Promise<ReplayTestResult> {
  const bits = async (m: Module) => {
    const out: [string, number[]][] = [];
    for (const { name, param } of m.namedParameters()) out.push([name, Array.from(new Uint32Array((await param.value.data()).buffer))]);
    for (const { name, buffer } of m.namedBuffers()) {
      out.push([name, 'data' in buffer ? Array.from(new Uint32Array(((await (buffer as Tensor).data()) as Float32Array).buffer)) : [(buffer as { value: number }).value]]);
    }
    return out;
  };
  const firstDifference = (a: [string, number[]][], b: [string, number[]][]): string | null => {
    for (let i = 0; i < a.length; i++) {
      const [name, va] = a[i]!;
      const vb = b[i]?.[1] ?? [];
      if (va.length !== vb.length || va.some((v, j) => v !== vb[j])) return name;
    }
    return null;
  };
  const cases: ReplayTestResult['cases'] = [];

  const resnet = async (replay: boolean) => {
    const model = resnet18({ numClasses: 10, width: 8, generator: new Generator(5) });
    flattenParameters(model);
    const opt = new SGD(model, { lr: 0.05, momentum: 0.9 });
    const step = classifierStep(model, opt, { replay });
    const x = uniform([2, 3, 32, 32], 7, -1, 1);
    const y = fromArray(Int32Array.from([3, 8]), [2], 'int32');
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const l = step.run([x, y], { lr: 0.05 / (1 + i) });
      losses.push(await l.item());
      l.dispose();
    }
    const out = { state: [...(await bits(model)), ['losses', losses.map((v) => new Uint32Array(Float32Array.of(v).buffer)[0]!)] as [string, number[]]], replayed: step.stats.replayed };
    step.dispose();
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
    return out;
  };
  const byol = async (replay: boolean) => {
    const base = presetConfig('smoke');
    const config = { ...base, width: 8, byol: { ...base.byol, projectorHidden: 32, predictorHidden: 32, projectionDim: 16 } };
    const aug = new ByolAugment({ size: 16 }, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const { byol: model, step, dispose } = byolTraining(config, { init: 3, seed: 11, augment: aug, image: { c: 3, h: 20, w: 20 }, lr: 0.1, replay });
    const words = Uint32Array.from({ length: (4 * 3 * 20 * 20) / 4 }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0);
    const pixels = fromArray(words, undefined, 'uint32');
    for (let i = 0; i < 20; i++) step.run([pixels], { lr: 0.1 + 0.01 * i, tau: 0.9 + 0.004 * i, step: i }).dispose();
    const out = { state: [...(await bits(model.online)), ...(await bits(model.target))], replayed: step.stats.replayed };
    dispose();
    pixels.dispose();
    return out;
  };
  for (const [name, run] of [
    ['resnet18 (width 8) + SGD', resnet],
    ['byol (width 8) + LARS', byol],
  ] as const) {
    const eager = await run(false);
    const replayed = await run(true);
    const diff = firstDifference(eager.state, replayed.state);
    cases.push({ name, identical: diff === null, replayed: replayed.replayed, firstDifference: diff });
  }
  return { cases };
}
