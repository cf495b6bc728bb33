#!/usr/bin/env node
// Bundles the engine with esbuild: one ES module for browsers and one for Node. WGSL is inlined as text
// the same way in both (and in tests, through scripts/wgsl-plugin.mjs).
import { build } from 'esbuild';
import { esbuildWgslLoader } from './wgsl-plugin.mjs';

const common = {
  entryPoints: ['src/index.ts'],
  bundle: true,
  format: 'esm',
  loader: esbuildWgslLoader,
  sourcemap: true,
  logLevel: 'info',
};

await build({
  ...common,
  platform: 'browser',
  target: 'es2022',
  // Reached only on the Node path of src/gpu/device.ts.
  external: ['webgpu', 'node:*'],
  outfile: 'dist/byol-webgpu.browser.js',
});
await build({
  ...common,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outfile: 'dist/byol-webgpu.node.js',
});
