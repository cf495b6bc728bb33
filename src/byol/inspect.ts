/**
 * What an encoder learned, in pictures: its nearest neighbours (src/byol/neighbours.ts) and a map of its
 * embedding (src/byol/embedding.ts), for several encoders side by side — the random encoder the BYOL phase
 * starts from and the pretrained one. Features are the experiment's own (`features` in evaluation.ts: eval
 * mode, the unaugmented images normalized as in training); the neighbour bank is the labeled training images,
 * as for the kNN monitor, whose accuracy is reported with the pictures.
 *
 * Browser-safe: `npm run train:byol`, `npm run embed` and the demo page draw the same pictures from here.
 */
import { Generator } from '../kernels/creation.js';
import { resnet18, type ResNet } from '../nn/resnet.js';
import { CheckpointError, loadModelState } from '../nn/checkpoint.js';
import { decodeSafetensors, SafetensorsError } from '../nn/safetensors.js';
import type { ImageDataset } from '../data/dataset.js';
import { deriveSeed } from '../data/prng.js';
import { ByolAugment, IDENTITY_VIEW, type NormalizeStats } from './augment.js';
import { WIDTH_LIMITS, type ExperimentConfig } from './config.js';
import { evaluateEncoder, features, withLabeledBatchNorm } from './evaluation.js';
import { PHASES, phaseKeys } from './experiment-state.js';
import { knnAccuracy } from './knn.js';
import { cosineNeighbours, neighbourMatchRate, neighboursSvg, pickQueries, type NeighbourGrid } from './neighbours.js';
import { embed2d, embeddingSpec } from './embedding.js';

/**
 * Draw `draw` of the random arm's encoders under the config's seed. Draw 0 is the encoder the experiment's BYOL
 * phase starts from: `Byol.create` draws the online encoder first from the phase's generator (seeded with
 * phaseKeys(seed, 'byol').init), so the same draws rebuild it. Draw k ≥ 1 is seeded with
 * deriveSeed(seed, 2, 17, k) (2: the BYOL phase's place in PHASES + 1, as in phaseKeys; 17: the random arm's
 * further draws).
 */
export function randomEncoder(config: Pick<ExperimentConfig, 'seed' | 'stem' | 'width'>, draw = 0): ResNet {
  if (!Number.isInteger(draw) || draw < 0) throw new Error(`randomEncoder: draw must be a whole number ≥ 0, not ${draw}`);
  const gen = new Generator(draw === 0 ? phaseKeys(config.seed, 'byol').init : deriveSeed(config.seed, PHASES.indexOf('byol') + 1, 17, draw));
  return resnet18({ numClasses: null, smallStem: config.stem === 'small', width: config.width, generator: gen });
}

/** The random arm's figures: each the mean over the draws, with every draw's own value in `perDraw`. */
export interface RandomArm {
  knn: number;
  probeAccuracy: number;
  probeLoss: number;
  perDraw: { knnAccuracy: number[]; probeAccuracy: number[]; probeLoss: number[] };
}

/**
 * The random arm of the experiment: kNN and linear probe ({@link evaluateEncoder}) of config.randomDraws random
 * encoders, averaged. Draw 0 is `first` when given (the BYOL phase's own online encoder, not yet trained), else
 * rebuilt; every other draw is built, evaluated and released in turn.
 */
export async function evaluateRandomArm(
  config: Pick<ExperimentConfig, 'seed' | 'stem' | 'width' | 'batch' | 'knnK' | 'probe' | 'randomDraws'>,
  data: { labeled: ImageDataset; test: ImageDataset; numClasses: number },
  prep: ByolAugment,
  first?: ResNet,
): Promise<RandomArm> {
  const n = config.randomDraws;
  if (!Number.isInteger(n) || n < 1) throw new Error(`randomDraws must be a whole number ≥ 1, not ${n}`);
  const perDraw: RandomArm['perDraw'] = { knnAccuracy: [], probeAccuracy: [], probeLoss: [] };
  for (let k = 0; k < n; k++) {
    const encoder = k === 0 && first ? first : randomEncoder(config, k);
    try {
      const ev = await evaluateEncoder(encoder, data, prep, config);
      perDraw.knnAccuracy.push(ev.knn);
      perDraw.probeAccuracy.push(ev.probe.accuracy);
      perDraw.probeLoss.push(ev.probe.loss);
    } finally {
      if (encoder !== first) encoder.dispose();
    }
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  return { knn: mean(perDraw.knnAccuracy), probeAccuracy: mean(perDraw.probeAccuracy), probeLoss: mean(perDraw.probeLoss), perDraw };
}

/** A file that does not hold a ResNet-18 encoder; the message names the file and what is wrong. */
export class EncoderFileError extends Error {
  override name = 'EncoderFileError';
}

export interface LoadedEncoder {
  encoder: ResNet;
  stem: 'imagenet' | 'small';
  width: number;
  /** The settings of the run that wrote the file (this project's byol-encoder.safetensors), if it says. */
  config: ExperimentConfig | null;
}

/**
 * A ResNet-18 encoder from a safetensors state dict with torchvision's names: this project's
 * byol-encoder.safetensors, or torchvision's resnet18 saved with or without fc (fc is ignored: the pictures use
 * the features before it). The stem and width are read from conv1.weight.
 */
export function encoderFromCheckpoint(bytes: Uint8Array, what: string): LoadedEncoder {
  let file;
  try {
    file = decodeSafetensors(bytes, what);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new EncoderFileError(`${what} is not a readable safetensors file: ${e.message}`);
    throw e;
  }
  const { tensors, metadata } = file;
  const conv1 = tensors.get('conv1.weight');
  if (!conv1) {
    const keys = [...tensors.keys()];
    const prefixed = keys.some((k) => k.startsWith('online.encoder.'));
    const shown = keys.slice(0, 4).join(', ') + (keys.length > 4 ? `, ... (${keys.length} tensors)` : '');
    throw new EncoderFileError(
      prefixed
        ? `${what} is a BYOL training checkpoint, not an encoder; use the run's byol-encoder.safetensors`
        : `${what} does not hold a ResNet-18 encoder (no conv1.weight; it holds ${shown || 'no tensors'})`,
    );
  }
  const [width, inChannels, kh, kw] = conv1.shape;
  if (conv1.shape.length !== 4 || inChannels !== 3 || kh !== kw || (kh !== 3 && kh !== 7) || !(width! > 0)) {
    throw new EncoderFileError(`${what}: conv1.weight has shape [${conv1.shape.join(', ')}]; a ResNet-18 stem is [width, 3, 7, 7] or [width, 3, 3, 3]`);
  }
  // Checked before the network is built: its size grows with the square of the width.
  if (width! < WIDTH_LIMITS.min || width! > WIDTH_LIMITS.max) {
    throw new EncoderFileError(`${what}: conv1.weight has shape [${conv1.shape.join(', ')}], a ResNet-18 of width ${width}, outside the widths ${WIDTH_LIMITS.min}..${WIDTH_LIMITS.max} this program builds`);
  }
  const stem = kh === 3 ? 'small' : 'imagenet';
  const encoder = resnet18({ numClasses: null, smallStem: stem === 'small', width: width! });
  try {
    const weights = new Map([...tensors].filter(([k]) => !k.startsWith('fc.')));
    const { missing, unexpected } = loadModelState(encoder, weights, { strict: false });
    const show = (l: string[]): string => (l.length > 4 ? `${l.slice(0, 4).join(', ')}, ... (${l.length})` : l.join(', '));
    if (missing.length || unexpected.length) {
      throw new EncoderFileError(
        `${what} holds another network than ResNet-18` + (missing.length ? `; missing ${show(missing)}` : '') + (unexpected.length ? `; unexpected ${show(unexpected)}` : ''),
      );
    }
  } catch (e) {
    encoder.dispose();
    if (e instanceof CheckpointError) throw new EncoderFileError(`${what}: ${e.message.replace(/^checkpoint: /, '')}; it holds another network than ResNet-18`);
    throw e;
  }
  let config: ExperimentConfig | null = null;
  if (metadata['byol.config']) {
    try {
      config = JSON.parse(metadata['byol.config']) as ExperimentConfig;
    } catch {
      config = null;
    }
  }
  return { encoder, stem, width: width!, config };
}

export interface InspectData {
  name: string;
  /** The neighbour bank (and the kNN monitor's labeled images). */
  labeled: ImageDataset;
  /** The queries, the kNN test images and the points of the map. */
  test: ImageDataset;
  numClasses: number;
  classNames: readonly string[];
  stats: NormalizeStats;
}

export interface InspectOptions {
  /** Neighbours per query (default 8). */
  k?: number;
  /** Query images, one per class (default 10). */
  queries?: number;
  /** Test images on the map (default 2,000: the first of the test images). */
  mapPoints?: number;
  /** Progress lines (which encoder, which step). */
  log?: (line: string) => void;
  /** Size of each map panel in pixels (default 380 × 380). */
  mapSize?: { width: number; height: number };
  /** Awaited between UMAP epochs (a page yields to its event loop here). */
  yieldNow?: () => Promise<void>;
}

export interface EncoderSummary {
  name: string;
  /** kNN monitor accuracy (k = config.knnK) on the test images. */
  knnAccuracy: number;
  /** Fraction of the k nearest labeled images sharing the test image's class, over every test image. */
  neighbourMatch: number;
  /** The same over the drawn queries only. */
  queryMatch: number;
}

export interface EncoderPictures {
  neighboursSvg: string;
  embeddingSpec: Record<string, unknown>;
  encoders: EncoderSummary[];
  k: number;
  queries: number;
  mapPoints: number;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

async function labelsOf(ds: ImageDataset): Promise<Int32Array> {
  if (!ds.labels) throw new Error(`${ds.name}: the pictures need the images' classes, and this split has no labels`);
  return Int32Array.from(ds.labels);
}

/** The neighbour grid and the embedding map of each encoder, with the figures that go with them. */
export async function encoderPictures(
  encoders: readonly { name: string; encoder: ResNet }[],
  data: InspectData,
  config: Pick<ExperimentConfig, 'imageSize' | 'batch' | 'knnK' | 'seed'>,
  options: InspectOptions = {},
): Promise<EncoderPictures> {
  const log = options.log ?? (() => undefined);
  const prep = new ByolAugment({ size: config.imageSize, views: [IDENTITY_VIEW] }, data.stats);
  const trainLabels = await labelsOf(data.labeled);
  const testLabels = await labelsOf(data.test);
  const nTrain = data.labeled.length;
  const nTest = data.test.length;
  if (nTrain < 1 || nTest < 1) throw new Error(`${data.name}: the pictures need labeled and test images (${nTrain} labeled, ${nTest} test)`);
  const queries = pickQueries(testLabels, data.numClasses, options.queries ?? 10, deriveSeed(config.seed, 201));
  const mapPoints = Math.min(nTest, options.mapPoints ?? 2000);
  const k = Math.min(options.k ?? 8, nTrain);
  const found: { name: string; knn: number; neighbours: ReturnType<typeof cosineNeighbours>; xy: Float64Array }[] = [];
  for (const { name, encoder } of encoders) {
    log(`${name}: features of ${nTrain} labeled and ${nTest} test images`);
    // With batch-norm statistics of the labeled images, as the run's kNN and probe evaluate encoders.
    const [tr, te] = await withLabeledBatchNorm(encoder, data.labeled, prep, config.batch, async (e) => [
      await features(e, data.labeled, prep, config.batch),
      await features(e, data.test, prep, config.batch),
    ]);
    let knn: number;
    let trF: Float32Array;
    let teF: Float32Array;
    try {
      knn = await knnAccuracy(tr, trainLabels, te, testLabels, data.numClasses, { k: config.knnK });
      trF = (await tr.data()) as Float32Array;
      teF = (await te.data()) as Float32Array;
    } finally {
      tr.dispose();
      te.dispose();
    }
    const dim = tr.shape[1]!;
    const neighbours = cosineNeighbours(trF, nTrain, teF, nTest, dim, k);
    log(`${name}: UMAP of ${mapPoints} test images`);
    const yieldNow = options.yieldNow;
    const xy = await embed2d(teF.subarray(0, mapPoints * dim), mapPoints, dim, deriveSeed(config.seed, 202), yieldNow ? { onEpoch: () => yieldNow() } : {});
    found.push({ name, knn, neighbours, xy });
  }
  // The images: the queries from the test split, their neighbours from the labeled split.
  const { channels, height, width } = data.test;
  const per = channels * height * width;
  const queryPixels = await data.test.readImages(queries);
  const bankIdx = [...new Set(found.flatMap((f) => [...queries].flatMap((q) => [...f.neighbours.index.subarray(q * f.neighbours.k, (q + 1) * f.neighbours.k)])))].sort((a, b) => a - b);
  const bankPixels = await data.labeled.readImages(bankIdx);
  const bankAt = new Map(bankIdx.map((j, i) => [j, bankPixels.subarray(i * per, (i + 1) * per)]));
  const summaries: EncoderSummary[] = [];
  const grids: NeighbourGrid[] = found.map((f) => {
    const nb = f.neighbours;
    const rows = [...queries].map((q, i) => ({
      query: { pixels: queryPixels.subarray(i * per, (i + 1) * per), label: testLabels[q]! },
      neighbours: [...nb.index.subarray(q * nb.k, (q + 1) * nb.k)].map((j) => ({ pixels: bankAt.get(j)!, label: trainLabels[j]! })),
    }));
    const drawn = rows.reduce((n, r) => n + r.neighbours.filter((x) => x.label === r.query.label).length, 0);
    const all = neighbourMatchRate(nb, testLabels, trainLabels);
    const queryMatch = rows.length ? drawn / (rows.length * nb.k) : NaN;
    summaries.push({ name: f.name, knnAccuracy: f.knn, neighbourMatch: all, queryMatch });
    return {
      title: f.name,
      note: `same class: ${drawn} of ${rows.length * nb.k} here; ${pct(all)} over all ${nTest} test images (kNN accuracy ${pct(f.knn)}, k = ${config.knnK})`,
      rows,
    };
  });
  const svg = await neighboursSvg(grids, {
    heading: `${data.name}: the ${k} nearest of ${nTrain} labeled training images to ${queries.length} test images`,
    subheading: `cosine similarity of the encoder's features (eval mode, unaugmented images); queries fixed by seed ${config.seed}, one per class`,
    classNames: data.classNames,
    image: { channels, height, width },
  });
  const spec = embeddingSpec(
    found.map((f) => ({ title: `${f.name} · kNN ${pct(f.knn)}`, xy: f.xy, labels: testLabels.subarray(0, mapPoints) })),
    data.classNames,
    `${data.name}: UMAP of the encoder features of ${mapPoints} test images`,
    `cosine geometry, ${Math.max(2, Math.min(15, mapPoints - 1))} neighbours, minimum distance 0.1, seed ${config.seed}; one point per image, coloured by class`,
    options.mapSize,
  );
  return { neighboursSvg: svg, embeddingSpec: spec, encoders: summaries, k, queries: queries.length, mapPoints };
}

/** One line per encoder for a log: its kNN accuracy and how often its neighbours share the class. */
export function pictureLines(p: EncoderPictures): string[] {
  return p.encoders.map(
    (e) =>
      `${e.name}: kNN ${pct(e.knnAccuracy)}; the ${p.k} nearest labeled images share the test image's class ${pct(e.neighbourMatch)} of the time ` +
      `(the ${p.queries} drawn queries: ${pct(e.queryMatch)})`,
  );
}
