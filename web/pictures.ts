/**
 * The demo page's picture of what BYOL learned, after pretraining: the evaluation of the random and the
 * pretrained encoder (linear probe and kNN, as the experiment records them, and how often the nearest labeled
 * images share a test image's class), the nearest-neighbour grid and the UMAP map of the embedding. The
 * pictures are the ones `npm run train:byol` writes (src/byol/inspect.ts): the grid's SVG drawn into a canvas,
 * the map's Vega-Lite spec rendered by vega.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { loadCheckpoint } from '../src/nn/checkpoint.js';
import type { ExperimentConfig } from '../src/byol/config.js';
import type { ExperimentData, MetricRecord } from '../src/byol/experiment.js';
import { Byol, ByolState } from '../src/byol/model.js';
import { encoderPictures, randomEncoder, type EncoderSummary } from '../src/byol/inspect.js';

export interface PicturesResult {
  encoders: EncoderSummary[];
  k: number;
  queries: number;
  mapPoints: number;
}

const $ = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
};

let mapView: vega.View | null = null;

/** Hides the panel (a new run starts). */
export function clearPictures(): void {
  mapView?.finalize();
  mapView = null;
  $('pictures-panel').hidden = true;
  $('evaluation').replaceChildren();
  $('neighbours').replaceChildren();
  $('embedding').replaceChildren();
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)} %`);

/** The table: one row per encoder, the experiment's probe and kNN beside the neighbour figures. */
function evaluationTable(records: readonly MetricRecord[], result: PicturesResult, knnK: number): HTMLTableElement {
  const byol = records.filter((r) => r.phase === 'byol');
  const random = byol.find((r) => r.epoch === 0);
  const last = byol.filter((r) => r.epoch > 0).at(-1);
  const table = document.createElement('table');
  table.className = 'evaluation';
  const head = table.createTHead().insertRow();
  for (const h of ['encoder', 'linear probe', `kNN (k = ${knnK})`, `nearest ${result.k} share the class`, `the ${result.queries} queries drawn`]) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  result.encoders.forEach((e, i) => {
    const rec = i === 0 ? random : last;
    const row = body.insertRow();
    const cells = [
      e.name + (i > 0 && last ? ` (epoch ${last.epoch})` : ''),
      pct(rec?.probeAccuracy),
      pct(rec?.knnAccuracy ?? e.knnAccuracy),
      pct(e.neighbourMatch),
      pct(e.queryMatch),
    ];
    for (const c of cells) row.insertCell().textContent = c;
  });
  return table;
}

/** Draws an SVG into a new canvas at its own size (scaled down by CSS to the panel). */
async function svgCanvas(svg: string): Promise<HTMLCanvasElement> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0);
    return canvas;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Computes and shows the pictures of the encoder in `byolCheckpoint` (the experiment's BYOL checkpoint of the
 * last finished epoch) beside the random encoder the run started from.
 */
export async function showPictures(
  byolCheckpoint: Uint8Array,
  config: ExperimentConfig,
  data: ExperimentData,
  records: readonly MetricRecord[],
  log: (line: string) => void,
): Promise<PicturesResult> {
  const byol = Byol.create(config, 0);
  const random = randomEncoder(config);
  try {
    loadCheckpoint(byolCheckpoint, { model: new ByolState(byol) }, 'BYOL checkpoint');
    // Two square maps and the legend across the panel (hidden until now, so its width may read 0).
    const box = $('embedding');
    const size = Math.max(220, Math.min(380, Math.floor(((box.clientWidth || 1000) - 260) / 2)));
    const p = await encoderPictures(
      [
        { name: 'random encoder', encoder: random },
        { name: 'pretrained encoder', encoder: byol.online.encoder },
      ],
      data,
      config,
      { log, yieldNow: () => new Promise((ok) => setTimeout(ok, 0)), mapSize: { width: size, height: size } },
    );
    const result: PicturesResult = { encoders: p.encoders, k: p.k, queries: p.queries, mapPoints: p.mapPoints };
    $('pictures-panel').hidden = false;
    $('evaluation').replaceChildren(evaluationTable(records, result, config.knnK));
    $('neighbours').replaceChildren(await svgCanvas(p.neighboursSvg));
    mapView?.finalize();
    box.replaceChildren();
    mapView = new vega.View(vega.parse(compile(p.embeddingSpec as unknown as TopLevelSpec).spec), { renderer: 'canvas', container: box, hover: false });
    await mapView.runAsync();
    return result;
  } finally {
    random.dispose();
    byol.dispose();
  }
}
