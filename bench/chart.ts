/**
 * `--chart FILE.png`: the ratio baseline ms / ours ms of every row as a horizontal bar chart, one bar per row and
 * baseline backend (tfjs-webgpu, tfjs-wasm, torch), on a log scale, with a reference line at 1 (right of it: ours is faster). Built the way the
 * learning curves are (src/byol/curves.ts: a Vega-Lite spec, Okabe–Ito colours) and rasterized with
 * src/cli/render-png.ts's renderPng.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OKABE_ITO } from '../src/byol/curves.js';
import { renderPng } from '../src/cli/render-png.js';
import type { RunHeader } from './report.js';
import type { RowResult } from './runner.js';

export interface RatioPoint {
  row: string;
  backend: string;
  ratio: number;
}

/** Every row and baseline backend that both sides timed: ratio = baseline median ms / ours median ms. */
export function ratioPoints(rows: readonly RowResult[]): RatioPoint[] {
  const out: RatioPoint[] = [];
  for (const r of rows) {
    if (r.aborted) continue;
    const ours = r.cells.find((c) => c.backend === 'ours')?.medianMs;
    if (ours === undefined) continue;
    for (const c of r.cells) {
      if (c.backend === 'ours' || c.medianMs === undefined) continue;
      out.push({ row: r.label, backend: c.backend, ratio: c.medianMs / ours });
    }
  }
  return out;
}

export function ratioChartSpec(points: readonly RatioPoint[], title: string, subtitle: string): Record<string, unknown> {
  const rows = [...new Set(points.map((p) => p.row))];
  const lo = Math.min(0.5, ...points.map((p) => p.ratio)) / 2;
  const hi = Math.max(2, ...points.map((p) => p.ratio)) * 2;
  const x = {
    field: 'ratio',
    type: 'quantitative',
    title: 'baseline ms / ours ms (log scale; > 1: ours is faster)',
    scale: { type: 'log', domain: [lo, hi], nice: false },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle, fontSize: 15 },
    width: 520,
    height: { step: 14 },
    data: { values: points },
    layer: [
      {
        // Bars start at 1, so they point right where ours is faster and left where it is slower.
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'row', type: 'nominal', sort: rows, title: null, axis: { labelLimit: 440 } },
          yOffset: { field: 'backend', type: 'nominal' },
          x,
          x2: { datum: 1 },
          color: { field: 'backend', type: 'nominal', title: 'against', scale: { range: OKABE_ITO } },
          tooltip: [{ field: 'row' }, { field: 'backend' }, { field: 'ratio', format: '.2f' }],
        },
      },
      // The value at the bar's outer end: right of bars that point right, left of those that point left.
      ...(['left', 'right'] as const).map((align) => ({
        transform: [{ filter: align === 'left' ? 'datum.ratio >= 1' : 'datum.ratio < 1' }],
        mark: { type: 'text', align, dx: align === 'left' ? 3 : -3, fontSize: 9 },
        encoding: {
          y: { field: 'row', type: 'nominal', sort: rows },
          yOffset: { field: 'backend', type: 'nominal' },
          x,
          text: { field: 'ratio', type: 'quantitative', format: '.2f' },
        },
      })),
      { mark: { type: 'rule', color: '#000', strokeWidth: 1.5 }, encoding: { x: { datum: 1 } } },
    ],
    config: { background: 'white', font: 'DejaVu Sans', view: { stroke: '#888' } },
  };
}

/** Renders the ratio chart of a run to `file` (PNG). */
export async function writeChart(file: string, header: RunHeader, rows: readonly RowResult[]): Promise<void> {
  const points = ratioPoints(rows);
  const baselines = [...new Set(points.map((p) => p.backend))];
  const title = `Our engine vs ${baselines.length ? baselines.join(', ') : 'its baselines'}: baseline ms / ours ms`;
  const torch = header.torch && baselines.includes('torch') ? `; torch: ${header.torch.replace(/ \(.*$/, '')}` : '';
  const subtitle = points.length
    ? `${header.date}, ${header.adapter.split(' / ').slice(0, 2).join(' / ')}, sync=${header.sync}${torch}`
    : 'no row was timed on both sides';
  const png = await renderPng(ratioChartSpec(points, title, subtitle));
  const dir = dirname(file);
  if (dir && dir !== '.') mkdirSync(dir, { recursive: true });
  writeFileSync(file, png);
}
