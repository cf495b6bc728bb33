/**
 * A diverging run never replaces good weights: the loss turning NaN after a BYOL epoch has finished, and
 * weights whose batch-norm statistics overflow while BYOL's normalized loss stays finite, both stop the run
 * with the epoch and step as the progress lines count them, keep the checkpoint of the last finished epoch
 * byte for byte, and `--resume --lr 0.2` continues from it to the end. Resuming with other settings names
 * the setting.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'byol-diverge-'));
const data = join(root, 'data');
beforeAll(() => writeFolderDataset(data));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: string | null;
  output: string;
}

/** train:byol on the smoke preset with three BYOL epochs; `killWhen` is polled and SIGKILLs the run. */
function train(args: string[], killWhen?: () => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--preset', 'smoke', '--width', '4', '--dataset', `folder:${data}`, '--epochs', '3', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = killWhen
      ? setInterval(() => {
          if (killWhen()) {
            clearInterval(timer);
            child.kill('SIGKILL');
          }
        }, 20)
      : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, output });
    });
  });
}

/** The experiment state a checkpoint holds (null while there is none, or while it is being replaced). */
function savedState(out: string): { phase: string; epochsDone: number; metrics: { phase: string; epoch: number }[] } | null {
  try {
    return JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors')))).metadata['byol.state']);
  } catch {
    return null;
  }
}

const records = (out: string): string[] =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => `${r.phase}:${r.epoch}`);

/** A JavaScript stack frame of ours. */
const ourStack = /^\s+at .*\.(m?js|ts):\d+/m;

it('weights that overflow while the loss stays finite: the epoch is not saved, and --resume --lr continues', async () => {
  const out = join(root, 'weights');
  // --lr 1e9: BYOL epoch 1 ends with a finite training loss but infinite running variances; that epoch was
  // once saved as finished, and every resume from it failed again.
  const r = await train(['--lr', '1e9', '--out', out]);
  expect(r.code, r.output).toBe(1);
  expect(r.output).toMatch(/^error: byol epoch 1\/3: training diverged by step 4\/4, though its loss stayed finite: \d+ tensors? holds? NaN or infinite values: \S+\.running_var \(\d+\)/m);
  expect(r.output).toContain('the checkpoint keeps supervised epoch 1/1, the last finished one');
  expect(r.output).toContain('run the same command with --resume --lr 0.2.');
  expect(r.output).not.toMatch(/^byol epoch 1\/3: loss/m);
  expect(r.output).not.toMatch(ourStack);
  // The checkpoint and the metrics are the supervised epoch's; no BYOL encoder was written.
  expect(savedState(out)).toMatchObject({ phase: 'supervised', epochsDone: 1 });
  expect(records(out)).toEqual(['supervised:1']);
  expect(existsSync(join(out, 'byol-encoder.safetensors'))).toBe(false);

  const resumed = await train(['--lr', '0.2', '--out', out, '--resume']);
  expect(resumed.code, resumed.output).toBe(0);
  expect(resumed.output).toMatch(/resuming with a new BYOL learning rate: 1000000000 → 0\.2/);
  expect(resumed.output).toMatch(/resuming: supervised has 1 finished epoch/);
  expect(records(out)).toEqual(['supervised:1', 'byol:0', 'byol:1', 'byol:2', 'byol:3', 'finetune:1']);
  expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).finished).toBe(true);
}, 300_000);

it('the loss turning NaN after a BYOL epoch has finished: stops, keeps that epoch byte for byte, and --resume --lr continues', async () => {
  const out = join(root, 'nan');
  // A healthy run, killed once a BYOL epoch is in the checkpoint.
  const killed = await train(['--out', out], () => {
    const s = savedState(out);
    return s !== null && s.phase === 'byol' && s.epochsDone >= 1;
  });
  expect(killed.signal, killed.output).toBe('SIGKILL');
  const kept = savedState(out)!;
  expect(kept.phase).toBe('byol');
  expect(kept.epochsDone).toBeLessThan(3);
  const done = kept.epochsDone;
  const bytes = readFileSync(join(out, 'checkpoint.safetensors'));
  const metrics = readFileSync(join(out, 'metrics.jsonl'));

  // The next epoch at a learning rate that makes the loss NaN within it.
  const r = await train(['--lr', '1e30', '--out', out, '--resume']);
  expect(r.code, r.output).toBe(1);
  expect(r.output).toMatch(new RegExp(`^error: byol epoch ${done + 1}/3: the loss became (NaN|-?Infinity) at step [1-4]/4\\. Likely causes: a learning rate too high`, 'm'));
  expect(r.output).toContain(`the checkpoint keeps byol epoch ${done}/3, the last finished one`);
  expect(r.output).toContain('run the same command with --resume --lr 0.2.');
  expect(r.output).not.toMatch(ourStack);
  expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(bytes)).toBe(true);
  expect(readFileSync(join(out, 'metrics.jsonl')).equals(metrics)).toBe(true);

  // With a sane learning rate the run continues from that epoch and finishes.
  const resumed = await train(['--lr', '0.2', '--out', out, '--resume']);
  expect(resumed.code, resumed.output).toBe(0);
  expect(resumed.output).toContain(`resuming: byol has ${done} finished epoch(s)`);
  expect(resumed.output).not.toMatch(/byol: the random encoder/);
  expect(records(out)).toEqual(['supervised:1', 'byol:0', 'byol:1', 'byol:2', 'byol:3', 'finetune:1']);
  expect(existsSync(join(out, 'summary.json'))).toBe(true);
}, 300_000);

it('refuses to resume with other settings, naming each setting and both values', async () => {
  const out = join(root, 'nan');
  const seed = await train(['--seed', '9', '--out', out, '--resume']);
  expect(seed.code).toBe(1);
  expect(seed.output).toMatch(/^error: the checkpoint was written with other settings \(seed: 0 in the checkpoint, 9 now\)/m);
  // Learning rates may change on resume: a new --lr beside --epochs is not named.
  const epochs = await train(['--epochs', '5', '--lr', '0.5', '--out', out, '--resume']);
  expect(epochs.code).toBe(1);
  expect(epochs.output).toMatch(/other settings \(byol\.epochs: 3 in the checkpoint, 5 now\); resume with the same flags/);
  const two = await train(['--epochs', '5', '--batch', '8', '--out', out, '--resume']);
  expect(two.code).toBe(1);
  expect(two.output).toMatch(/other settings \(batch: 16 in the checkpoint, 8 now; byol\.epochs: 3 in the checkpoint, 5 now\)/);
}, 120_000);
