/**
 * The in-browser demo: BYOL pretraining in the page with the engine's own modules (no fork above src/gpu).
 * The run is the same Experiment class `npm run train:byol` drives, configured BYOL-only (the supervised and
 * fine-tuning phases get 0 epochs), with a browser ExperimentIO: checkpoints stay in memory, shouldStop() is
 * the pause button, and resume is Experiment.run(true) from the in-memory checkpoint of the last finished
 * epoch. The curves are the Vega-Lite spec of src/byol/curves.ts, rendered by vega in the page; after
 * pretraining, web/pictures.ts shows both encoders' evaluation, nearest neighbours and embedding map.
 *
 * Query parameters (all optional): preset=demo|tiny, dataset=<server id>, size, width, batch, epochs,
 * unlabeled, labels (per class), test, heldout, optimizer=lars|adamw|sgd, lr (per 256 images), seed,
 * stem=imagenet|small, knn (k), adapter=auto|core|compat, autostart=1.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { init, NoAdapterError, noAdapterHelp, getRuntime, scope, fromArray, type GpuRuntime } from '../src/index.js';
import { encodeCheckpoint, loadCheckpoint } from '../src/nn/checkpoint.js';
import { WIDTH_LIMITS, presetConfig, type ExperimentConfig, type OptimizerName } from '../src/byol/config.js';
import { Experiment, prepareData, type ExperimentData, type MetricRecord, type ProgressEvent } from '../src/byol/experiment.js';
import { byolLoader, byolViews } from '../src/byol/byol-phase.js';
import { phaseKeys, savedProgress } from '../src/byol/experiment-state.js';
import { Byol, ByolState } from '../src/byol/model.js';
import { ByolAugment } from '../src/byol/augment.js';
import { curvesSpec, type CurvePoint } from '../src/byol/curves.js';
import { semiSupervisedSplit, type BatchLoader, type DatasetSplits } from '../src/data/index.js';
import { fetchServerDatasets, filesFromDrop, loadServerSample, loadUserFiles, type PickedFile, type ServerDataset } from './datasets.js';
import { runReplayTest, runSelfTest } from './selftest.js';
import { clearPictures, showPictures, type PicturesResult } from './pictures.js';

type DemoState = 'starting' | 'no-webgpu' | 'ready' | 'loading' | 'training' | 'pausing' | 'paused' | 'done' | 'error';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

const query = new URLSearchParams(location.search);

// ------------------------------------------------------------------------------------------------------
// Settings: a preset, then query parameters, then the form.

interface Setting {
  key: string;
  label: string;
  kind: 'int' | 'number' | string[];
  get(c: ExperimentConfig): number | string;
  set(c: ExperimentConfig, v: number | string): void;
  min?: number;
}

const SETTINGS: Setting[] = [
  { key: 'size', label: 'image size (px)', kind: 'int', min: 8, get: (c) => c.imageSize, set: (c, v) => (c.imageSize = v as number) },
  { key: 'width', label: 'ResNet-18 width (64 = full)', kind: 'int', min: WIDTH_LIMITS.min, get: (c) => c.width, set: (c, v) => (c.width = v as number) },
  { key: 'stem', label: 'stem', kind: ['imagenet', 'small'], get: (c) => c.stem, set: (c, v) => (c.stem = v as ExperimentConfig['stem']) },
  { key: 'batch', label: 'batch size', kind: 'int', min: 2, get: (c) => c.batch, set: (c, v) => (c.batch = v as number) },
  { key: 'epochs', label: 'BYOL epochs', kind: 'int', min: 1, get: (c) => c.byol.epochs, set: (c, v) => (c.byol.epochs = v as number) },
  { key: 'unlabeled', label: 'unlabeled images', kind: 'int', min: 2, get: (c) => c.unlabeledImages, set: (c, v) => (c.unlabeledImages = v as number) },
  { key: 'labels', label: 'labels per class (kNN)', kind: 'int', min: 1, get: (c) => c.labelsPerClass, set: (c, v) => (c.labelsPerClass = v as number) },
  { key: 'test', label: 'test images (kNN)', kind: 'int', min: 1, get: (c) => c.testImages, set: (c, v) => (c.testImages = v as number) },
  { key: 'heldout', label: 'held-out images', kind: 'int', min: 1, get: (c) => c.heldOutImages, set: (c, v) => (c.heldOutImages = v as number) },
  { key: 'knn', label: 'k of the kNN monitor', kind: 'int', min: 1, get: (c) => c.knnK, set: (c, v) => (c.knnK = v as number) },
  { key: 'optimizer', label: 'optimizer', kind: ['lars', 'adamw', 'sgd'], get: (c) => c.byol.optimizer, set: (c, v) => (c.byol.optimizer = v as OptimizerName) },
  { key: 'lr', label: 'learning rate per 256 images', kind: 'number', min: 0, get: (c) => c.byol.lrPer256, set: (c, v) => (c.byol.lrPer256 = v as number) },
  { key: 'seed', label: 'seed', kind: 'int', min: 0, get: (c) => c.seed, set: (c, v) => (c.seed = v as number) },
];

/** The demo's presets: BYOL only (no supervised baseline or fine-tuning), small enough for a laptop. */
function presetFor(name: string): ExperimentConfig {
  const c = presetConfig('smoke');
  c.finetune = { ...c.finetune, epochs: 0 };
  if (name === 'tiny') {
    // Seconds even on a software adapter: one repeated batch of 8, so the loss falls step after step.
    Object.assign(c, { imageSize: 16, width: 4, batch: 8, labelsPerClass: 2, unlabeledImages: 8, heldOutImages: 8, testImages: 20, knnK: 5 });
    c.byol = { ...c.byol, epochs: 8, optimizer: 'lars', lrPer256: 2, projectorHidden: 32, projectionDim: 16, predictorHidden: 32 };
  } else {
    Object.assign(c, { imageSize: 24, width: 8, batch: 32, labelsPerClass: 10, unlabeledImages: 512, heldOutImages: 64, testImages: 200, knnK: 10 });
    c.byol = { ...c.byol, epochs: 10, optimizer: 'lars', lrPer256: 1, projectorHidden: 256, projectionDim: 64, predictorHidden: 256 };
  }
  return c;
}

const presetName = query.get('preset') === 'tiny' ? 'tiny' : 'demo';

function initialConfig(): ExperimentConfig {
  const c = presetFor(presetName);
  c.preset = 'smoke';
  for (const s of SETTINGS) {
    const raw = query.get(s.key);
    if (raw === null) continue;
    if (Array.isArray(s.kind)) {
      if (s.kind.includes(raw)) s.set(c, raw);
    } else {
      const v = Number(raw);
      if (Number.isFinite(v) && (s.kind === 'number' || Number.isInteger(v)) && v >= (s.min ?? -Infinity)) s.set(c, v);
    }
  }
  return c;
}

function renderSettings(c: ExperimentConfig): void {
  const box = $('settings');
  box.replaceChildren();
  for (const s of SETTINGS) {
    const label = document.createElement('label');
    label.textContent = s.label;
    let input: HTMLInputElement | HTMLSelectElement;
    if (Array.isArray(s.kind)) {
      const sel = document.createElement('select');
      for (const k of s.kind) sel.append(new Option(k, k));
      sel.value = String(s.get(c));
      input = sel;
    } else {
      const inp = document.createElement('input');
      inp.type = 'number';
      inp.step = s.kind === 'int' ? '1' : 'any';
      if (s.min !== undefined) inp.min = String(s.min);
      inp.value = String(s.get(c));
      input = inp;
    }
    input.id = `set-${s.key}`;
    label.append(input);
    box.append(label);
  }
}

function readSettings(): ExperimentConfig {
  const c = presetFor(presetName);
  c.preset = 'smoke';
  for (const s of SETTINGS) {
    const el = document.getElementById(`set-${s.key}`) as HTMLInputElement | HTMLSelectElement | null;
    if (!el) continue;
    if (Array.isArray(s.kind)) s.set(c, el.value);
    else {
      const v = Number(el.value);
      if (!Number.isFinite(v) || (s.kind === 'int' && !Number.isInteger(v)) || v < (s.min ?? -Infinity)) {
        throw new Error(`${s.label}: "${el.value}" is not ${s.kind === 'int' ? 'an integer' : 'a number'}${s.min !== undefined ? ` ≥ ${s.min}` : ''}`);
      }
      s.set(c, v);
    }
  }
  return c;
}

// ------------------------------------------------------------------------------------------------------
// Page state, shared with the browser test through window.__demo.

const demo = {
  state: 'starting' as DemoState,
  error: null as string | null,
  adapter: null as { name: string; software: boolean; featureLevel: 'core' | 'compatibility'; features: string[]; limits: Record<string, number> } | null,
  dataset: null as string | null,
  config: null as ExperimentConfig | null,
  records: [] as MetricRecord[],
  speed: [] as { epoch: number; step: number; steps: number; imagesPerSecond: number }[],
  previewsDrawn: 0,
  chartsDrawn: 0,
  /** The evaluation shown with the pictures after pretraining, and how many times they were drawn. */
  pictures: null as PicturesResult | null,
  picturesDrawn: 0,
  lines: [] as string[],
  hasEncoder: false,
  pause: (): void => undefined,
  resume: (): Promise<void> => Promise.resolve(),
  start: (): Promise<void> => Promise.resolve(),
};
declare global {
  interface Window {
    __demo: typeof demo;
    __selfTest: typeof runSelfTest;
    __replayTest: typeof runReplayTest;
  }
}
window.__demo = demo;
window.__selfTest = runSelfTest;
window.__replayTest = runReplayTest;

function log(line: string): void {
  demo.lines.push(line);
  const el = $('log');
  el.textContent += line + '\n';
  el.scrollTop = el.scrollHeight;
  console.log(`[demo] ${line}`);
}

function setState(s: DemoState, text?: string): void {
  demo.state = s;
  const busy = s === 'loading' || s === 'training' || s === 'pausing';
  ($('start') as HTMLButtonElement).disabled = busy || s === 'no-webgpu' || s === 'starting';
  ($('start') as HTMLButtonElement).textContent = s === 'paused' || s === 'done' || s === 'error' ? 'Start over' : 'Start';
  ($('pause') as HTMLButtonElement).disabled = s !== 'training';
  ($('resume') as HTMLButtonElement).disabled = s !== 'paused';
  ($('save') as HTMLButtonElement).disabled = !demo.hasEncoder || s === 'pausing';
  $('status').textContent = text ?? s;
  document.body.dataset.state = s;
}

function fail(e: unknown): void {
  const err = e as Error;
  demo.error = err.message ?? String(e);
  log(`error: ${err.stack ?? err.message}`);
  setState('error', `Error: ${err.message}`);
}

// ------------------------------------------------------------------------------------------------------
// WebGPU: the adapter, or why there is none.

function showNoWebGpu(reason: string): void {
  const box = $('no-webgpu');
  box.hidden = false;
  const secure = window.isSecureContext
    ? ''
    : '\n\nThis page is not a secure context: WebGPU needs https, or http://localhost / http://127.0.0.1 (the address `npm run demo` prints).';
  box.textContent =
    `WebGPU is not available here, so the demo cannot train.\n\n${reason}${secure}\n\n` +
    'How to turn it on:\n' +
    '  • Chrome / Edge 113 or newer: on by default on Windows, macOS and ChromeOS. On Linux start the browser with\n' +
    '    --enable-unsafe-webgpu --enable-features=Vulkan (or enable chrome://flags/#enable-unsafe-webgpu) and restart it.\n' +
    '    Without a GPU driver, Chrome still offers a software adapter with --enable-unsafe-webgpu; add\n' +
    '    --use-angle=gl-egl --use-webgpu-adapter=opengles and open this page with ?adapter=compat for a faster one.\n' +
    '  • Firefox: version 141+ on Windows; elsewhere Nightly with dom.webgpu.enabled = true in about:config.\n' +
    '  • Safari: Safari 26, or Develop → Feature Flags → WebGPU on older versions.\n' +
    'Check chrome://gpu (or about:support) for "WebGPU: Hardware accelerated".';
  $('adapter').textContent = 'No WebGPU adapter.';
  $('adapter').classList.add('bad');
}

/** Makes the engine's adapter request ask for a compatibility-mode adapter (OpenGL ES backends). */
function preferCompatibility(gpu: GPU): void {
  const original = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = (options?: GPURequestAdapterOptions) => original({ ...options, featureLevel: 'compatibility' } as GPURequestAdapterOptions);
}

async function startEngine(): Promise<GpuRuntime | null> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    showNoWebGpu(`navigator.gpu is missing in this browser. ${noAdapterHelp()}`);
    return null;
  }
  const mode = query.get('adapter') ?? 'auto';
  let compat = mode === 'compat';
  if (compat) preferCompatibility(gpu);
  let rt: GpuRuntime;
  try {
    rt = await init();
  } catch (e) {
    if (!(e instanceof NoAdapterError) || mode !== 'auto') {
      showNoWebGpu((e as Error).message);
      return null;
    }
    // No core adapter: a compatibility-mode one (e.g. Chrome on OpenGL ES) may still be there.
    preferCompatibility(gpu);
    compat = true;
    try {
      rt = await init();
    } catch (e2) {
      showNoWebGpu((e2 as Error).message);
      return null;
    }
  }
  const report = rt.report;
  const featureLevel = compat && !rt.device.features.has('core-features-and-limits' as GPUFeatureName) ? 'compatibility' : 'core';
  // Compatibility-mode adapters on OpenGL ES may report no vendor or device at all.
  const name = report.name === 'unknown adapter' ? `unnamed adapter (the browser reports no vendor or device${compat ? '; OpenGL ES backend' : ''})` : report.name;
  demo.adapter = { name, software: report.software, featureLevel, features: report.features, limits: report.limits };
  const lim = report.limits;
  $('adapter').textContent =
    `Adapter: ${name}${report.software ? ' (software)' : ''} · WebGPU ${featureLevel}` +
    ` · max storage buffer ${((lim.maxStorageBufferBindingSize ?? 0) / 2 ** 20).toFixed(0)} MiB` +
    ` · workgroup storage ${((lim.maxComputeWorkgroupStorageSize ?? 0) / 1024).toFixed(0)} KiB` +
    ` · ${lim.maxComputeInvocationsPerWorkgroup ?? '?'} invocations/workgroup` +
    ` · features: ${report.features.filter((f) => ['shader-f16', 'subgroups', 'timestamp-query'].includes(f)).join(', ') || 'none of f16/subgroups/timestamps'}`;
  $('features').textContent = `Features: ${report.features.join(', ') || '(none)'}`;
  const table = $('limits') as HTMLTableElement;
  for (const [k, v] of Object.entries(lim).sort()) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = String(v);
  }
  log(`adapter: ${name} (WebGPU ${featureLevel}${report.software ? ', software' : ''})`);
  return rt;
}

// ------------------------------------------------------------------------------------------------------
// Data sources.

let serverDatasets: ServerDataset[] = [];
let userData: { splits: DatasetSplits; files: PickedFile[] } | null = null;

function fillDatasetSelect(selected?: string): void {
  const sel = $('dataset') as HTMLSelectElement;
  sel.replaceChildren();
  for (const d of serverDatasets) sel.append(new Option(d.name, `server:${d.id}`));
  if (userData) sel.append(new Option(`Your files: ${userData.splits.name}`, 'user'));
  if (selected && [...sel.options].some((o) => o.value === selected)) sel.value = selected;
}

async function acceptFiles(files: PickedFile[]): Promise<void> {
  if (files.length === 0) return;
  if (demo.state === 'training' || demo.state === 'pausing' || demo.state === 'loading') {
    log('files ignored: pause or let the run finish before loading other data');
    return;
  }
  try {
    setState('loading', `Reading ${files.length} file(s)…`);
    const c = readSettings();
    const splits = await loadUserFiles(files, { imageSide: Math.max(32, c.imageSize), seed: c.seed });
    userData = { splits, files };
    fillDatasetSelect('user');
    log(`loaded ${splits.name}: ${splits.train.length} training, ${splits.test?.length ?? 0} test${splits.unlabeled ? `, ${splits.unlabeled.length} unlabeled` : ''} images, ${splits.train.channels}×${splits.train.height}×${splits.train.width}`);
    setState('ready', 'Ready: press Start');
  } catch (e) {
    fail(e);
  }
}

function wireFileInputs(): void {
  const drop = $('drop');
  for (const id of ['files', 'folder']) {
    const input = $(id) as HTMLInputElement;
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
      void acceptFiles(files);
      input.value = '';
    });
  }
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer) void filesFromDrop(e.dataTransfer).then(acceptFiles, fail);
  });
}

async function loadChosenData(c: ExperimentConfig): Promise<DatasetSplits> {
  const choice = ($('dataset') as HTMLSelectElement).value;
  if (choice === 'user') {
    if (!userData) throw new Error('no files loaded');
    return userData.splits;
  }
  const ds = serverDatasets.find((d) => `server:${d.id}` === choice);
  if (!ds) throw new Error('choose a dataset first (or drop your own files)');
  const classes = ds.classNames.length;
  // Enough training images for the labeled subset of every class, the pool and the held-out part.
  const trainCount = 2 * c.labelsPerClass * classes + c.unlabeledImages + c.heldOutImages;
  return loadServerSample(ds, trainCount, c.testImages);
}

/** Labels per class, at most what the smallest class of the training split holds. */
function fitLabelsPerClass(splits: DatasetSplits, wanted: number): number {
  const labels = splits.train.labels;
  if (!labels) throw new Error(`${splits.name}: the training images carry no labels; the kNN monitor needs some`);
  const counts = new Array<number>(splits.train.numClasses).fill(0);
  for (const l of labels) if (l >= 0) counts[l]!++;
  const present = counts.filter((n) => n > 0);
  return Math.max(1, Math.min(wanted, ...present));
}

// ------------------------------------------------------------------------------------------------------
// The augmented views, drawn exactly as training draws them: the images the loader puts in the first slots
// of the current batch, with the augmentation parameters of that step.

const PREVIEW = 6;

class ViewPreview {
  private readonly aug: ByolAugment;
  private readonly loader: BatchLoader;
  private readonly key: number;
  private busy = false;
  private last = 0;
  private readonly canvases: { orig: HTMLCanvasElement; v1: HTMLCanvasElement; v2: HTMLCanvasElement }[] = [];

  constructor(
    private readonly data: ExperimentData,
    private readonly config: ExperimentConfig,
  ) {
    // The BYOL phase's own views, loader and key of its training views (src/byol/byol-phase.ts).
    this.aug = new ByolAugment({ size: config.imageSize, views: byolViews(config) }, data.stats);
    this.loader = byolLoader(data.pool, config);
    this.key = phaseKeys(config.seed, 'byol').views;
    const box = $('views');
    box.replaceChildren();
    const n = Math.min(PREVIEW, config.batch);
    for (let i = 0; i < n; i++) {
      const fig = document.createElement('figure');
      const trio = document.createElement('div');
      trio.className = 'trio';
      const mk = (title: string): HTMLCanvasElement => {
        const cv = document.createElement('canvas');
        cv.title = title;
        trio.append(cv);
        return cv;
      };
      this.canvases.push({ orig: mk('image'), v1: mk('view 1 (τ)'), v2: mk("view 2 (τ′)") });
      const cap = document.createElement('figcaption');
      cap.textContent = `slot ${i}: image · view 1 · view 2`;
      fig.append(trio, cap);
      box.append(fig);
    }
  }

  /** Draws the views of batch `batch` of epoch `epoch` (0-based) at global step `step`; skips if one is in flight. */
  request(epoch: number, batch: number, step: number, force = false): void {
    const now = performance.now();
    if (this.busy || (!force && now - this.last < 500)) return;
    this.busy = true;
    this.last = now;
    this.draw(epoch, batch, step)
      .catch((e: unknown) => log(`views: ${(e as Error).message}`))
      .finally(() => (this.busy = false));
  }

  private async draw(epoch: number, batch: number, step: number): Promise<void> {
    const ds = this.data.pool;
    const n = this.canvases.length;
    const order = this.loader.epochOrder(epoch);
    const idx = order.slice(batch * this.config.batch, batch * this.config.batch + n);
    const images = await ds.readImages(idx);
    const words = new Uint32Array(Math.ceil(images.length / 4));
    new Uint8Array(words.buffer).set(images);
    const shape = { n, c: ds.channels, h: ds.height, w: ds.width };
    const [v1, v2] = scope(() => {
      const px = fromArray(words, [words.length], 'uint32');
      return this.aug.apply(px, shape, this.aug.drawBatch(shape, step, this.key));
    });
    const [a, b] = await Promise.all([v1!.data(), v2!.data()]);
    v1!.dispose();
    v2!.dispose();
    const S = this.config.imageSize;
    const { mean, std } = this.aug.stats;
    const plane = ds.height * ds.width;
    for (let i = 0; i < n; i++) {
      const c = this.canvases[i]!;
      // The image as stored (grey or RGB).
      drawRgb(c.orig, ds.width, ds.height, (p, ch) => images[(i * ds.channels + (ds.channels === 1 ? 0 : ch)) * plane + p]!);
      // The views, de-normalized with the dataset statistics.
      for (const [cv, v] of [[c.v1, a], [c.v2, b]] as const) {
        const f = v as Float32Array;
        drawRgb(cv, S, S, (p, ch) => 255 * (f[(i * 3 + ch) * S * S + p]! * std[ch]! + mean[ch]!));
      }
    }
    $('views-caption').textContent = `— step ${step + 1} (epoch ${epoch + 1}, batch ${batch + 1}); the first ${n} images of the batch as the network sees them`;
    demo.previewsDrawn++;
  }
}

function drawRgb(canvas: HTMLCanvasElement, w: number, h: number, value: (pixel: number, channel: number) => number): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  for (let p = 0; p < w * h; p++) {
    for (let ch = 0; ch < 3; ch++) img.data[4 * p + ch] = Math.max(0, Math.min(255, Math.round(value(p, ch))));
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// ------------------------------------------------------------------------------------------------------
// Curves: the shared Vega-Lite spec, rendered with vega (canvas). Redraws are coalesced.

let chartView: vega.View | null = null;
let chartBusy = false;
let chartAgain = false;
let chartLast = 0;

function curvePoints(): CurvePoint[] {
  const pts: CurvePoint[] = [];
  const k = demo.config?.knnK ?? 20;
  for (const r of demo.records) {
    if (r.phase !== 'byol') continue;
    if (r.trainLoss !== undefined) pts.push({ arm: 'train', metric: 'BYOL loss', epoch: r.epoch, value: r.trainLoss });
    if (r.heldOutLoss !== undefined) pts.push({ arm: 'held out', metric: 'BYOL loss', epoch: r.epoch, value: r.heldOutLoss });
    if (r.valLoss !== undefined) pts.push({ arm: 'test', metric: 'BYOL loss', epoch: r.epoch, value: r.valLoss });
    if (r.knnAccuracy !== undefined) pts.push({ arm: `kNN (k=${k})`, metric: 'encoder accuracy', epoch: r.epoch, value: r.knnAccuracy });
    if (r.probeAccuracy !== undefined) pts.push({ arm: 'linear probe', metric: 'encoder accuracy', epoch: r.epoch, value: r.probeAccuracy });
  }
  for (const s of demo.speed) pts.push({ arm: 'per step', metric: 'images per second', epoch: s.epoch - 1 + s.step / s.steps, value: s.imagesPerSecond });
  return pts;
}

function redrawChart(force = false): void {
  if (chartBusy) {
    chartAgain = true;
    return;
  }
  if (!force && performance.now() - chartLast < 1000) {
    chartAgain = true;
    setTimeout(() => chartAgain && redrawChart(), 1000);
    return;
  }
  chartAgain = false;
  chartBusy = true;
  chartLast = performance.now();
  void (async () => {
    try {
      const points = curvePoints();
      if (points.length === 0) return;
      // Fit three panels and the legend into the page.
      const box = $('chart');
      const width = Math.max(180, Math.min(340, Math.floor((box.clientWidth - 260) / 3)));
      const spec = curvesSpec(points, `BYOL in the browser: ${demo.dataset ?? ''}`, [], { width, height: 200 });
      const compiled = compile(spec as unknown as TopLevelSpec).spec;
      chartView?.finalize();
      box.replaceChildren();
      chartView = new vega.View(vega.parse(compiled), { renderer: 'canvas', container: box, hover: false });
      await chartView.runAsync();
      demo.chartsDrawn++;
    } catch (e) {
      log(`chart: ${(e as Error).message}`);
    } finally {
      chartBusy = false;
      if (chartAgain) redrawChart(true);
    }
  })();
}

// ------------------------------------------------------------------------------------------------------
// Training.

let data: ExperimentData | null = null;
let config: ExperimentConfig | null = null;
let preview: ViewPreview | null = null;
let pauseRequested = false;
const checkpoints = new Map<string, Uint8Array>();
let byolCheckpoint: { bytes: Uint8Array; epochs: number } | null = null;
let runStarted = 0;

function browserIO() {
  return {
    log,
    progress(e: ProgressEvent): void {
      if (e.phase !== 'byol' || !config) return;
      const total = config.byol.epochs * e.steps;
      const done = (e.epoch - 1) * e.steps + e.step;
      ($('progress') as HTMLProgressElement).value = done / total;
      if (demo.state === 'training') setState('training', `Training: epoch ${e.epoch}/${e.epochs}, step ${e.step}/${e.steps} · ${e.imagesPerSecond.toFixed(1)} images/s`);
      demo.speed.push({ epoch: e.epoch, step: e.step, steps: e.steps, imagesPerSecond: e.imagesPerSecond });
      redrawChart();
      preview?.request(e.epoch - 1, e.step - 1, done - 1, e.step === 1);
    },
    async saveCheckpoint(name: string, bytes: Uint8Array): Promise<void> {
      checkpoints.set(name, bytes);
      const saved = savedProgress(bytes);
      if (saved?.phase === 'byol' && saved.epochsDone > 0) {
        byolCheckpoint = { bytes, epochs: saved.epochsDone };
        demo.hasEncoder = true;
        ($('save') as HTMLButtonElement).disabled = false;
      }
    },
    async loadCheckpoint(name: string): Promise<Uint8Array | null> {
      return checkpoints.get(name) ?? null;
    },
    async metrics(records: readonly MetricRecord[]): Promise<void> {
      demo.records = records.map((r) => ({ ...r }));
      redrawChart(true);
    },
    shouldStop: (): boolean => pauseRequested,
  };
}

async function runExperiment(resume: boolean): Promise<void> {
  if (!config || !data) return;
  pauseRequested = false;
  setState('training', resume ? 'Resuming…' : 'Training…');
  try {
    const exp = new Experiment(config, data, browserIO());
    const result = await exp.run(resume);
    if (result.stopped) {
      const done = byolCheckpoint?.epochs ?? 0;
      log(`paused; ${done} BYOL epoch(s) finished (resume continues from the end of epoch ${done})`);
      setState('paused', `Paused after ${done} finished epoch(s)`);
    } else {
      await drawPictures();
      const secs = (performance.now() - runStarted) / 1000;
      log(`done: ${config.byol.epochs} BYOL epochs in ${secs.toFixed(1)} s`);
      setState('done', `Done: ${config.byol.epochs} epochs in ${secs.toFixed(1)} s`);
    }
    redrawChart(true);
  } catch (e) {
    fail(e);
  }
}

/** What the encoder learned: the evaluation, its nearest neighbours and the map (web/pictures.ts). */
async function drawPictures(): Promise<void> {
  if (!byolCheckpoint || !config || !data) return;
  setState('training', "Drawing the encoder's nearest neighbours and map…");
  try {
    demo.pictures = await showPictures(byolCheckpoint.bytes, config, data, demo.records, log);
    demo.picturesDrawn++;
    for (const e of demo.pictures.encoders) {
      log(`${e.name}: the ${demo.pictures.k} nearest labeled images share the test image's class ${(100 * e.neighbourMatch).toFixed(1)}% of the time (kNN ${(100 * e.knnAccuracy).toFixed(1)}%)`);
    }
  } catch (e) {
    log(`pictures: ${(e as Error).message}`);
  }
}

async function start(): Promise<void> {
  try {
    setState('loading', 'Loading data…');
    clearPictures();
    demo.pictures = null;
    config = readSettings();
    const splits = await loadChosenData(config);
    demo.dataset = splits.name;
    config.dataset = splits.name;
    config.labelsPerClass = fitLabelsPerClass(splits, config.labelsPerClass);
    const split = semiSupervisedSplit(splits, { labeledPerClass: config.labelsPerClass, seed: config.seed });
    data = await prepareData(split, config, splits.name);
    demo.config = config;
    demo.records = [];
    demo.speed = [];
    demo.hasEncoder = false;
    checkpoints.clear();
    byolCheckpoint = null;
    ($('data-info') as HTMLElement).textContent =
      `${data.labeled.length} labeled · ${data.pool.length} unlabeled · ${data.heldOut.length} held out · ${data.test.length} test · ${data.pool.channels}×${data.pool.height}×${data.pool.width} → ${config.imageSize}×${config.imageSize}`;
    log(
      `${data.name}: ${data.labeled.length} labeled, ${data.pool.length} unlabeled, ${data.heldOut.length} held out, ${data.test.length} test images; ` +
        `ResNet-18 width ${config.width}, ${config.imageSize}×${config.imageSize}, batch ${config.batch}, ${config.byol.epochs} epochs, ${config.byol.optimizer} lr ${config.byol.lrPer256}/256`,
    );
    preview = new ViewPreview(data, config);
    preview.request(0, 0, 0, true);
    runStarted = performance.now();
    await runExperiment(false);
  } catch (e) {
    fail(e);
  }
}

function pause(): void {
  if (demo.state !== 'training') return;
  pauseRequested = true;
  setState('pausing', 'Pausing after this step…');
}

async function resume(): Promise<void> {
  if (demo.state !== 'paused') return;
  // The unfinished epoch is trained again from its start: drop its speed points.
  const done = byolCheckpoint?.epochs ?? 0;
  demo.speed = demo.speed.filter((s) => s.epoch <= done);
  await runExperiment(true);
}

async function saveEncoder(): Promise<void> {
  if (!byolCheckpoint || !config) return;
  const c = config;
  const byol = Byol.create(c, 0);
  try {
    loadCheckpoint(byolCheckpoint.bytes, { model: new ByolState(byol) }, 'BYOL checkpoint');
    const bytes = await encodeCheckpoint({
      model: byol.online.encoder,
      metadata: { 'byol.source': 'in-browser demo', 'byol.epochs': String(byolCheckpoint.epochs), 'byol.config': JSON.stringify(c) },
    });
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `byol-encoder-${(demo.dataset ?? 'data').replace(/[^A-Za-z0-9._-]+/g, '_')}-epoch${byolCheckpoint.epochs}.safetensors`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    log(`saved the online encoder after ${byolCheckpoint.epochs} epoch(s): ${a.download} (${(bytes.length / 1024).toFixed(0)} KiB, torchvision names)`);
  } catch (e) {
    log(`save: ${(e as Error).message}`);
  } finally {
    byol.dispose();
  }
}

// ------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const c0 = initialConfig();
  renderSettings(c0);
  wireFileInputs();
  $('start').addEventListener('click', () => void start());
  $('pause').addEventListener('click', pause);
  $('resume').addEventListener('click', () => void resume());
  $('save').addEventListener('click', () => void saveEncoder());
  demo.start = start;
  demo.pause = pause;
  demo.resume = resume;
  try {
    const list = await fetchServerDatasets();
    serverDatasets = list.datasets;
    if (list.hint) log(list.hint);
  } catch (e) {
    log(`no datasets from the server (${(e as Error).message}); drop your own files`);
  }
  const wanted = query.get('dataset');
  fillDatasetSelect(wanted ? `server:${wanted}` : undefined);
  const rt = await startEngine();
  if (!rt) {
    setState('no-webgpu', 'WebGPU is not available: see above');
    return;
  }
  getRuntime();
  setState('ready', 'Ready: press Start');
  if (query.get('autostart') === '1') await start();
}

main().catch(fail);
