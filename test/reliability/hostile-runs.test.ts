/**
 * Broken and careless runs: an empty test split, and a resume checkpoint whose state is wrong. Each ends with one line naming the file or flag and the limit, exit 1 (2 for usage), no stack
 * trace, and nothing the user had is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../../src/data/idx.js';
import { encodeSafetensors } from '../../src/nn/safetensors.js';
import { configFromFlags } from '../../src/cli/train-byol.js';
import { PHASES, readExperimentState } from '../../src/byol/experiment.js';
import { ExperimentError } from '../../src/byol/experiment.js';
import { writeFolderDataset } from '../folder-dataset.js';
import { idxFile, noise } from '../data/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'byol-runs-'));
const data = join(root, 'data');
beforeAll(() => writeFolderDataset(data));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs a command (one at a time: scripts/run-ts.mjs bundles each script into one file in .cache/run). */
function cli(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SMOKE = ['--preset', 'smoke', '--width', '4'];
const train = (args: string[], dataset = `folder:${data}`) => cli('src/cli/train-byol.ts', [...SMOKE, '--dataset', dataset, ...args]);

/** A JavaScript stack frame of ours. */
const ourStack = /^\s+at .*\.(m?js|ts):\d+/m;

/** stderr's lines, without Dawn's own adapter warnings. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));

let counter = 0;
function fresh(): string {
  const dir = join(root, `d${counter++}`);
  mkdirSync(dir);
  return dir;
}

it('an empty test split: says so, instead of a divergence at 0/0', async () => {
  // MNIST in miniature: 120 training images of 3 classes, a test file of 0 images.
  const dir = join(fresh(), 'mnist');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxFile(IDX_IMAGES_MAGIC, [120, 28, 28], noise(120 * 784, 3)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxFile(IDX_LABELS_MAGIC, [120], Uint8Array.from({ length: 120 }, (_, i) => i % 3)));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxFile(IDX_IMAGES_MAGIC, [0, 28, 28], new Uint8Array(0)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxFile(IDX_LABELS_MAGIC, [0], new Uint8Array(0)));
  const out = join(root, 'empty-test-out');
  const r = await train(['--data-dir', join(dir, '..'), '--out', out], 'mnist');
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(errorLines(r.stderr)).toEqual(['error: mnist: the test split (mnist/test) holds no images; the experiment evaluates on it: add test images, or use a dataset that has them']);
  expect(r.stdout + r.stderr).not.toMatch(/diverged/);
  expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
}, 180_000);

describe('resume: the whole state is checked, and what is wrong is named', () => {
  const config = configFromFlags({ preset: 'smoke', width: 4, dataset: `folder:${data}` });
  const state = (s: Record<string, unknown>): Uint8Array =>
    encodeSafetensors([], { 'byol.state': JSON.stringify({ version: 1, config, phase: 'byol', epochsDone: 0, metrics: [], ...s }) });
  const read = (bytes: Uint8Array) => () => readExperimentState(bytes, config, 'run/checkpoint.safetensors');

  it('refuses each broken state, naming the file and the problem', () => {
    const cases: [Uint8Array, RegExp][] = [
      [state({ phase: 'bogus' }), /names the phase "bogus", not one of supervised, byol, finetune/],
      [state({ epochsDone: -3 }), /says -3 epochs of byol are done, not a whole number from 0 to 1/],
      [state({ epochsDone: 7 }), /says 7 epochs of byol are done, not a whole number from 0 to 1/],
      [state({ epochsDone: 0.5 }), /says 0\.5 epochs/],
      [state({ version: 2 }), /has version 2, not 1/],
      [state({ metrics: 'many' }), /holds no list of metrics/],
      [state({ metrics: [{ phase: 'supervised', epoch: 1 }, { phase: 'supervised', epoch: 1 }] }), /records supervised epoch 1 twice/],
      [state({ metrics: [{ phase: 'finetune', epoch: 1 }] }), /has a metrics record 1 for finetune epoch 1, past the 0 finished epoch\(s\) of byol/],
      [state({ metrics: [{ phase: 'nope', epoch: 1 }] }), /has a metrics record 1 of no known phase and epoch/],
      [encodeSafetensors([], { 'byol.state': '{"version": 1, "phase": ' }), /its experiment state is not valid JSON/],
      [encodeSafetensors([], {}), /holds no experiment state/],
      [state({}).subarray(0, 20), /is not a readable checkpoint \(run\/checkpoint\.safetensors: header length \d+ exceeds the file/],
    ];
    for (const [bytes, message] of cases) {
      expect(read(bytes), String(message)).toThrow(ExperimentError);
      expect(read(bytes), String(message)).toThrow(message);
      expect(read(bytes)).toThrow(/^run\/checkpoint\.safetensors[: ]/);
    }
    expect(read(state({ phase: 'finetune', epochsDone: 1, metrics: PHASES.map((phase) => ({ phase, epoch: 1 })) }))().phase).toBe('finetune');
  });

  it('the command: one line naming the checkpoint, exit 1, and the checkpoint kept byte for byte', async () => {
    const bogus = fresh();
    writeFileSync(join(bogus, 'checkpoint.safetensors'), state({ phase: 'bogus' }));
    const truncated = fresh();
    writeFileSync(join(truncated, 'checkpoint.safetensors'), state({}).subarray(0, 40));
    const badJson = fresh();
    writeFileSync(join(badJson, 'checkpoint.safetensors'), encodeSafetensors([], { 'byol.state': '{"version": 1,' }));
    const runs = [];
    for (const dir of [bogus, truncated, badJson]) runs.push(await train(['--resume', '--out', dir]));
    const expected = [/names the phase "bogus"/, /is not a readable checkpoint/, /its experiment state is not valid JSON/];
    runs.forEach((r, k) => {
      const dir = [bogus, truncated, badJson][k]!;
      expect(r.code, r.stdout + r.stderr).toBe(1);
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^error: ${join(dir, 'checkpoint.safetensors').replace(/[.]/g, '\\.')}[: ]`));
      expect(lines[0]).toMatch(expected[k]!);
      expect(r.stderr).not.toMatch(ourStack);
      expect(readdirSync(dir)).toEqual(['checkpoint.safetensors']);
    });
    expect(new Uint8Array(readFileSync(join(bogus, 'checkpoint.safetensors')))).toEqual(state({ phase: 'bogus' }));
  }, 240_000);
});
