/**
 * The main job end to end through its command line, on a tiny image-folder dataset the test writes: the
 * smoke preset finishes and writes its outputs; a run killed with SIGKILL after its first checkpoint and
 * resumed with --resume produces the metrics of an uninterrupted run with the same seed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';

const root = mkdtempSync(join(tmpdir(), 'byol-e2e-'));
const data = join(root, 'data');

beforeAll(() => writeFolderDataset(data));

afterAll(() => rmSync(root, { recursive: true, force: true }));

const baseArgs = (out: string) => ['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--preset', 'smoke', '--dataset', `folder:${data}`, '--width', '4', '--seed', '3', '--out', out];

function run(args: string[], killWhen?: (out: string) => boolean, out?: string): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timer: NodeJS.Timeout | undefined;
    if (killWhen && out) {
      timer = setInterval(() => {
        if (killWhen(out)) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, output });
    });
  });
}

/** metrics.jsonl without the timing fields, which differ from run to run. */
function metrics(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      delete r.seconds;
      delete r.imagesPerSecond;
      return r;
    });
}

it('runs the smoke preset end to end and writes metrics, summary, curves and checkpoints', async () => {
  const out = join(root, 'full');
  const r = await run(baseArgs(out));
  expect(r.code, r.output).toBe(0);
  for (const f of ['metrics.jsonl', 'summary.json', 'curves.png', 'checkpoint.safetensors', 'supervised-resnet18.safetensors', 'byol-encoder.safetensors', 'finetuned-resnet18.safetensors']) expect(existsSync(join(out, f)), f).toBe(true);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(summary.splits).toMatchObject({ labeled: 6, classes: 3 });
  expect(summary.finished).toBe(true);
  for (const v of [summary.supervised.finalTestAccuracy, summary.semiSupervised.finalTestAccuracy, summary.knn.before, summary.knn.after]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  expect(summary.byol.lossPerEpoch).toHaveLength(1);
  expect(Number.isFinite(summary.byol.lossPerEpoch[0])).toBe(true);
  const phases = metrics(out).map((m) => `${m.phase}:${m.epoch}`);
  expect(phases).toEqual(['supervised:1', 'byol:0', 'byol:1', 'finetune:1']);
  // A second run into the same folder without --resume is refused, and nothing is lost.
  const again = await run(baseArgs(out));
  expect(again.code).toBe(2);
  expect(again.output).toMatch(/--resume/);
  expect(existsSync(join(out, 'summary.json'))).toBe(true);
}, 240_000);

it('resumes a run killed after its first checkpoint and reproduces the uninterrupted metrics', async () => {
  const reference = join(root, 'full');
  const out = join(root, 'killed');
  const killed = await run(baseArgs(out), (o) => existsSync(join(o, 'checkpoint.safetensors')), out);
  expect(killed.signal).toBe('SIGKILL');
  expect(existsSync(join(out, 'summary.json'))).toBe(false);
  const resumed = await run([...baseArgs(out), '--resume']);
  expect(resumed.code, resumed.output).toBe(0);
  expect(resumed.output).toMatch(/resuming: supervised has 1 finished epoch/);
  expect(metrics(out)).toEqual(metrics(reference));
}, 240_000);

it('rejects unknown flags and bad values with the usage text', async () => {
  const bad = await run(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--epochs', 'many']);
  expect(bad.code).toBe(2);
  expect(bad.output).toMatch(/--epochs must be an integer/);
  expect(bad.output).toMatch(/usage: npm run train:byol/);
  const unknown = await run(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--frobnicate']);
  expect(unknown.code).toBe(2);
  expect(unknown.output).toMatch(/unknown option --frobnicate/);
  const help = await run(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--help']);
  expect(help.code).toBe(0);
  expect(help.output).toMatch(/--resume/);
}, 120_000);
