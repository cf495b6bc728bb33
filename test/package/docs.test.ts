/**
 * The API reference: `npm run docs` (TypeDoc with typedoc.json) documents every export of `byol-webgpu` and
 * `byol-webgpu/node`, and fails on an export without a doc comment. Both runs write to temporary folders.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TYPEDOC = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin/typedoc');
const dir = mkdtempSync(join(tmpdir(), 'byol-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function typedoc(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [TYPEDOC, ...args], { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1' } });
  if (r.error) throw r.error;
  return { status: r.status, output: r.stdout + r.stderr };
}

it('npm run docs builds the reference of both entries with every export documented', () => {
  const out = join(dir, 'api');
  const { status, output } = typedoc(['--out', out], ROOT);
  expect(output).not.toMatch(/warning|error/i);
  expect(status, output).toBe(0);
  // A few pages users look for first.
  for (const page of ['index.html', 'modules/byol-webgpu.html', 'modules/byol-webgpu_node.html', 'classes/byol-webgpu.Tensor.html', 'functions/byol-webgpu.init.html', 'functions/byol-webgpu_node.openDataset.html']) {
    expect(existsSync(join(out, page)), page).toBe(true);
  }
  expect(readFileSync(join(out, 'functions/byol-webgpu.matmul.html'), 'utf8')).toContain('batched and broadcast');
}, 300_000);

it('fails on an export without a doc comment, naming it', () => {
  const fixture = join(dir, 'fixture');
  rmSync(fixture, { recursive: true, force: true });
  mkdirSync(fixture, { recursive: true });
  writeFileSync(join(fixture, 'index.ts'), '/** Has one. */\nexport function documented(): number {\n  return 1;\n}\nexport const undocumentedThing = 2;\n');
  writeFileSync(join(fixture, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', types: [] }, files: ['index.ts'] }));
  // The repository's options, on the fixture's sources.
  writeFileSync(join(fixture, 'typedoc.json'), JSON.stringify({ extends: [join(ROOT, 'typedoc.json')], entryPoints: ['./index.ts'], tsconfig: './tsconfig.json', out: './out' }));
  const { status, output } = typedoc(['--options', './typedoc.json'], fixture);
  expect(status).not.toBe(0);
  expect(output).toMatch(/undocumentedThing \(Variable\).*does not have any documentation/);
  expect(output).not.toMatch(/\bdocumented \(/);
}, 300_000);
