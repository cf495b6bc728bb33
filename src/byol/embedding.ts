/**
 * A map of an encoder's embedding: its features reduced to two dimensions by UMAP (McInnes, Healy and
 * Melville, 2018; the umap-js implementation), one point per image coloured by class, encoders side by side.
 *
 * The features are scaled to unit length first, so distances on the map follow the cosine similarity the kNN
 * monitor and the neighbour grid use. Every random choice UMAP makes (its projection trees, neighbour
 * descent, initial layout and negative samples) draws from a seeded generator, so the same features and
 * seed give the same map. Browser-safe: the map is a Vega-Lite spec, rendered like the learning curves.
 */
import { UMAP } from 'umap-js';
import { Rng } from '../data/prng.js';
import { OKABE_ITO } from './curves.js';
import { unitRows } from './neighbours.js';

export interface Embedding2dOptions {
  /** UMAP's neighbourhood size (default 15, at most n − 1). */
  neighbours?: number;
  /** UMAP's minimum distance between points on the map (default 0.1). */
  minDist?: number;
  /** Optimization epochs (default: umap-js's choice, 500 for up to 10,000 points). */
  epochs?: number;
  /** Called every few epochs with (epoch, epochs); return false to stop early. Awaited, so a page can yield. */
  onEpoch?: (epoch: number, epochs: number) => boolean | void | Promise<boolean | void>;
}

/** Two-dimensional UMAP coordinates of `n` rows of `features` ([n, dim]), as [n, 2] (x, y per row). */
export async function embed2d(features: Float32Array, n: number, dim: number, seed: number, options: Embedding2dOptions = {}): Promise<Float64Array> {
  const out = new Float64Array(n * 2);
  if (n < 3) {
    // Too few points to have neighbours: a row along x.
    for (let i = 0; i < n; i++) out[2 * i] = i;
    return out;
  }
  const unit = unitRows(features, n, dim);
  const rows = Array.from({ length: n }, (_, i) => Array.from(unit.subarray(i * dim, (i + 1) * dim)));
  const rng = new Rng(seed);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(options.neighbours ?? 15, n - 1)),
    minDist: options.minDist ?? 0.1,
    ...(options.epochs ? { nEpochs: options.epochs } : {}),
    random: () => rng.nextFloat(),
  });
  const epochs = umap.initializeFit(rows);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (options.onEpoch && e % 25 === 24 && (await options.onEpoch(e + 1, epochs)) === false) break;
  }
  const emb = umap.getEmbedding();
  for (let i = 0; i < n; i++) {
    out[2 * i] = emb[i]![0]!;
    out[2 * i + 1] = emb[i]![1]!;
  }
  return out;
}

/** Point shapes that tell apart classes whose colours repeat (the palette has eight). */
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down'];

/** The colour and shape of class `c`: Okabe–Ito's eight colours in turn, a new shape every eight classes. */
export function classMark(c: number): { colour: string; shape: string } {
  return { colour: OKABE_ITO[c % OKABE_ITO.length]!, shape: SHAPES[Math.floor(c / OKABE_ITO.length) % SHAPES.length]! };
}

export interface EmbeddingPanel {
  /** The panel's title, e.g. 'random encoder · kNN 68.8 %'. */
  title: string;
  /** [n, 2] coordinates. */
  xy: Float64Array;
  labels: ArrayLike<number>;
}

/** The maps side by side as a Vega-Lite spec: one panel per encoder, axes hidden (UMAP's are arbitrary). */
export function embeddingSpec(
  panels: readonly EmbeddingPanel[],
  classNames: readonly string[],
  title: string,
  subtitle: string,
  size: { width: number; height: number } = { width: 380, height: 380 },
): Record<string, unknown> {
  const values = panels.flatMap((p) =>
    Array.from(p.labels, (label, i) => ({ encoder: p.title, x: p.xy[2 * i]!, y: p.xy[2 * i + 1]!, class: classNames[label] ?? String(label) })),
  );
  const classes = classNames.length ? [...classNames] : [...new Set(values.map((v) => v.class))];
  const marks = classes.map((_, c) => classMark(c));
  const hidden = { axis: null, scale: { zero: false, nice: false, padding: 8 } };
  // Points shrink as they get many (area 26 px² at 500 points per panel), so a crowded map keeps its shape.
  const perPanel = panels.length ? values.length / panels.length : 0;
  const pointSize = Math.max(10, Math.min(40, Math.round(26 * Math.sqrt(500 / Math.max(1, perPanel)))));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle, fontSize: 15, subtitleFontSize: 12, subtitleColor: '#444' },
    data: { values },
    facet: { column: { field: 'encoder', type: 'nominal', title: null, sort: panels.map((p) => p.title), header: { labelFontSize: 14, labelFontWeight: 'bold' } } },
    spec: {
      width: size.width,
      height: size.height,
      mark: { type: 'point', filled: true, size: pointSize, opacity: 0.85, stroke: '#222', strokeWidth: 0.4 },
      encoding: {
        x: { field: 'x', type: 'quantitative', ...hidden },
        y: { field: 'y', type: 'quantitative', ...hidden },
        color: { field: 'class', type: 'nominal', title: 'class', scale: { domain: classes, range: marks.map((m) => m.colour) } },
        shape: { field: 'class', type: 'nominal', title: 'class', scale: { domain: classes, range: marks.map((m) => m.shape) } },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { background: 'white', font: 'DejaVu Sans', view: { stroke: '#888' }, legend: { labelLimit: 200, symbolSize: 90 } },
  };
}
