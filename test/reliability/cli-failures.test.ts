/**
 * What a user sees when things go wrong in the main job: a clear message and exit status, never a stack
 * trace from inside the engine, and nothing already saved is lost. (Diverging runs: divergence.test.ts.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';

const root = mkdtempSync(join(tmpdir(), 'byol-fail-'));
const data = join(root, 'data');
beforeAll(() => writeFolderDataset(data));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function train(args: string[], env: NodeJS.ProcessEnv = {}, dataset = `folder:${data}`): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--preset', 'smoke', '--width', '4', '--dataset', dataset, ...args], {
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
  const out = join(root, 'no-adapter');
  const r = await train(['--out', out], { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' });
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/error: No WebGPU adapter was found/);
  expect(r.output).toContain('apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1');
  expect(r.output).not.toMatch(ourStack);
  expect(existsSync(out)).toBe(false);
}, 120_000);

it('a batch far too large: names the batch size and what to try, and loses nothing', async () => {
  const out = join(root, 'oom');
  const r = await train(['--batch', '40', '--image-size', '1024', '--labels-per-class', '14', '--out', out]);
  expect(r.code).toBe(1);
  expect(r.output).toMatch(/error: out of GPU memory at batch size 40 and image size 1024/);
  expect(r.output).toMatch(/--batch 20/);
  expect(r.output).not.toMatch(ourStack);
  expect(existsSync(join(out, 'summary.json'))).toBe(false);
}, 240_000);

it('an empty class folder: an error naming the folder, before the GPU starts or --out is made', async () => {
  // The tiny dataset with one more class folder, empty in train/ but with an image in test/.
  const bad = join(root, 'empty-class');
  cpSync(data, bad, { recursive: true });
  mkdirSync(join(bad, 'train', 'empty'));
  mkdirSync(join(bad, 'test', 'empty'));
  cpSync(join(data, 'test', 'circle', '000.png'), join(bad, 'test', 'empty', '000.png'));
  const out = join(root, 'empty-out');
  const r = await train(['--out', out], {}, `folder:${bad}`);
  expect(r.code, r.output).toBe(1);
  expect(r.output).toContain(`error: ${join(bad, 'train', 'empty')}: this class folder holds no PNG or JPEG images; add its images, or remove the folder`);
  expect(r.output).not.toMatch(/test\/empty\/000\.png/);
  expect(r.output).not.toMatch(/^adapter:/m);
  expect(r.output).not.toMatch(ourStack);
  expect(existsSync(out)).toBe(false);
}, 120_000);
