/**
 * runPhase, the loop of every phase, on a phase whose step returns a loss given by its step number: progress
 * after every step, records and checkpoints after every finished epoch, a stop request that leaves the epoch
 * unsaved and a resume that then gives the uninterrupted run's records, the loss or the evaluation turning
 * non-finite (the epoch not saved), a phase with no epoch to train, and the keys of the phases' draws.
 */
import { expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { InMemoryImageDataset } from '../../src/data/dataset.js';
import { BatchLoader } from '../../src/data/loader.js';
import { deriveSeed } from '../../src/data/prng.js';
import { Generator } from '../../src/kernels/creation.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { MLPHead } from '../../src/nn/mlp.js';
import { flattenParameters } from '../../src/nn/flat.js';
import { SGD } from '../../src/nn/optim.js';
import { encodeSafetensors } from '../../src/nn/safetensors.js';
import { presetConfig } from '../../src/byol/config.js';
import type { ExperimentData } from '../../src/byol/experiment-data.js';
import { NonFiniteLossError, PHASES, phaseKeys, savedProgress, stateMetadata, type MetricRecord, type Phase } from '../../src/byol/experiment-state.js';
import { runPhase, type PhaseContext, type PhaseSpec, type ProgressEvent, type RunAugments } from '../../src/byol/phase.js';

/** 10 images in batches of 4, the last dropped: 2 steps an epoch. */
const images = new InMemoryImageDataset({ name: 'tiny', height: 2, width: 2, channels: 1, classNames: ['a'] }, new Uint8Array(10 * 4), null);

interface Log {
  progress: ProgressEvent[];
  records: MetricRecord[];
  checkpoints: string[];
}

function context(log: Log, stopAt: (e: ProgressEvent) => boolean = () => false): PhaseContext {
  return {
    config: presetConfig('smoke'),
    data: {} as ExperimentData,
    augments: {} as RunAugments,
    io: {
      log: () => undefined,
      saveCheckpoint: async () => undefined,
      loadCheckpoint: async () => null,
      metrics: async () => undefined,
      progress: (e) => void log.progress.push(e),
      shouldStop: () => log.progress.length > 0 && stopAt(log.progress[log.progress.length - 1]),
    },
    advice: (phase) => `(advice for ${phase})`,
    recorded: (phase, epoch) => log.records.some((r) => r.phase === phase && r.epoch === epoch),
    record: (r) => void log.records.push(r),
    checkpoint: async (_model, _optimizer, phase, epochsDone) => void log.checkpoints.push(`${phase}:${epochsDone}`),
    encoderProbe: null,
  };
}

/** A phase of `epochs` epochs whose step s has the loss `loss(s)`; `disposed` counts its dispose calls. */
function spec(epochs: number, loss: (step: number) => number, options: { evalLoss?: number; saves?: boolean } = {}) {
  const model = new MLPHead({ inFeatures: 3, hidden: 4, outFeatures: 2, generator: new Generator(1) });
  flattenParameters(model);
  const optimizer = new SGD(model, { lr: 0.1, momentum: 0.9 });
  const state = { disposed: 0, begun: [] as number[] };
  const s: PhaseSpec<string> = {
    phase: 'byol' as Phase,
    name: 'byol',
    epochs,
    steps: 2,
    model,
    optimizer,
    saves: options.saves ?? true,
    begin: async (start) => void state.begun.push(start),
    train: () => model.train(true),
    batches: (epoch) => new BatchLoader(images, { batchSize: 4, seed: 3, dropLast: true }).epoch(epoch),
    step: (_batch, step) => fromArray(new Float32Array([loss(step)]), [1]),
    async evaluate(e) {
      await e.check({ 'the test loss': options.evalLoss ?? 1 });
      return { phase: 'byol', epoch: e.epoch + 1, trainLoss: e.trainLoss };
    },
    finish: async () => 'finished',
    dispose() {
      state.disposed++;
      optimizer.dispose();
      model.dispose();
    },
  };
  return { spec: s, state };
}

const fresh = (): Log => ({ progress: [], records: [], checkpoints: [] });

it('runs every epoch: progress after each step, then the record and the checkpoint; gives back the result', async () => {
  await engine();
  const log = fresh();
  const { spec: s, state } = spec(3, (step) => step + 1);
  const end = await runPhase(s, context(log), 0);
  expect(end).toEqual({ stopped: false, result: 'finished' });
  expect(state).toEqual({ disposed: 1, begun: [0] });
  expect(log.progress.map((e) => `${e.epoch}/${e.epochs}:${e.step}/${e.steps}`)).toEqual(['1/3:1/2', '1/3:2/2', '2/3:1/2', '2/3:2/2', '3/3:1/2', '3/3:2/2']);
  expect(log.records).toEqual([
    { phase: 'byol', epoch: 1, trainLoss: 1.5 },
    { phase: 'byol', epoch: 2, trainLoss: 3.5 },
    { phase: 'byol', epoch: 3, trainLoss: 5.5 },
  ]);
  expect(log.checkpoints).toEqual(['byol:1', 'byol:2', 'byol:3']);
});

it('stops on request between steps, leaving the epoch unsaved; resumed, it gives the uninterrupted records', async () => {
  await engine();
  const whole = fresh();
  await runPhase(spec(3, (step) => (step * 7) % 5).spec, context(whole), 0);

  const log = fresh();
  const { spec: first, state } = spec(3, (step) => (step * 7) % 5);
  const end = await runPhase(first, context(log, (e) => e.epoch === 2 && e.step === 1), 0);
  expect(end).toEqual({ stopped: true });
  expect(state.disposed).toBe(1);
  expect(log.records.map((r) => r.epoch)).toEqual([1]);
  expect(log.checkpoints).toEqual(['byol:1']);

  const { spec: again, state: resumed } = spec(3, (step) => (step * 7) % 5);
  expect(await runPhase(again, context(log), 1)).toEqual({ stopped: false, result: 'finished' });
  expect(resumed.begun).toEqual([1]);
  expect(log.records).toEqual(whole.records);
  expect(log.checkpoints).toEqual(whole.checkpoints);
});

it('a non-finite loss or evaluation stops the run, naming the epoch and step, before the epoch is saved', async () => {
  await engine();
  const log = fresh();
  const { spec: nan, state } = spec(3, (step) => (step === 3 ? NaN : 1));
  const err = await runPhase(nan, context(log), 0).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NonFiniteLossError);
  expect((err as Error).message).toMatch(/^byol epoch 2\/3: the loss became NaN at step 2\/2\. Likely causes: .* \(advice for byol\)$/);
  expect(state.disposed).toBe(1);
  expect(log.checkpoints).toEqual(['byol:1']);

  const evalLog = fresh();
  const bad = await runPhase(spec(2, () => 1, { evalLoss: Infinity }).spec, context(evalLog), 0).catch((e: unknown) => e);
  expect((bad as Error).message).toBe('byol epoch 1/2: training diverged by step 2/2, though its loss stayed finite: the test loss is Infinity. (advice for byol)');
  expect(evalLog.records).toEqual([]);
  expect(evalLog.checkpoints).toEqual([]);
});

it('with no epoch to train, still writes the checkpoint the next phase starts from; without saves, none', async () => {
  await engine();
  const none = fresh();
  expect(await runPhase(spec(0, () => 1).spec, context(none), 0)).toEqual({ stopped: false, result: 'finished' });
  expect(none.checkpoints).toEqual(['byol:0']);
  const done = fresh();
  await runPhase(spec(2, () => 1).spec, context(done), 2);
  expect(done.checkpoints).toEqual(['byol:2']);
  const curve = fresh();
  await runPhase(spec(2, () => 1, { saves: false }).spec, context(curve), 0);
  expect(curve.records).toEqual([]);
  expect(curve.checkpoints).toEqual([]);
});

it('keys each phase draws with: (seed, phase + 1), then 7 for the loader, 11 for the views, 13 for BYOL’s evaluation loss', () => {
  for (const [p, phase] of PHASES.entries()) {
    expect(phaseKeys(5, phase)).toEqual({ init: deriveSeed(5, p + 1), order: deriveSeed(5, p + 1, 7), views: deriveSeed(5, p + 1, 11), evalViews: deriveSeed(5, p + 1, 13) });
  }
  const config = presetConfig('smoke');
  const bytes = encodeSafetensors([], stateMetadata({ version: 1, config, phase: 'byol', epochsDone: 2, metrics: [] }));
  expect(savedProgress(bytes)).toEqual({ phase: 'byol', epochsDone: 2 });
  expect(savedProgress(encodeSafetensors([], {}))).toBeNull();
});
