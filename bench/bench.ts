/**
 * `npm run bench -- [flags]`: times registry rows (bench/rows/) on our engine, on TensorFlow.js on the same
 * WebGPU adapter and on PyTorch on the CPU, prints a table, and optionally writes JSON and Markdown. See `--help`.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { loadBackends, loadOurs } from './backends.js';
import { parseArgs, usage, UsageError, type Options } from './cli.js';
import { profileMarkdown, profileSteps, profileText } from './profile.js';
import { allRows, families } from './registry.js';
import { headerLines, markdownSection, notes, packageVersions, tableCells, textTable, type RunHeader } from './report.js';
import { runRow, type RowResult } from './runner.js';
import { writeChart } from './chart.js';
import './rows/index.js';

if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = os.tmpdir();

function writeOutputs(opts: Options, json: unknown, markdown: () => string): void {
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(json, null, 2) + '\n');
    console.log(`wrote ${opts.json}`);
  }
  if (opts.markdown) {
    const section = markdown();
    const append = existsSync(opts.markdown);
    if (append) appendFileSync(opts.markdown, '\n' + section);
    else writeFileSync(opts.markdown, section);
    console.log(`${append ? 'appended to' : 'wrote'} ${opts.markdown}`);
  }
}

const commandLine = (argv: string[]) => ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ');
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** --profile: the per-op GPU time of one ResNet-18 and one BYOL training step (bench/profile.ts). */
async function profile(opts: Options, argv: string[]): Promise<number> {
  const ours = await loadOurs();
  const date = now();
  const lines = [
    `command:   ${commandLine(argv)}`,
    `adapter:   ${ours.info}`,
    `node:      ${process.version} (${process.platform} ${process.arch}, ${os.cpus().length} CPUs)`,
    `timing:    GPU time per op from timestamp queries (each dispatch in its own compute pass), one eager step after ${opts.warmup} warm-up`,
  ];
  console.log([`date:      ${date}`, ...lines].join('\n') + '\n');
  const profiles = await profileSteps(opts.warmup, (line) => console.log(line));
  console.log('\n' + profileText(profiles));
  writeOutputs(opts, { date, header: lines, profiles }, () => profileMarkdown(date, lines, profiles));
  if (opts.chart) console.log(`--chart: nothing to draw with --profile; ${opts.chart} not written`);
  return 0;
}

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
  if (opts.profile) return profile(opts, argv);
  const rows = allRows().filter((r) => !opts.ops || opts.ops.includes(r.family));

  // The torch worker (a Python process) starts only when a row to run has a torch implementation.
  const wanted = opts.backends.filter((b) => b !== 'torch' || rows.some((r) => r.impls.torch));
  const { loaded, unavailable } = await loadBackends(wanted);
  const header: RunHeader = {
    date: now(),
    command: commandLine(argv),
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

  writeOutputs(opts, { header, rows: results }, () => markdownSection(header, results));
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
