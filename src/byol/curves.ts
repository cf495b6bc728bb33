/**
 * Learning curves as a Vega-Lite spec: test accuracy and loss per epoch, the supervised arm against the
 * semi-supervised one (and BYOL's pretraining loss), in the Okabe–Ito colour-blind-friendly palette.
 * Browser-safe: the demo page renders the same spec with vega; the CLI turns it into a PNG.
 */
import { DIFFERENCES, type DifferenceName } from './report.js';

export interface CurvePoint {
  /** e.g. 'supervised', 'BYOL + fine-tune', 'BYOL pretraining'. */
  arm: string;
  /** e.g. 'test accuracy', 'train loss'. */
  metric: string;
  epoch: number;
  value: number;
  /** The run's seed, when points of several seeds are drawn together (a mean line in a ± sd band). */
  seed?: number;
}

/** Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision deficiencies. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/**
 * One panel per metric, three to a row, sharing the colour (arm) legend. Panels whose metric is a loss use a
 * logarithmic y axis: a loss spans orders of magnitude early on (e.g. an eval loss before batch-norm
 * statistics settle), which would flatten the rest of a linear axis.
 */
export function curvesSpec(
  points: readonly CurvePoint[],
  title: string,
  armOrder: readonly string[] = [],
  panel: { width: number; height: number } = { width: 340, height: 240 },
): Record<string, unknown> {
  const metrics = [...new Set(points.map((p) => p.metric))];
  const seen = [...new Set(points.map((p) => p.arm))];
  // Arms named in armOrder take the first palette colours, in that order.
  const arms = [...armOrder.filter((a) => seen.includes(a)), ...seen.filter((a) => !armOrder.includes(a))];
  const seeds = new Set(points.map((p) => p.seed).filter((s) => s !== undefined)).size;
  const chart = (metric: string) => {
    const values = points.filter((p) => p.metric === metric).map((p) => p.value);
    const log = /loss/i.test(metric) && values.length > 0 && values.every((v) => v > 0);
    const x = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } };
    const scale = log ? { type: 'log' } : { zero: false };
    const color = { field: 'arm', type: 'nominal', title: 'arm', scale: { domain: arms, range: OKABE_ITO } };
    const line = {
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x,
        y: { field: 'value', type: 'quantitative', aggregate: 'mean', title: seeds > 1 ? `mean of ${seeds} seeds ± sd${log ? ', log scale' : ''}` : log ? 'log scale' : null, scale },
        color,
        shape: { field: 'arm', type: 'nominal', title: 'arm', scale: { domain: arms } },
        strokeDash: { field: 'arm', type: 'nominal', title: 'arm', scale: { domain: arms } },
      },
    };
    const band = {
      mark: { type: 'errorband', extent: 'stdev', opacity: 0.25 },
      encoding: { x, y: { field: 'value', type: 'quantitative', title: null, scale }, color },
    };
    return {
      title: { text: metric, fontSize: 13 },
      width: panel.width,
      height: panel.height,
      transform: [{ filter: { field: 'metric', equal: metric } }],
      layer: seeds > 1 ? [band, line] : [line],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 15 },
    data: { values: points },
    concat: metrics.map(chart),
    columns: Math.min(3, metrics.length),
    resolve: { scale: { color: 'shared', shape: 'shared', strokeDash: 'shared', y: 'independent', x: 'independent' } },
    config: { background: 'white', font: 'DejaVu Sans', view: { stroke: '#888' }, legend: { labelLimit: 260 } },
  };
}

/** One gain of pretraining (points) after `images` images of BYOL, for the gain curve. */
export interface GainPoint {
  /** Which difference (report.ts's DIFFERENCES). */
  gain: DifferenceName;
  images: number;
  /** Percentage points. */
  value: number;
  seed?: number;
}

/**
 * The gain curve (gains.png): each gain of pretraining in points against the images BYOL has seen, a line per
 * gain, with a rule at zero (no gain); over several seeds the mean line in a band of ± one standard error of
 * the mean (not the sd: the band says how well the mean is known, which is what "beyond its noise" asks).
 */
export function gainsSpec(points: readonly GainPoint[], title: string, panel: { width: number; height: number } = { width: 560, height: 320 }): Record<string, unknown> {
  const gains = DIFFERENCES.map(([name]) => name).filter((g) => points.some((p) => p.gain === g));
  const seeds = new Set(points.map((p) => p.seed).filter((s) => s !== undefined)).size;
  const x = { field: 'images', type: 'quantitative', title: 'images seen by BYOL pretraining', axis: { format: '~s' } };
  const color = { field: 'gain', type: 'nominal', title: 'gain', scale: { domain: gains, range: OKABE_ITO } };
  const yTitle = seeds > 1 ? `gain, points (mean of ${seeds} seeds ± SE)` : 'gain, points';
  const line = {
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative', aggregate: 'mean', title: yTitle },
      color,
      shape: { field: 'gain', type: 'nominal', title: 'gain', scale: { domain: gains } },
    },
  };
  const band = { mark: { type: 'errorband', extent: 'stderr', opacity: 0.2 }, encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle }, color } };
  const zero = { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#444', strokeDash: [4, 3] }, encoding: { y: { field: 'zero', type: 'quantitative' } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 15 },
    width: panel.width,
    height: panel.height,
    data: { values: points },
    layer: seeds > 1 ? [band, line, zero] : [line, zero],
    config: { background: 'white', font: 'DejaVu Sans', view: { stroke: '#888' }, legend: { labelLimit: 300, orient: 'bottom' } },
  };
}
