/**
 * step-host rows: the host's share of a training step, the cost that caps steps per second on a fast GPU
 * whatever the kernels do. Each run starts with the GPU idle (a sync), then times from the start of the step
 * (the batch's upload included) to its last submit, without waiting for the GPU. The same step is measured
 * run eagerly (tape, tensors and parameter blocks built in JavaScript, every dispatch encoded) and replayed
 * from its record (src/tensor/capture.ts); the eager row is the baseline of the same run.
 *
 *  - resnet18 train: torchvision's ResNet-18, 10 classes, batch 64 at 32×32, SGD momentum 0.9
 *    (classifierStep, as the experiment's classifier arms run it, without augmentation).
 *  - resnet18 infer: the same network in eval mode, batch 64, no gradients.
 *  - byol train: the quick preset's BYOL step at batch 32, 32×32 (byolStep, as the experiment runs it:
 *    augmentation of both views, online ×2, target ×2, loss, backward, LARS, EMA).
 *
 * Each row's note gives the dispatches of one step and the host microseconds per dispatch.
 */
import { captureStep, Generator, getRuntime, LARS, noGrad, resnet18, SGD, flattenParameters, type CapturedStep, type Tensor } from '../../src/index.js';
import { classifierStep } from '../../src/nn/train-step.js';
import { ByolAugment } from '../../src/byol/augment.js';
import { presetConfig } from '../../src/byol/config.js';
import { Byol } from '../../src/byol/model.js';
import { byolStep } from '../../src/byol/step.js';
import { registerRows, type BenchRow, type Prepared } from '../registry.js';
import { packedBatch } from './augment.js';
import { resnetInputs, RESNET_BATCH, RESNET_CLASSES, RESNET_SIZE } from './resnet.js';

const BYOL_BATCH = 32;
const BYOL_SIZE = 32;

interface Workload {
  /** One step: its inputs uploaded, then the step; returns what to dispose afterwards. */
  step(): Tensor[];
  captured: CapturedStep<Tensor>;
  dispose(): void;
}

function hostTimed(w: Workload, replay: boolean): Prepared {
  const rt = getRuntime();
  let dispatches = 0;
  let calls = 0;
  const samples: number[] = [];
  return {
    run: () => w.step(),
    async time() {
      await rt.sync();
      const d0 = rt.counters().dispatches;
      const t0 = performance.now();
      const out = w.step();
      rt.flush();
      const ms = performance.now() - t0;
      dispatches = rt.counters().dispatches - d0;
      await rt.sync();
      for (const t of out) t.dispose();
      // The first two calls run eagerly and record (the row's warm-up); every later one must replay.
      if (replay && ++calls > 2 && w.captured.stats.replayed !== calls - 2) throw new Error('step-host: the replayed row did not replay');
      samples.push(ms);
      return ms;
    },
    report: async () => {
      const med = [...samples].sort((a, b) => a - b)[samples.length >> 1] ?? NaN;
      return `${dispatches} dispatches per step, ${((1000 * med) / Math.max(1, dispatches)).toFixed(1)} µs of host time per dispatch`;
    },
    dispose: () => w.dispose(),
  };
}

function resnetTrain(replay: boolean): Workload {
  const model = resnet18({ numClasses: RESNET_CLASSES, generator: new Generator(7) });
  flattenParameters(model);
  model.train(true);
  const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
  const d = resnetInputs();
  const captured = classifierStep(model, opt, { replay, name: 'resnet18 train' });
  return {
    captured,
    // The batch as host data: the step uploads it (on replay straight into the buffers its record reads).
    step: () => [captured.run([{ data: d.x, shape: d.shape }, { data: d.labels, shape: [RESNET_BATCH] }], { lr: 0.1 })],
    dispose: () => (captured.dispose(), opt.dispose(), model.dispose()),
  };
}

function resnetInfer(replay: boolean): Workload {
  const model = resnet18({ numClasses: RESNET_CLASSES, generator: new Generator(7) });
  model.eval();
  const d = resnetInputs();
  const captured = captureStep(([x]) => model.forward(x!), { replay, name: 'resnet18 infer' });
  return {
    captured,
    step: () => [noGrad(() => captured.run([{ data: d.x, shape: d.shape }]))],
    dispose: () => (captured.dispose(), model.dispose()),
  };
}

function byolTrain(replay: boolean): Workload {
  const config = { ...presetConfig('quick'), batch: BYOL_BATCH, imageSize: BYOL_SIZE };
  const byol = Byol.create(config, 1);
  byol.train(true);
  const lr = (config.byol.lrPer256 * BYOL_BATCH) / 256;
  const opt = new LARS(byol.online, { lr, weightDecay: config.byol.weightDecay });
  const aug = new ByolAugment({ size: BYOL_SIZE }, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  const words = packedBatch(BYOL_BATCH, 3, BYOL_SIZE, BYOL_SIZE, 99);
  const captured = byolStep(byol, opt, aug, { c: 3, h: BYOL_SIZE, w: BYOL_SIZE }, { seed: 11, replay });
  let step = 0;
  return {
    captured,
    step: () => [captured.run([{ data: words, shape: [words.length] }], { lr, tau: config.byol.tauBase, step: step++ })],
    dispose: () => (captured.dispose(), opt.dispose(), byol.dispose()),
  };
}

function rows(name: string, label: string, make: (replay: boolean) => Workload): BenchRow[] {
  return [false, true].map((replay) => ({
    family: 'step-host',
    label: `${label}: host, ${replay ? 'replayed' : 'eager'}`,
    work: {},
    // Two calls before timing on both rows: the replayed row's first runs eagerly, its second records. Host
    // times of single steps vary by ±15 % from run to run here (the collector, caches the GPU's threads left
    // cold): 15 runs per row keep the median steady.
    maxRuns: { reps: 15, warmup: 2, quick: { reps: 3, warmup: 2 } },
    note: replay ? `host ms from the step's start to its last submit, replayed from its record (${name})` : `the same, every dispatch encoded by running the step's code (${name})`,
    impls: { ours: { setup: () => hostTimed(make(replay), replay) } },
  }));
}

registerRows(
  ...rows('classifierStep', `resnet18 train step, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE}`, resnetTrain),
  ...rows('captureStep', `resnet18 inference, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE}`, resnetInfer),
  ...rows('byolStep', `byol train step, batch ${BYOL_BATCH}, ${BYOL_SIZE}×${BYOL_SIZE}`, byolTrain),
);
