/**
 * Broken and careless runs: an empty test split, a resume checkpoint whose state is wrong, output folders that
 * hold other files (or are the root), stored settings out of range in an encoder file, and widths the network
 * cannot have. Each ends with one line naming the file or flag and the limit, exit 1 (2 for usage), no stack
 * trace, and nothing the user had is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript as cli } from '../run-node.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../../src/data/idx.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/nn/safetensors.js';
import { configFromFlags } from '../../src/cli/train-byol.js';
import { PHASES, readExperimentState } from '../../src/byol/experiment.js';
import { ExperimentError } from '../../src/byol/experiment.js';
import { writeFolderDataset } from '../folder-dataset.js';
import { idxFile, noise } from '../data/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'byol-runs-'));
const data = join(root, 'data');
beforeAll(() => writeFolderDataset(data));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TORCH_FILE = fileURLToPath(new URL('../fixtures/nn/resnet18_w4_torch.safetensors', import.meta.url));


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

describe('output folders', () => {
  it('refuses a folder holding other files and no checkpoint, unless --force; refuses the root', async () => {
    const out = fresh();
    writeFileSync(join(out, 'summary.json'), '{"mine": true}\n');
    writeFileSync(join(out, 'metrics.jsonl'), 'mine\n');
    const refused = await train(['--out', out]);
    // With --force the run goes on to open its dataset (missing here, so it stops there).
    const forced = await train(['--out', out, '--force'], `folder:${join(root, 'no-such-dataset')}`);
    const rootOut = await train(['--out', '/']);
    const rootForced = await train(['--out', '/', '--force']);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(errorLines(refused.stderr)).toEqual([
      `error: ${out} already holds files and no checkpoint of a run (metrics.jsonl, summary.json); choose an empty or new --out, or add --force to write into it (files of the same names are overwritten)`,
    ]);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe('{"mine": true}\n');
    expect(readdirSync(out).sort()).toEqual(['metrics.jsonl', 'summary.json']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(1);
    expect(forced.stderr).toContain('no-such-dataset');
    // A run killed while writing its first checkpoint left only that file's temporary: its own, accepted.
    const killed = fresh();
    writeFileSync(join(killed, '.checkpoint.safetensors.tmp-4242-abc'), 'partial');
    const again = await train(['--out', killed], `folder:${join(root, 'no-such-dataset')}`);
    expect(again.code, again.stdout + again.stderr).toBe(1);
    expect(again.stderr).toContain('no-such-dataset');
    // --seeds: OUT may hold the seeds' folders, and each of those is checked the same way.
    const seeded = fresh();
    mkdirSync(join(seeded, 'seed-0'));
    mkdirSync(join(seeded, 'seed-1'));
    const clean = await train(['--seeds', '0,1', '--out', seeded], `folder:${join(root, 'no-such-dataset')}`);
    expect(clean.code, clean.stdout + clean.stderr).toBe(1);
    writeFileSync(join(seeded, 'seed-1', 'notes.txt'), 'mine');
    const mixed = await train(['--seeds', '0,1', '--out', seeded]);
    expect(mixed.code, mixed.stdout + mixed.stderr).toBe(2);
    expect(errorLines(mixed.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: ${join(seeded, 'seed-1')} already holds files and no checkpoint of a run \\(notes\\.txt\\)`))]);
    for (const r of [rootOut, rootForced]) {
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error: --out must name a folder for the output, not the root of the file system \("\/"\)\n\nusage: npm run train:byol/);
    }
  }, 180_000);

  it('augment:preview refuses an --out that is a folder, and leaves no temporary file', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'grid.png'));
    const r = await cli('src/cli/augment-preview.ts', ['--dataset', `folder:${data}`, '--count', '2', '--out', join(dir, 'grid.png')]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: --out must name a file, but "${join(dir, 'grid.png')}" is a folder\\n`));
    expect(readdirSync(dir)).toEqual(['grid.png']);
  }, 120_000);
});

describe('embed checks the settings stored in a file as it checks flags', () => {
  const torch = decodeSafetensors(new Uint8Array(readFileSync(TORCH_FILE)));

  it('stored settings out of range: named with their limits, exit 1; a flag replaces one', async () => {
    const dir = fresh();
    const file = join(dir, 'byol-encoder.safetensors');
    const stored = { ...configFromFlags({ preset: 'smoke', dataset: `folder:${data}` }), imageSize: 1e6, batch: 0, labelsPerClass: -1 };
    writeFileSync(file, encodeSafetensors(torch.tensors, { 'byol.config': JSON.stringify(stored) }));
    const bad = await cli('src/cli/embed.ts', ['--checkpoint', file]);
    const replaced = await cli('src/cli/embed.ts', ['--checkpoint', file, '--image-size', '16', '--batch', '8']);
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(errorLines(bad.stderr)).toEqual([
      `error: ${file}: the run's settings stored in it are out of range (labelsPerClass: --labels-per-class must be at least 1, got -1; imageSize: --image-size must be at most 2048, got 1000000; batch: --batch must be at least 2, got 0); give the flag to use another value`,
    ]);
    expect(replaced.code).toBe(1);
    expect(errorLines(replaced.stderr)).toEqual([expect.stringContaining('(labelsPerClass: --labels-per-class must be at least 1, got -1)')]);
    for (const r of [bad, replaced]) expect(r.stderr).not.toMatch(ourStack);
    expect(readdirSync(dir)).toEqual(['byol-encoder.safetensors']);
  }, 120_000);

  it('a conv1 too wide is refused before the network is built', async () => {
    const dir = fresh();
    const file = join(dir, 'wide.safetensors');
    writeFileSync(file, encodeSafetensors([['conv1.weight', { dtype: 'F32', shape: [3000, 3, 3, 3], data: new Float32Array(3000 * 27) }]]));
    const r = await cli('src/cli/embed.ts', ['--checkpoint', file, '--dataset', `folder:${data}`]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(errorLines(r.stderr)).toEqual([
      `error: ${file}: conv1.weight has shape [3000, 3, 3, 3], a ResNet-18 of width 3000, outside the widths 2..256 this program builds`,
    ]);
  }, 120_000);
});

it('--width has a floor and a ceiling (usage errors, exit 2)', async () => {
  const one = await train(['--width', '1', '--out', join(root, 'w1')]);
  const huge = await train(['--width', '300', '--out', join(root, 'w300')]);
  for (const [r, message] of [
    [one, '--width must be at least 2, got 1'],
    [huge, '--width must be at most 256, got 300'],
  ] as const) {
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: ${message}\\n\\nusage: npm run train:byol`));
  }
  expect(existsSync(join(root, 'w1'))).toBe(false);
}, 120_000);
