/** Every command answers --help, and rejects unknown flags and bad values with its usage text (status 2). */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(entry: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const commands: [string, string, string[]][] = [
  // [entry, the usage line's command, a flag with a bad value]
  ['src/cli/train-byol.ts', 'npm run train:byol', ['--batch', 'x']],
  ['src/cli/data.ts', 'npm run data', ['fashion-mnist', '--mirror', 'ftp://nowhere']],
  ['src/cli/augment-preview.ts', 'npm run augment:preview', ['--count', '-3']],
  ['src/cli/demo.ts', 'npm run demo', ['--port', 'eighty']],
  ['bench/bench.ts', 'npm run bench', ['--reps', 'zero']],
];

describe('command-line flags', () => {
  for (const [entry, usage, bad] of commands) {
    it(`${usage}: --help, an unknown flag, a bad value`, async () => {
      const help = await run(entry, ['--help']);
      expect(help.code, help.output).toBe(0);
      expect(help.output.toLowerCase()).toContain(`usage: ${usage}`);
      const unknown = await run(entry, ['--no-such-flag']);
      expect(unknown.code, unknown.output).toBe(2);
      expect(unknown.output.toLowerCase()).toContain(`usage: ${usage}`);
      expect(unknown.output).toMatch(/no-such-flag/);
      const value = await run(entry, bad);
      expect(value.code, value.output).toBe(2);
      expect(value.output.toLowerCase()).toContain(`usage: ${usage}`);
    }, 60_000);
  }
});

it('train:byol --dataset nosuch: a usage error (exit 2) before the GPU starts or --out is made', async () => {
  const root = mkdtempSync(join(tmpdir(), 'byol-flags-'));
  try {
    const out = join(root, 'y');
    const r = await run('src/cli/train-byol.ts', ['--dataset', 'nosuch', '--out', out]);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/^error: --dataset must be one of fashion-mnist, mnist, stl10, cifar10 or folder:PATH, got "nosuch"$/m);
    expect(r.output.toLowerCase()).toContain('usage: npm run train:byol');
    expect(r.output).not.toMatch(/^adapter:/m);
    expect(existsSync(out)).toBe(false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, 60_000);
