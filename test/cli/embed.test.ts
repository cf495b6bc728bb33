/**
 * The encoder pictures through the command line, on a tiny image-folder dataset the test writes: a train:byol
 * run writes neighbours.png and embedding.png with the kNN accuracies its metrics record; `npm run embed` on
 * the run's byol-encoder.safetensors redraws the same pictures byte for byte, draws a ResNet-18 that PyTorch
 * wrote, and answers bad input with one line and exit status 1 (runtime) or 2 (usage).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript as cli } from '../run-node.js';
import { PNG } from 'pngjs';
import { writeFolderDataset } from '../folder-dataset.js';
import { encodeSafetensors } from '../../src/nn/safetensors.js';

const root = mkdtempSync(join(tmpdir(), 'byol-embed-'));
const data = join(root, 'data');
const run = join(root, 'run');
const TORCH_FILE = fileURLToPath(new URL('../fixtures/nn/resnet18_w4_torch.safetensors', import.meta.url));

beforeAll(() => writeFolderDataset(data));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const embed = (args: string[]) => cli('src/cli/embed.ts', args);

/** stderr without Dawn's own adapter warnings. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));

function png(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}

it('train:byol writes both pictures with the kNN accuracies of its metrics; embed redraws them byte for byte', async () => {
  const r = await cli('src/cli/train-byol.ts', ['--preset', 'smoke', '--dataset', `folder:${data}`, '--width', '4', '--seed', '3', '--labels-per-class', '10', '--out', run]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const n = png(join(run, 'neighbours.png'));
  const m = png(join(run, 'embedding.png'));
  // Two grids side by side of three query rows; two maps side by side.
  expect(n.width).toBeGreaterThan(n.height);
  expect(m.width).toBeGreaterThan(m.height);
  const records = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { phase: string; epoch: number; knnAccuracy?: number; randomDraws?: { knnAccuracy: number[] } });
  // The pictures' random encoder is the random arm's first draw (the encoder BYOL starts from); the arm is the mean of the draws.
  const at = (epoch: number) => records.find((x) => x.phase === 'byol' && x.epoch === epoch)!;
  const knn = (epoch: number) => (100 * (epoch === 0 ? at(0).randomDraws!.knnAccuracy[0]! : at(epoch).knnAccuracy!)).toFixed(1);
  // 30 labeled images, 8 neighbours each: the match rate is a real fraction, not all of the bank.
  expect(r.stdout).toMatch(new RegExp(`random encoder: kNN ${knn(0)}%; the 8 nearest labeled images share the test image's class \\d+\\.\\d% of the time \\(the 3 drawn queries: \\d+\\.\\d%\\)`));
  expect(r.stdout).toMatch(new RegExp(`pretrained encoder: kNN ${knn(1)}%; the 8 nearest`));
  expect(r.stdout).toMatch(/wrote .*neighbours\.png, .*embedding\.png/);

  const again = join(root, 'again');
  const e = await embed(['--checkpoint', join(run, 'byol-encoder.safetensors'), '--dataset', `folder:${data}`, '--out', again]);
  expect(e.code, e.stdout + e.stderr).toBe(0);
  expect(e.stdout).toMatch(/width 4, from a smoke run on folder:.* \(seed 3\)/);
  for (const f of ['neighbours.png', 'embedding.png']) expect(readFileSync(join(again, f)).equals(readFileSync(join(run, f))), f).toBe(true);
  // The same figures as the run printed.
  const figures = (out: string) => out.split('\n').filter((l) => /^(random|pretrained) encoder: kNN/.test(l));
  expect(figures(e.stdout)).toEqual(figures(r.stdout));
  expect(figures(e.stdout)).toHaveLength(2);
}, 240_000);

it('embed draws a ResNet-18 that PyTorch wrote (fc left out), with the quick preset and flags for the rest', async () => {
  const out = join(root, 'torch');
  const e = await embed(['--checkpoint', TORCH_FILE, '--dataset', `folder:${data}`, '--image-size', '16', '--labels-per-class', '5', '--neighbours', '4', '--out', out]);
  expect(e.code, e.stdout + e.stderr).toBe(0);
  expect(e.stdout).toMatch(/ResNet-18, torchvision's 7×7 stem, width 4\n/);
  expect(e.stdout).toMatch(/15 labeled and 30 test images, 16×16, seed 0/);
  expect(e.stdout).toMatch(/pretrained encoder: kNN \d+\.\d%; the 4 nearest/);
  for (const f of ['neighbours.png', 'embedding.png']) expect(png(join(out, f)).width).toBeGreaterThan(300);
}, 120_000);

it('answers bad input with one line and exit status 1, or the usage and 2, writing nothing', async () => {
  const mlp = join(root, 'mlp.safetensors');
  writeFileSync(mlp, encodeSafetensors([['0.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) }]]));
  const out = join(root, 'never');
  const cases: [string[], number, RegExp][] = [
    [['--checkpoint', join(root, 'nope.safetensors')], 1, /^error: .*nope\.safetensors: no such file$/],
    [['--checkpoint', mlp], 1, /^error: .*mlp\.safetensors does not hold a ResNet-18 encoder \(no conv1\.weight; it holds 0\.weight\)$/],
    [['--checkpoint', join(root, 'data', 'train')], 1, /^error: .*train is not a file$/],
    [['--checkpoint', join(run, 'byol-encoder.safetensors'), '--dataset', `folder:${join(data, 'train')}`], 1, /^error: folder:.*train has no test split, and the pictures query test images/],
  ];
  for (const [args, code, message] of cases) {
    const e = await embed([...args, '--out', out]);
    expect(e.code, args.join(' ')).toBe(code);
    const lines = errorLines(e.stderr);
    expect(lines, args.join(' ')).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  }
  for (const [args, message] of [
    [[], /^error: --checkpoint FILE is required$/],
    [['--checkpoint', mlp, '--neighbours', '0'], /^error: --neighbours must be at least 1, got 0$/],
    [['--checkpoint', mlp, '--frobnicate'], /^error: unknown option --frobnicate$/],
    [['--checkpoint', mlp, '--dataset', 'no-such-set'], /^error: --dataset must be one of .* or folder:PATH, got "no-such-set"$/],
  ] as [string[], RegExp][]) {
    const e = await embed([...args, '--out', out]);
    expect(e.code, args.join(' ')).toBe(2);
    expect(errorLines(e.stderr)[0]).toMatch(message);
    expect(e.stderr).toContain('usage: npm run embed -- --checkpoint FILE');
  }
  expect(existsSync(out)).toBe(false);
  const help = await embed(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--neighbours K/);
}, 240_000);
