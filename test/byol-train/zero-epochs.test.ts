/**
 * Classifier arms of zero epochs (finetune.epochs 0, the demo page's BYOL-only run): nothing is built, no probe
 * is fitted and no checkpoint or network is written for them; the BYOL phase's checkpoint resumes the run, and
 * a resume from it trains nothing again. A gain curve needs fine-tuning epochs, and says so. The arms train
 * with the optimizer finetune.optimizer names.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';
import { engine } from '../helpers.js';
import { openDataset, type OpenedDataset } from '../../src/data/open.js';
import { semiSupervisedSplit } from '../../src/data/splits.js';
import { presetConfig, type ExperimentConfig } from '../../src/byol/config.js';
import { Experiment, ExperimentError, prepareData, type ExperimentIO } from '../../src/byol/experiment.js';
import { savedProgress } from '../../src/byol/experiment-state.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'byol-zero-'));
let opened: OpenedDataset;
beforeAll(async () => {
  writeFolderDataset(join(root, 'data'));
  opened = await openDataset(`folder:${join(root, 'data')}`);
});
afterAll(async () => {
  await opened.close();
  rmSync(root, { recursive: true, force: true });
});

function smoke(byolEpochs: number, curveEvery = 0): ExperimentConfig {
  const config = presetConfig('smoke');
  config.width = 4;
  config.dataset = `folder:${join(root, 'data')}`;
  config.byol.epochs = byolEpochs;
  config.finetune = { ...config.finetune, epochs: 0, curveEvery };
  return config;
}

function memoryIO(files: Map<string, Uint8Array>, lines: string[], steps: string[]): ExperimentIO {
  return {
    log: (line) => void lines.push(line),
    progress: (e) => void steps.push(`${e.phase}:${e.epoch}:${e.step}`),
    saveCheckpoint: async (name, bytes) => void files.set(name, bytes.slice()),
    loadCheckpoint: async (name) => files.get(name) ?? null,
    metrics: async () => undefined,
  };
}

it('zero-epoch arms build, probe and write nothing; the BYOL checkpoint resumes the run', async () => {
  await engine();
  const config = smoke(1);
  const data = await prepareData(semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed: config.seed }), config, opened.name);
  const files = new Map<string, Uint8Array>();
  const lines: string[] = [];
  const steps: string[] = [];
  const result = await new Experiment(config, data, memoryIO(files, lines, steps)).run();
  expect(result.stopped).toBe(false);
  expect([...files.keys()].sort()).toEqual(['byol-encoder.safetensors', 'checkpoint.safetensors']);
  expect(savedProgress(files.get('checkpoint.safetensors')!)).toEqual({ phase: 'byol', epochsDone: 1 });
  expect(result.state.metrics.map((r) => `${r.phase}:${r.epoch}`)).toEqual(['byol:0', 'byol:1']);
  expect(steps.every((s) => s.startsWith('byol:'))).toBe(true);
  expect(lines.filter((l) => /^(supervised|finetune)/.test(l))).toEqual([]);

  const again: string[] = [];
  const resumedSteps: string[] = [];
  const resumed = await new Experiment(config, data, memoryIO(files, again, resumedSteps)).run(true);
  expect(again[0]).toBe('resuming: byol has 1 finished epoch(s)');
  expect(resumedSteps).toEqual([]);
  expect(resumed.state.metrics).toEqual(result.state.metrics);
}, 180_000);

it('a gain curve with zero fine-tuning epochs is refused at its first point, naming the setting', async () => {
  await engine();
  const config = smoke(2, 64);
  const data = await prepareData(semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed: config.seed }), config, opened.name);
  const files = new Map<string, Uint8Array>();
  const err = await new Experiment(config, data, memoryIO(files, [], [])).run().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ExperimentError);
  expect((err as Error).message).toBe("the gain curve's fine-tuning needs at least one epoch (finetune.epochs is 0); set finetune.curveEvery to 0");
  expect(files.has('checkpoint.safetensors')).toBe(false);
}, 180_000);

it('the classifier arms train with finetune.optimizer: AdamW state in their checkpoints, at the arm’s learning rate', async () => {
  await engine();
  const config = smoke(0);
  config.finetune = { ...config.finetune, epochs: 1, optimizer: 'adamw', lr: 1e-3, pretrainedLrScale: 1, warmupEpochs: 0 };
  const data = await prepareData(semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed: config.seed }), config, opened.name);
  const files = new Map<string, Uint8Array>();
  const seen: { phase: string; kind: string }[] = [];
  const io = memoryIO(files, [], []);
  const saveCheckpoint = io.saveCheckpoint;
  io.saveCheckpoint = async (name, bytes) => {
    if (name === 'checkpoint.safetensors') {
      const meta = decodeSafetensors(bytes, name).metadata;
      const progress = savedProgress(bytes);
      if (!progress) throw new Error('a checkpoint was written without the experiment state');
      seen.push({ phase: progress.phase, kind: meta['byol.optimizer']! });
    }
    await saveCheckpoint(name, bytes);
  };
  const result = await new Experiment(config, data, io).run();
  expect(result.stopped).toBe(false);
  const kinds = new Map(seen.map((s) => [s.phase, s.kind]));
  expect(kinds.get('supervised')).toBe('AdamW');
  expect(kinds.get('finetune')).toBe('AdamW');
  expect(kinds.get('byol')).toBe('LARS');
  const lrs = result.state.metrics.filter((r) => r.phase !== 'byol').map((r) => [r.phase, r.lr]);
  expect(lrs).toEqual([['supervised', 1e-3], ['finetune', 1e-3]]);
}, 180_000);
