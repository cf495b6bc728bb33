/**
 * The GPU device lost in the middle of training (simulated with device.destroy()): the error says how to
 * resume, the checkpoint of the last finished epoch is intact, and resuming on a new device finishes the run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';
import { init } from '../../src/tensor/engine.js';
import { GpuError } from '../../src/gpu/runtime.js';
import { openDataset } from '../../src/data/open.js';
import { semiSupervisedSplit } from '../../src/data/splits.js';
import { presetConfig } from '../../src/byol/config.js';
import { Experiment, prepareData, type ExperimentIO, type MetricRecord } from '../../src/byol/experiment.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'byol-lost-'));
beforeAll(() => writeFolderDataset(join(root, 'data')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('device lost mid-training: a clear error, the checkpoint kept, and --resume finishes on a new device', async () => {
  const config = presetConfig('smoke');
  config.width = 4;
  config.dataset = `folder:${join(root, 'data')}`;
  const opened = await openDataset(config.dataset);
  const data = await prepareData(semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed: config.seed }), config, opened.name);
  const files = new Map<string, Uint8Array>();
  let records: readonly MetricRecord[] = [];
  const io = (onProgress?: (phase: string, step: number) => void): ExperimentIO => ({
    log: () => undefined,
    progress: (e) => onProgress?.(e.phase, e.step),
    saveCheckpoint: async (name, bytes) => void files.set(name, bytes.slice()),
    loadCheckpoint: async (name) => files.get(name) ?? null,
    metrics: async (r) => void (records = [...r]),
  });

  const rt = await init();
  let destroyed = false;
  const lost = new Experiment(config, data, io((phase, step) => {
    if (phase === 'byol' && step === 2 && !destroyed) {
      destroyed = true;
      rt.device.destroy();
    }
  }));
  const err = await lost.run().then(() => null, (e: unknown) => e);
  expect(destroyed).toBe(true);
  expect(err).toBeInstanceOf(GpuError);
  expect((err as GpuError).kind).toBe('device-lost');
  expect((err as Error).message).toMatch(/device was lost.*--resume/s);
  // The checkpoint is the supervised phase's last epoch, whole and readable.
  const saved = files.get('checkpoint.safetensors')!;
  const state = JSON.parse(decodeSafetensors(saved).metadata['byol.state']);
  expect(state.phase).toBe('supervised');
  expect(records.map((r) => r.phase)).toEqual(['supervised']);

  await init(); // a new device
  const resumed = await new Experiment(config, data, io()).run(true);
  expect(resumed.stopped).toBe(false);
  expect(resumed.state.metrics.map((r) => `${r.phase}:${r.epoch}`)).toEqual(['supervised:1', 'byol:0', 'byol:1', 'finetune:1']);
  await opened.close();
}, 180_000);
