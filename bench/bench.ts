/**
 * `npm run bench -- [flags]`: times registry rows (bench/rows/) on our engine, on TensorFlow.js on the same
 * WebGPU adapter and on PyTorch on the CPU, prints a table, and optionally writes JSON and Markdown. See `--help`.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { loadBackends } from './backends.js';
import { parseArgs, usage, UsageError } from './cli.js';
import { allRows, families } from './registry.js';
import { headerLines, markdownSection, notes, packageVersions, tableCells, textTable, type RunHeader } from './report.js';
import { runRow, type RowResult } from './runner.js';
import { writeChart } from './chart.js';
import './rows/index.js';

if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = os.tmpdir();

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseArgs(argv, families());
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`error: ${e.message}\n\n${usage(families())}`);
    return 2;
  }
  if (opts.help) {
    console.log(usage(families()));
    return 0;
  }
  const rows = allRows().filter((r) => !opts.ops || opts.ops.includes(r.family));

  const { loaded, unavailable } = await loadBackends(opts.backends);
  const header: RunHeader = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    adapter: loaded.find((b) => b.name === 'ours')!.info,
    tfjsAdapter: loaded.find((b) => b.name === 'tfjs-webgpu')?.info ?? null,
    torch: loaded.find((b) => b.name === 'torch')?.info ?? null,
    node: process.version,
    platform: `${process.platform} ${process.arch}, ${os.cpus().length} CPUs`,
    packages: packageVersions(['webgpu', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm']),
    sync: opts.sync,
    reps: opts.reps,
    warmup: opts.warmup,
    backends: loaded.map((b) => b.name),
    unavailable,
  };
  if (header.packages['@tensorflow/tfjs-backend-wasm'] === 'not installed') delete header.packages['@tensorflow/tfjs-backend-wasm'];
  console.log(headerLines(header).join('\n'));
  console.log('');

  const results: RowResult[] = [];
  for (const row of rows) {
    const t0 = performance.now();
    // Rows that take seconds per run (whole training steps) cap the counts, unless they were given.
    const cap = opts.quick ? (row.maxRuns?.quick ?? row.maxRuns) : row.maxRuns;
    const capped = cap && !opts.repsGiven && (cap.reps < opts.reps || cap.warmup < opts.warmup);
    const settings = capped ? { ...opts, reps: Math.min(opts.reps, cap.reps), warmup: Math.min(opts.warmup, cap.warmup) } : opts;
    const r = await runRow(row, loaded, settings, (line) => console.log(line));
    if (capped) Object.assign(r, { reps: settings.reps, warmup: settings.warmup });
    results.push(r);
    console.log(`  ${row.label}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  console.log('');
  console.log(textTable(tableCells(results, header.backends)));
  const n = notes(results).filter((l) => !l.includes(' ok'));
  if (n.length) console.log('\n' + n.join('\n'));
  console.log('\nratio = baseline ms / ours ms (baseline: the backend in the column): above 1 means ours is faster.');

  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({ header, rows: results }, null, 2) + '\n');
    console.log(`wrote ${opts.json}`);
  }
  if (opts.markdown) {
    const section = markdownSection(header, results);
    const append = existsSync(opts.markdown);
    if (append) appendFileSync(opts.markdown, '\n' + section);
    else writeFileSync(opts.markdown, section);
    console.log(`${append ? 'appended to' : 'wrote'} ${opts.markdown}`);
  }
  if (opts.chart) {
    await writeChart(opts.chart, header, results);
    console.log(`wrote ${opts.chart}`);
  }
  const failed = results.some((r) => r.aborted || r.cells.some((c) => c.status === 'error'));
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
