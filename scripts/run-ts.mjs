#!/usr/bin/env node
// Runs a TypeScript entry point: bundles it with esbuild (WGSL as text, packages external) into
// .cache/run/, then executes it with the remaining arguments. The same bundling the browser build uses.
import { build } from 'esbuild';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { esbuildWgslLoader } from './wgsl-plugin.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}
const outdir = resolve(root, '.cache/run');
mkdirSync(outdir, { recursive: true });
const outfile = resolve(outdir, basename(entry).replace(/\.ts$/, '') + '.mjs');
const result = await build({
  entryPoints: [resolve(process.cwd(), entry)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  loader: esbuildWgslLoader,
  sourcemap: 'inline',
  outfile,
  write: false,
  logLevel: 'warning',
});
// Written to a temporary file and renamed: commands started at once (the tests run several) share the outfile,
// and one must never import another's half-written bundle.
const temporary = `${outfile}.${process.pid}.tmp`;
writeFileSync(temporary, result.outputFiles[0].contents);
renameSync(temporary, outfile);
process.argv = [process.argv[0], outfile, ...rest];
await import(pathToFileURL(outfile).href);
