/**
 * Learning curves as a Vega-Lite spec: test accuracy and loss per epoch, the supervised arm against the
 * semi-supervised one (and BYOL's pretraining loss), in the Okabe–Ito colour-blind-friendly palette.
 * Browser-safe: the demo page renders the same spec with vega; the CLI turns it into a PNG.
 */

export interface CurvePoint {
  /** e.g. 'supervised', 'BYOL + fine-tune', 'BYOL pretraining'. */
  arm: string;
  /** e.g. 'test accuracy', 'train loss'. */
  metric: string;
  epoch: number;
  value: number;
}

/** Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision deficiencies. */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

export function curvesSpec(points: readonly CurvePoint[], title: string): Record<string, unknown> {
  const metrics = [...new Set(points.map((p) => p.metric))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 15 },
    data: { values: points },
    facet: { field: 'metric', type: 'nominal', title: null, sort: metrics, header: { labelFontSize: 13 } },
    columns: Math.min(3, metrics.length),
    resolve: { scale: { y: 'independent', x: 'independent' } },
    spec: {
      width: 340,
      height: 240,
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'arm', type: 'nominal', title: 'arm', scale: { range: OKABE_ITO } },
        shape: { field: 'arm', type: 'nominal', title: 'arm' },
        strokeDash: { field: 'arm', type: 'nominal', title: 'arm' },
      },
    },
    config: { background: 'white', font: 'DejaVu Sans', view: { stroke: '#888' } },
  };
}
