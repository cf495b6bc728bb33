/** Text, Markdown and JSON output of a benchmark run. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName, SyncMode, Unavailable } from './backends.js';
import type { CellResult, RowResult } from './runner.js';

export interface RunHeader {
  date: string;
  command: string;
  adapter: string;
  tfjsAdapter: string | null;
  /** What the torch backend runs on (PyTorch version, CPU, threads), when it was loaded. */
  torch?: string | null;
  node: string;
  platform: string;
  packages: Record<string, string>;
  sync: SyncMode;
  reps: number;
  warmup: number;
  backends: BackendName[];
  unavailable: Unavailable[];
}

/** Installed versions, read from node_modules/<name>/package.json under the project root. */
export function packageVersions(names: string[]): Record<string, string> {
  const here = dirname(fileURLToPath(import.meta.url));
  // The bundle runs from .cache/run/, the source from bench/: look upwards for node_modules.
  const roots = [process.cwd(), resolve(here, '..'), resolve(here, '../..')];
  const out: Record<string, string> = {};
  for (const name of names) {
    out[name] = 'not installed';
    for (const root of roots) {
      try {
        const pkg = JSON.parse(readFileSync(resolve(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
        if (pkg.version) {
          out[name] = pkg.version;
          break;
        }
      } catch {
        /* try the next root */
      }
    }
  }
  return out;
}

export function headerLines(h: RunHeader): string[] {
  const lines = [
    `date:      ${h.date}`,
    `command:   ${h.command}`,
    `adapter:   ${h.adapter} (ours)` + (h.tfjsAdapter ? `; tfjs-webgpu sees: ${h.tfjsAdapter}` : ''),
    ...(h.torch ? [`torch:     ${h.torch}`] : []),
    `node:      ${h.node} (${h.platform})`,
    `packages:  ${Object.entries(h.packages)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `timing:    median of ${h.reps} runs after ${h.warmup} warm-up, sync=${h.sync} ` +
      (h.sync === 'fence' ? '(await queue.onSubmittedWorkDone(), no readback)' : '(full readback of outputs)') +
      (h.backends.includes('torch') ? '; torch: each run timed in its worker (the computation only)' : ''),
  ];
  for (const u of h.unavailable) lines.push(`skipped:   ${u.name}: ${u.reason}`);
  return lines;
}

const fmtMs = (ms: number | undefined): string =>
  ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
const fmtThr = (x: number | undefined): string =>
  x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);

function cellText(c: CellResult | undefined, what: 'ms' | 'thr', row: RowResult, unitInCell: boolean): string {
  if (!c || c.status === 'missing') return 'n/a';
  if (row.aborted) return 'aborted';
  if (c.status === 'error') return 'error';
  if (what === 'ms') return fmtMs(c.medianMs);
  const unit = unitOf(row) || 'GB/s';
  return fmtThr(c.throughput) + (unitInCell && c.throughput !== undefined ? ` ${unit}` : '');
}

/** The throughput unit of a row: GFLOP/s, GB/s or img/s ('' when it has no work size). */
export function unitOf(r: RowResult): string {
  return r.flops !== undefined ? 'GFLOP/s' : r.bytes !== undefined ? 'GB/s' : r.images !== undefined ? 'img/s' : '';
}

/** The result table as rows of cells, header first. */
export function tableCells(rows: RowResult[], backends: BackendName[]): string[][] {
  const units = new Set(rows.map(unitOf));
  const mixed = units.size > 1;
  const unit = mixed ? 'rate' : [...units][0] || 'rate';
  const others = backends.filter((b) => b !== 'ours');
  const head = ['row', 'ours ms', `ours ${unit}`];
  for (const b of others) head.push(`${b} ms`, `${b} ${unit}`, `ratio ${b}/ours`);
  const body = rows.map((r) => {
    const ours = r.cells.find((c) => c.backend === 'ours');
    const line = [r.label, cellText(ours, 'ms', r, mixed), cellText(ours, 'thr', r, mixed)];
    for (const b of others) {
      const c = r.cells.find((x) => x.backend === b);
      const ratio =
        !r.aborted && c?.medianMs !== undefined && ours?.medianMs !== undefined ? (c.medianMs / ours.medianMs).toFixed(2) : '—';
      line.push(cellText(c, 'ms', r, mixed), cellText(c, 'thr', r, mixed), ratio);
    }
    return line;
  });
  return [head, ...body];
}

export function textTable(cells: string[][]): string {
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const fmt = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return [fmt(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(fmt)].join('\n');
}

export function markdownTable(cells: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  const sep = `|${cells[0].map((_, j) => (j === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n');
}

/** Notes under the table: correctness checks and errors. */
export function notes(rows: RowResult[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    for (const c of r.checks ?? []) {
      out.push(`${r.label}: max rel diff vs ${c.against} ${c.maxRelDiff.toExponential(2)} (tolerance ${c.tolerance}) ${c.ok ? 'ok' : 'FAILED'}`);
    }
    if (r.aborted) out.push(`${r.label}: aborted: ${r.aborted}`);
    if (r.reps !== undefined) {
      const check = r.checks?.length && r.warmup === 0 ? '; the correctness check ran it once on each side first' : '';
      out.push(`${r.label}: ${r.reps === 1 ? 'one timed run' : `median of ${r.reps} runs`} after ${r.warmup ?? 0} warm-up${check} (a slow row: fewer runs than the header says)`);
    }
    if (r.note) out.push(`${r.label}: ${r.note}`);
    for (const c of r.cells) if (c.status === 'error') out.push(`${r.label}: ${c.backend} error: ${c.error}`);
  }
  return out;
}

/** Header lines ('key:   value') as a Markdown list, the command as code. */
export function markdownHeader(lines: readonly string[]): string[] {
  return lines.map((l) => `- ${l.replace(/^(\w[\w-]*):\s+/, '$1: ').replace(/^command: (.*)$/, 'command: `$1`')}`);
}

export function markdownSection(h: RunHeader, rows: RowResult[]): string {
  const cells = tableCells(rows, h.backends);
  return [
    `### ${h.date}`,
    '',
    ...markdownHeader(headerLines(h).slice(1)), // the date is the heading
    '',
    markdownTable(cells),
    '',
    ...notes(rows).map((n) => `- ${n}`),
    '',
  ].join('\n');
}
