/**
 * What a user sees when things go wrong in the main job: a clear message and exit status, never a stack
 * trace from inside the engine, and nothing already saved is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';

const root = mkdtempSync(join(tmpdir(), 'byol-fail-'));
const data = join(root, 'data');
beforeAll(() => writeFolderDataset(data));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function train(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--preset', 'smoke', '--width', '4', '--dataset', `folder:${data}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A JavaScript stack frame of ours (Dawn's own native warnings may mention C++ files; those are not ours). */
const ourStack = /^\s+at .*\.(m?js|ts):\d+/m;

it('no WebGPU adapter: says how to get one on this platform', async () => {
  const r = await train(['--out', join(root, 'no-adapter')], { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' });
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/error: No WebGPU adapter was found/);
  expect(r.output).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1');
  expect(r.output).not.toMatch(ourStack);
}, 120_000);

it('NaN in the loss: stops, names the step and the likely causes, keeps the last good checkpoint', async () => {
  const out = join(root, 'nan');
  const r = await train(['--lr', '1e30', '--out', out]);
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/error: byol epoch 1: the loss became (NaN|-?Infinity) at step \d+/);
  expect(r.output).toMatch(/learning rate too high/);
  expect(r.output).not.toMatch(ourStack);
  // The supervised phase finished before the divergence: its checkpoint and metrics are intact.
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => l.phase)).toEqual(['supervised']);
  expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(true);
  // With a sane learning rate the run continues from that checkpoint.
  const resumed = await train(['--lr', '0.2', '--out', out, '--resume']);
  expect(resumed.code, resumed.output).toBe(0);
  expect(resumed.output).toMatch(/resuming with a new BYOL learning rate: 1e\+30 → 0.2/);
  expect(existsSync(join(out, 'summary.json'))).toBe(true);
}, 240_000);

it('a batch far too large: names the batch size and what to try, and loses nothing', async () => {
  const out = join(root, 'oom');
  const r = await train(['--batch', '40', '--image-size', '1024', '--labels-per-class', '14', '--out', out]);
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/error: out of GPU memory at batch size 40 and image size 1024/);
  expect(r.output).toMatch(/--batch 20/);
  expect(r.output).not.toMatch(ourStack);
  expect(existsSync(join(out, 'summary.json'))).toBe(false);
}, 240_000);

it('refuses to resume with other settings, naming them', async () => {
  const out = join(root, 'nan');
  const r = await train(['--seed', '9', '--out', out, '--resume']);
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/other settings \(seed\)/);
}, 120_000);
