/**
 * step-host rows: the host's share of a training step, the cost that caps steps per second on a fast GPU
 * whatever the kernels do. Each run starts with the GPU idle (a sync), then times from the start of the step
 * (the batch's upload included) to its last submit, without waiting for the GPU. The same step is measured
 * run eagerly (tape, tensors and parameter blocks built in JavaScript, every dispatch encoded) and replayed
 * from its record (src/capture/capture.ts); the eager row is the baseline of the same run.
 *
 *  - resnet18 train: torchvision's ResNet-18, 10 classes, batch 64 at 32×32, SGD momentum 0.9
 *    (classifierStep, as the experiment's classifier arms run it, without augmentation).
 *  - resnet18 infer: the same network in eval mode, batch 64, no gradients.
 *  - byol train: the byol-step row's BYOL step (BYOL_BENCH_CONFIG) at batch 32, 32×32 (byolStep, as the experiment runs it:
 *    augmentation of both views, online ×2, target ×2, loss, backward, LARS, EMA).
 *
 * Each step is timed three ways: eager; replayed with its commands encoded on the step's path; replayed
 * with them encoded ahead (the default: GpuRuntime.replay encodes the next replay's commands when the host
 * waits, here during the wait on the GPU between two timed steps, so the step itself only uploads, writes
 * its parameter blocks and submits). Each row's note gives the dispatches of one step and the host
 * microseconds per dispatch; the encoded-ahead row also gives what the encoding ahead cost, off the path.
 */
import { captureStep, Generator, getRuntime, noGrad, resnet18, SGD, flattenParameters, type CapturedStep, type Tensor } from '../../src/index.js';
import { classifierStep } from '../../src/nn/train-step.js';
import { ByolAugment } from '../../src/byol/augment.js';
import { BYOL_BENCH_CONFIG } from './byol.js';
import { byolTraining } from '../../src/byol/step.js';
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

type Mode = 'eager' | 'inline' | 'ahead';

/** The capture options of a mode: eager throughout, or replayed with its encoding on the path or ahead. */
const captureMode = (mode: Mode) => ({ replay: mode !== 'eager', ahead: mode === 'ahead' });

function hostTimed(w: Workload, mode: Mode): Prepared {
  const rt = getRuntime();
  const { replay } = captureMode(mode);
  let dispatches = 0;
  let calls = 0;
  const samples: number[] = [];
  const ahead = { steps: 0, used: 0, ms: 0 };
  return {
    run: () => w.step(),
    async time() {
      await rt.sync();
      const c0 = rt.counters();
      const t0 = performance.now();
      const out = w.step();
      rt.flush();
      const ms = performance.now() - t0;
      const c1 = rt.counters();
      dispatches = c1.dispatches - c0.dispatches;
      await rt.sync();
      // The first two calls are the row's warm-up (on a replayed row the first runs eagerly, the second
      // records); every later one must replay. What encoding ahead took, over those: sync does it above.
      if (++calls > 2) {
        if (replay && w.captured.stats.replayed !== calls - 2) throw new Error('step-host: the replayed row did not replay');
        ahead.steps++;
        ahead.used += c1.encodedAhead - c0.encodedAhead;
        ahead.ms += rt.counters().aheadMs - c0.aheadMs;
      }
      for (const t of out) t.dispose();
      samples.push(ms);
      return ms;
    },
    report: async () => {
      const med = [...samples].sort((a, b) => a - b)[samples.length >> 1] ?? NaN;
      const base = `${dispatches} dispatches per step, ${((1000 * med) / Math.max(1, dispatches)).toFixed(1)} µs of host time per dispatch`;
      if (mode !== 'ahead') return base;
      return `${base}; ${ahead.used} of ${ahead.steps} timed steps submitted commands encoded ahead, the encoding ${(ahead.ms / Math.max(1, ahead.steps)).toFixed(2)} ms per step, off the step's path`;
    },
    dispose: () => w.dispose(),
  };
}

function resnetTrain(mode: Mode): Workload {
  const model = resnet18({ numClasses: RESNET_CLASSES, generator: new Generator(7) });
  flattenParameters(model);
  model.train(true);
  const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
  const d = resnetInputs();
  const captured = classifierStep(model, opt, { ...captureMode(mode), name: 'resnet18 train' });
  return {
    captured,
    // The batch as host data: the step uploads it (on replay straight into the buffers its record reads).
    step: () => [captured.run([{ data: d.x, shape: d.shape }, { data: d.labels, shape: [RESNET_BATCH] }], { lr: 0.1 })],
    dispose: () => (captured.dispose(), opt.dispose(), model.dispose()),
  };
}

function resnetInfer(mode: Mode): Workload {
  const model = resnet18({ numClasses: RESNET_CLASSES, generator: new Generator(7) });
  model.eval();
  const d = resnetInputs();
  const captured = captureStep(([x]) => model.forward(x!), { ...captureMode(mode), name: 'resnet18 infer' });
  return {
    captured,
    step: () => [noGrad(() => captured.run([{ data: d.x, shape: d.shape }]))],
    dispose: () => (captured.dispose(), model.dispose()),
  };
}

function byolTrain(mode: Mode): Workload {
  const config = { ...BYOL_BENCH_CONFIG, batch: BYOL_BATCH, imageSize: BYOL_SIZE };
  const aug = new ByolAugment({ size: BYOL_SIZE }, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  const { step: captured, lr, dispose } = byolTraining(config, { init: 1, seed: 11, augment: aug, image: { c: 3, h: BYOL_SIZE, w: BYOL_SIZE }, ...captureMode(mode) });
  const words = packedBatch(BYOL_BATCH, 3, BYOL_SIZE, BYOL_SIZE, 99);
  let step = 0;
  return {
    captured,
    step: () => [captured.run([{ data: words, shape: [words.length] }], { lr, tau: config.byol.tauBase, step: step++ })],
    dispose,
  };
}

const LABELS: Record<Mode, string> = { eager: 'eager', inline: 'replayed, encoded in the step', ahead: 'replayed' };
const NOTES: Record<Mode, (name: string) => string> = {
  eager: (name) => `the same, every dispatch encoded by running the step's code (${name})`,
  inline: (name) => `the same, replayed from its record, its commands encoded on the step's path (${name}, ahead: false)`,
  ahead: (name) => `host ms from the step's start to its last submit, replayed from its record with its commands encoded ahead (${name})`,
};

function rows(name: string, label: string, make: (mode: Mode) => Workload): BenchRow[] {
  return (['eager', 'inline', 'ahead'] as const).map((mode) => ({
    family: 'step-host',
    label: `${label}: host, ${LABELS[mode]}`,
    work: {},
    // Two calls before timing on every row: a replayed row's first runs eagerly, its second records. Host
    // times of single steps vary by ±15 % from run to run here (the collector, caches the GPU's threads left
    // cold): 15 runs per row keep the median steady.
    maxRuns: { reps: 15, warmup: 2, quick: { reps: 3, warmup: 2 } },
    note: NOTES[mode](name),
    impls: { ours: { setup: () => hostTimed(make(mode), mode) } },
  }));
}

registerRows(
  ...rows('classifierStep', `resnet18 train step, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE}`, resnetTrain),
  ...rows('captureStep', `resnet18 inference, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE}`, resnetInfer),
  ...rows('byolStep', `byol train step, batch ${BYOL_BATCH}, ${BYOL_SIZE}×${BYOL_SIZE}`, byolTrain),
);
