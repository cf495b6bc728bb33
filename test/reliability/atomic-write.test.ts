/**
 * A process killed with SIGKILL while writing a checkpoint leaves the previous file intact: the target is
 * always one whole version, never a torn one, and stale temporary files are cleaned up by the next write.
 */
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/nn/checkpoint-node.js';

const dir = mkdtempSync(join(tmpdir(), 'byol-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('SIGKILL during a checkpoint write never leaves a torn file', async () => {
  const path = join(dir, 'checkpoint.safetensors');
  const size = 24 * 2 ** 20;
  writeFileSync(path, new Uint8Array(size).fill(1));
  let midWrite = 0;
  for (let trial = 0; trial < 6; trial++) {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'test/reliability/atomic-writer.ts', path, String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    // Kill at a different moment of the write cycle each time.
    await new Promise((r) => setTimeout(r, 40 + trial * 37));
    const closed = new Promise((r) => child.on('close', r));
    child.kill('SIGKILL');
    await closed;
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(size);
    const v = bytes[0];
    expect([1, 2]).toContain(v);
    expect(bytes.every((b) => b === v)).toBe(true);
    // A temporary file left behind means this kill landed mid-write (the next writer removes it).
    if (readdirSync(dir).some((f) => f.includes('.tmp-'))) midWrite++;
  }
  expect(midWrite, 'kills that landed in the middle of a write').toBeGreaterThan(0);
  writeFileAtomic(path, new Uint8Array(16).fill(3));
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  expect([...readFileSync(path)]).toEqual(new Array(16).fill(3));
}, 120_000);
