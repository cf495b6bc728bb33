#!/usr/bin/env node
// Builds the package into dist/ (cleared first, so nothing stale ships):
//   dist/byol-webgpu.browser.js   one ES module for pages (the main entry; WGSL inlined)
//   dist/node/index.js, node.js   ES modules for Node (the main entry and byol-webgpu/node, sharing chunks so
//                                 both use one engine); packages stay external
//   dist/types/                   type declarations generated from the sources by tsc
// `--no-types` skips the declarations (the slow part). WGSL is inlined as text the same way everywhere
// (and in tests, through scripts/wgsl-plugin.mjs).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { esbuildWgslLoader } from './wgsl-plugin.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const types = !process.argv.includes('--no-types');
rmSync('dist', { recursive: true, force: true });

const common = {
  bundle: true,
  format: 'esm',
  loader: esbuildWgslLoader,
  sourcemap: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: ['src/index.ts'],
  platform: 'browser',
  target: 'es2022',
  // Reached only on the Node path of src/gpu/device.ts.
  external: ['webgpu', 'node:*'],
  outfile: 'dist/byol-webgpu.browser.js',
});
await build({
  ...common,
  entryPoints: { index: 'src/index.ts', node: 'src/node.ts' },
  platform: 'node',
  target: 'node20',
  packages: 'external',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outdir: 'dist/node',
});
console.log('build: dist/byol-webgpu.browser.js, dist/node/');

if (types) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log('build: dist/types/');
}
