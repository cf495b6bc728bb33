/**
 * Commands show the project's own output only: Dawn's notices about lowered limits ("Warning: maxDynamic...
 * artificially reduced ..."), which its native code writes straight to fd 2, are dropped by scripts/cli.mjs
 * (the launcher of every npm command); BYOL_GPU_VERBOSE=1 shows them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { DAWN_NOTICE, dawnNoticeFilter } from '../../scripts/dawn-notices.mjs';
import { rand, seedNote } from '../helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NOTICE = /Warning: maxDynamic\w+BuffersPerPipelineLayout artificially reduced/;
const dir = mkdtempSync(join(tmpdir(), 'byol-quiet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 180_000, env: { ...process.env, BYOL_GPU_VERBOSE: '', ...env } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the notice filter', () => {
  const notices = [
    'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
    'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 500000 to 16 to fit dynamic offset allocation limit.',
  ];
  const others = ['error: something the user must see', 'Warning: maxDynamicUniformBuffersPerPipelineLayout was fine', '', '  indented, ünïcode ✓', 'last line without newline'];

  it(`drops exactly Dawn's notices, wherever the chunks split the lines ${seedNote}`, () => {
    for (const n of notices) expect(DAWN_NOTICE.test(n)).toBe(true);
    for (const o of others) expect(DAWN_NOTICE.test(o)).toBe(false);
    const lines = [notices[0], others[0], notices[1], others[1], others[2], others[3], notices[0], others[4]];
    const text = lines.join('\n');
    const expected = [others[0], others[1], others[2], others[3], others[4]].join('\n');
    const bytes = new TextEncoder().encode(text);
    for (let trial = 0; trial < 50; trial++) {
      let out = '';
      const f = dawnNoticeFilter((s: string) => (out += s));
      // Random chunk boundaries, inside lines and inside multi-byte characters.
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(rand() * 40);
        f.push(bytes.subarray(at, at + n));
        at += n;
      }
      f.end();
      expect(out).toBe(expected);
    }
  });
});

describe('scripts/cli.mjs', () => {
  it("drops the notices a command writes to fd 2 and passes everything else on, with the command's exit code", () => {
    const quiet = run(process.execPath, ['scripts/cli.mjs', 'test/cli/stderr-emitter.ts']);
    expect(quiet.status).toBe(5);
    expect(quiet.stdout).toBe('own: stdout\n');
    expect(quiet.stderr).not.toMatch(NOTICE);
    for (const line of ['native: a line that is not a notice', 'own: process.stderr (isTTY false)', 'own: console.error']) expect(quiet.stderr).toContain(line);

    const verbose = run(process.execPath, ['scripts/cli.mjs', 'test/cli/stderr-emitter.ts'], { BYOL_GPU_VERBOSE: '1' });
    expect(verbose.status).toBe(5);
    expect(verbose.stderr.match(new RegExp(NOTICE.source, 'g'))).toHaveLength(2);
    expect(verbose.stderr).toContain('native: a line that is not a notice');
  }, 120_000);

  it("npm run augment:preview on this machine's adapter prints the project's lines only", () => {
    const out = join(dir, 'preview.png');
    const args = ['src/cli/augment-preview.ts', '--count', '1', '--out', out];
    const quiet = run('npm', ['run', '--silent', 'augment:preview', '--', ...args.slice(1)]);
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^fashion-mnist: 1 images/);
    expect(quiet.stdout).toContain(`wrote ${out}`);
    expect(statSync(out).size).toBeGreaterThan(0);
    expect(quiet.stderr).not.toMatch(NOTICE);
    expect(quiet.stderr.trim()).toBe('');
    // Unfiltered, as before scripts/cli.mjs: whether Dawn prints its notices depends on the adapter's driver
    // (Mesa's lavapipe: it does).
    const direct = run(process.execPath, ['scripts/run-ts.mjs', ...args]);
    expect(direct.status, direct.stderr).toBe(0);
    console.log(`without the launcher, Dawn printed ${(direct.stderr.match(new RegExp(NOTICE.source, 'g')) ?? []).length} notice(s) on this adapter`);
  }, 180_000);
});
