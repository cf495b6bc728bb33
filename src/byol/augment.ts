/**
 * BYOL's image augmentations on the GPU (arXiv 2006.07733, appendix B, table 6): every view of a whole batch
 * in five dispatches (four, plus one per view), with a different random draw per sample.
 *
 *   CPU: drawParams per (seed, step, sample, view) (augment-params.ts) → one float32 tensor [views·N, P]
 *   1. augment_crop   random resized crop + bilinear resampling, flip, 1 → 3 channels, jitter ops before contrast
 *   2. augment_mean   per-sample mean of the grayscale image (for contrast)
 *   3. augment_color  contrast, the jitter ops after it, grayscale (in place)
 *   4. augment_blur   horizontal blur of the samples that have one
 *   5. augment_blur_v vertical blur + solarize + normalize, once per view
 *
 * Input: the packed uint8 batch (uint32 words, 4 pixels per word, N×C×H×W, C = 1 or 3), as `uploadBatch`
 * makes it. Output: one float32 tensor [N, 3, outH, outW] per view.
 */
import commonWgsl from '../../shaders/augment_common.wgsl';
import cropWgsl from '../../shaders/augment_crop.wgsl';
import meanWgsl from '../../shaders/augment_mean.wgsl';
import colorWgsl from '../../shaders/augment_color.wgsl';
import blurWgsl from '../../shaders/augment_blur.wgsl';
import blurVWgsl from '../../shaders/augment_blur_v.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { perStep, stepScalar, type Scalar } from '../capture/capture.js';
import { defineKernel, type StorageDecl } from '../kernels/define.js';
import { WG } from '../kernels/util.js';
import {
  BYOL_VIEW_1,
  BYOL_VIEW_2,
  checkViewConfig,
  defaultBlurKernel,
  drawParams,
  gaussianKernel1d,
  type ImageShape,
  type SampleParams,
  type ViewConfig,
} from './augment-params.js';

export * from './augment-params.js';

/**
 * The parameter block every augmentation pass reads: the input batch (n images of c channels, 1 or 3, h × w),
 * the output size (oh × ow), the floats per parameter row (stride), the samples this dispatch covers (from
 * `first`, `count` of them; the final pass: one view's), the rows of `params` (samples: views · n), and the
 * normalization's per-channel mean and standard deviation (three of four used).
 */
const AUGMENT_PARAMS = {
  n: 'u32', c: 'u32', h: 'u32', w: 'u32', oh: 'u32', ow: 'u32', stride: 'u32', first: 'u32', count: 'u32', samples: 'u32',
  mean: 'vec4<f32>', stdev: 'vec4<f32>',
} as const;
const F32 = 'read array<f32>';
const OUT = 'read_write array<f32>';
/** An augmentation pass: the shared parameter rows first, then the pass's own bindings. */
function augmentKernel<const B extends Readonly<Record<string, StorageDecl>>>(name: string, storage: B, code: string) {
  return defineKernel({ name, params: AUGMENT_PARAMS, storage: { params: F32, ...storage }, constants: { WG: 256 }, code: [commonWgsl, code] });
}
const CROP = augmentKernel('augment_crop', { pixels: 'read array<u32>', out: OUT }, cropWgsl);
const MEAN = augmentKernel('augment_mean', { img: F32, means: OUT }, meanWgsl);
const COLOR = augmentKernel('augment_color', { means: F32, img: OUT }, colorWgsl);
const BLUR = augmentKernel('augment_blur', { img: F32, tmp: OUT }, blurWgsl);
const BLUR_V = augmentKernel('augment_blur_v', { img: F32, tmp: F32, out: OUT }, blurVWgsl);
const MEAN_WG = 64;

/** Floats in a parameter row before the blur weights (see shaders/augment_common.wgsl). */
export const PARAM_HEADER = 20;

/** Per-channel statistics of the dataset, in [0, 1] pixel units; one value is used for all three channels. */
export interface NormalizeStats {
  mean: readonly number[];
  std: readonly number[];
}

export interface AugmentConfig {
  /** Output size: a square side or [height, width]. */
  size: number | readonly [number, number];
  /** One configuration per view; default BYOL's two asymmetric views [τ, τ′]. */
  views?: readonly ViewConfig[];
}

/** Options of {@link augmentBatch}, the parameter-driven launcher. */
/** Draws the parameters of every view of a step (`[view][sample]`). */
export type ViewDraw = () => readonly (readonly SampleParams[])[];

export interface AugmentOptions {
  outH: number;
  outW: number;
  /** Odd blur kernel size per view (1: no blur). */
  kernelSizes: readonly number[];
  /** Solarization threshold per view (default 0.5). */
  thresholds?: readonly number[];
  stats: NormalizeStats;
}

function threeChannels(values: readonly number[], what: string): [number, number, number] {
  if (values.length !== 1 && values.length !== 3) throw new RangeError(`augment: ${what} needs 1 or 3 values, got ${values.length}`);
  const v = values.length === 1 ? [values[0]!, values[0]!, values[0]!] : values;
  for (const x of v) if (!Number.isFinite(x)) throw new RangeError(`augment: ${what} must be finite numbers, got [${values.join(', ')}]`);
  return v as [number, number, number];
}

function checkShape(pixels: Tensor, shape: ImageShape): void {
  const { n, c, h, w } = shape;
  for (const [k, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`augment: shape.${k} must be a positive integer, got ${v}`);
  }
  if (c !== 1 && c !== 3) throw new RangeError(`augment: images must have 1 or 3 channels, got ${c}`);
  if (pixels.dtype !== 'uint32') throw new TypeError(`augment: pixels must be the packed uint32 batch (uploadBatch), got ${pixels.dtype}`);
  const words = Math.ceil((n * c * h * w) / 4);
  if (pixels.size < words) {
    throw new RangeError(`augment: pixels hold ${pixels.size} words, a batch of ${n}×${c}×${h}×${w} uint8 needs ${words} (tensor ${shapeString(pixels.shape)})`);
  }
  if (n * 3 * h * w >= 2 ** 31) throw new RangeError('augment: batch too large for 32-bit indexing');
}

/**
 * Packs per-sample parameters into the rows the shaders read: views stacked, row s = view · n + image.
 * Integers (crop box, kernel size, order) are exact in float32.
 */
export function packParams(views: readonly (readonly SampleParams[])[], kernelSizes: readonly number[], thresholds: readonly number[] = []): { rows: Float32Array; stride: number } {
  const kmax = Math.max(1, ...kernelSizes);
  const stride = PARAM_HEADER + kmax;
  const n = views[0]?.length ?? 0;
  const rows = new Float32Array(views.length * n * stride);
  views.forEach((samples, v) => {
    const k = kernelSizes[v] ?? 1;
    samples.forEach((p, i) => {
      const r = (v * n + i) * stride;
      rows[r + 0] = p.crop.top;
      rows[r + 1] = p.crop.left;
      rows[r + 2] = p.crop.height;
      rows[r + 3] = p.crop.width;
      rows[r + 4] = p.flip ? 1 : 0;
      if (p.jitter) {
        rows[r + 5] = 1;
        rows[r + 6] = p.jitter.brightness;
        rows[r + 7] = p.jitter.contrast;
        rows[r + 8] = p.jitter.saturation;
        rows[r + 9] = p.jitter.hue;
        p.jitter.order.forEach((op, j) => (rows[r + 10 + j] = op));
        rows[r + 18] = p.jitter.order.indexOf(1);
      }
      rows[r + 14] = p.grayscale ? 1 : 0;
      rows[r + 15] = p.solarize ? 1 : 0;
      rows[r + 17] = thresholds[v] ?? 0.5;
      if (p.blurSigma > 0 && k > 1) {
        rows[r + 16] = k;
        rows.set(gaussianKernel1d(k, p.blurSigma), r + PARAM_HEADER);
      } else rows[r + 16] = 1;
    });
  });
  return { rows, stride };
}

function checkParams(views: readonly (readonly SampleParams[])[], shape: ImageShape): void {
  views.forEach((samples, v) => {
    if (samples.length !== shape.n) throw new RangeError(`augment: view ${v} has parameters for ${samples.length} samples, the batch holds ${shape.n}`);
    samples.forEach((p, i) => {
      const b = p.crop;
      if (!(Number.isInteger(b.top) && Number.isInteger(b.left) && b.height >= 1 && b.width >= 1 && b.top >= 0 && b.left >= 0 && b.top + b.height <= shape.h && b.left + b.width <= shape.w)) {
        throw new RangeError(`augment: view ${v} sample ${i}: crop ${JSON.stringify(b)} is outside the ${shape.h}×${shape.w} image`);
      }
      if (p.jitter && [...p.jitter.order].sort().join() !== '0,1,2,3') throw new RangeError(`augment: view ${v} sample ${i}: jitter order must be a permutation of 0..3`);
    });
  });
}

/**
 * Augments a batch with given per-sample parameters: `views[v][i]` for image i of view v. Returns one
 * float32 tensor [n, 3, outH, outW] per view: consecutive slices of one buffer when a view's bytes are a
 * multiple of the storage alignment (stackViews then joins them without a copy), else one buffer each.
 * Records the dispatches; nothing is read back.
 */
export function augmentBatch(
  pixels: Tensor,
  shape: ImageShape,
  views: readonly (readonly SampleParams[])[] | ViewDraw,
  options: AugmentOptions,
): Tensor[] {
  const op = 'augment';
  checkShape(pixels, shape);
  const draw = typeof views === 'function' ? views : () => views;
  const first = draw();
  if (first.length < 1) throw new RangeError('augment: at least one view is needed');
  checkParams(first, shape);
  const { outH, outW } = options;
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) throw new RangeError(`augment: output size must be positive integers, got ${outH}×${outW}`);
  const mean = threeChannels(options.stats.mean, 'stats.mean');
  const std = threeChannels(options.stats.std, 'stats.std');
  if (std.some((s) => !(s > 0))) throw new RangeError(`augment: stats.std must be positive, got [${options.stats.std.join(', ')}]`);
  const { stride } = packParams(first, options.kernelSizes, options.thresholds);

  const n = shape.n;
  const samples = first.length * n;
  const plane = outH * outW;
  const rt = getRuntime();
  const params = empty([samples, stride], 'float32', 'augment.params');
  const target = { buffer: params.storage.buffer, offset: params.byteOffset };
  // The draws (CPU) and their upload: redone for every step, also when the step is replayed.
  let drawn: readonly (readonly SampleParams[])[] | null = first;
  perStep(() => {
    const v = drawn ?? draw();
    drawn = null;
    if (v.length !== first.length) throw new RangeError(`augment: ${v.length} views drawn, ${first.length} when the step was recorded`);
    checkParams(v, shape);
    rt.upload(target.buffer, target.offset, packParams(v, options.kernelSizes, options.thresholds).rows, 'augment.params');
  });
  const a = empty([samples, 3, outH, outW], 'float32', 'augment.tmp');
  const b = empty([samples, 3, outH, outW], 'float32', 'augment.tmp');
  const means = empty([samples], 'float32', 'augment.means');
  const uniforms = (first: number, count: number) => ({
    n,
    c: shape.c,
    h: shape.h,
    w: shape.w,
    oh: outH,
    ow: outW,
    stride,
    first,
    count,
    samples,
    mean: [...mean, 0],
    stdev: [...std, 1],
  });
  const all = uniforms(0, samples);
  const P = params.binding(op);
  CROP.dispatch({ op: 'augment.crop', constants: { WG }, params: all, storage: { params: P, pixels: pixels.binding(op), out: a.binding(op) }, workgroups: grid(Math.ceil((samples * plane) / WG)) });
  MEAN.dispatch({ op: 'augment.mean', constants: { WG: MEAN_WG }, params: all, storage: { params: P, img: a.binding(op), means: means.binding(op) }, workgroups: grid(samples) });
  COLOR.dispatch({ op: 'augment.color', constants: { WG }, params: all, storage: { params: P, means: means.binding(op), img: a.binding(op) }, workgroups: grid(Math.ceil((samples * plane) / WG)) });
  BLUR.dispatch({ op: 'augment.blur', entry: 'blur_h', constants: { WG }, params: all, storage: { params: P, img: a.binding(op), tmp: b.binding(op) }, workgroups: grid(Math.ceil((samples * 3 * plane) / WG)) });
  let outs: Tensor[];
  const viewBytes = n * 3 * plane * 4;
  if (viewBytes % rt.storageAlignment === 0) {
    // Every view in one buffer, one after the other, by one dispatch: the views are slices of it, so a
    // consumer that wants them stacked along N (BYOL's joint pass) takes the whole without a copy.
    const joint = empty([samples, 3, outH, outW], 'float32', 'augment');
    BLUR_V.dispatch({ op: 'augment.blur', constants: { WG }, params: all, storage: { params: P, img: a.binding(op), tmp: b.binding(op), out: joint.binding(op) }, workgroups: grid(Math.ceil((samples * 3 * plane) / WG)) });
    outs = first.map((_, v) => joint.view([n, 3, outH, outW], joint.byteOffset + v * viewBytes));
    joint.dispose();
  } else {
    outs = first.map((_, v) => {
      const out = empty([n, 3, outH, outW], 'float32', 'augment');
      BLUR_V.dispatch({ op: 'augment.blur', constants: { WG }, params: uniforms(v * n, n), storage: { params: P, img: a.binding(op), tmp: b.binding(op), out: out.binding(op) }, workgroups: grid(Math.ceil((n * 3 * plane) / WG)) });
      return out;
    });
  }
  for (const t of [params, a, b, means]) t.dispose();
  return outs;
}

/** Per-channel mean and standard deviation of packed uint8 images (N×C×H×W), in [0, 1] units, as three values. */
export function channelStats(images: Uint8Array, shape: Pick<ImageShape, 'c' | 'h' | 'w'>): { mean: number[]; std: number[] } {
  const { c, h, w } = shape;
  const plane = h * w;
  const n = Math.floor(images.length / (c * plane));
  if (n < 1) throw new RangeError('channelStats: no complete image');
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const v = images[base + p]! / 255;
        sum[ch]! += v;
        sq[ch]! += v * v;
      }
    }
  const count = n * plane;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, ch) => Math.sqrt(Math.max(0, s / count - mean[ch]! ** 2)) || 1);
  return c === 1 ? { mean: [mean[0]!, mean[0]!, mean[0]!], std: [std[0]!, std[0]!, std[0]!] } : { mean, std };
}

/**
 * BYOL's augmentation pipeline: two (or more) views of each image of a batch, each with its own random
 * draw, replayable from (seed, step).
 *
 *   const augment = new ByolAugment({ size: 96 }, channelStats(...));
 *   const [v1, v2] = augment.views(gpuBatch.pixels, { n, c, h, w }, step, seed);
 */
export class ByolAugment {
  readonly outH: number;
  readonly outW: number;
  readonly viewConfigs: readonly ViewConfig[];
  readonly kernelSizes: readonly number[];
  readonly stats: NormalizeStats;

  constructor(config: AugmentConfig, stats: NormalizeStats) {
    const [h, w] = typeof config.size === 'number' ? [config.size, config.size] : config.size;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new RangeError(`ByolAugment: size must be positive integers, got ${String(config.size)}`);
    this.outH = h;
    this.outW = w;
    this.viewConfigs = config.views ?? [BYOL_VIEW_1, BYOL_VIEW_2];
    if (this.viewConfigs.length < 1) throw new RangeError('ByolAugment: at least one view is needed');
    this.viewConfigs.forEach((v, i) => checkViewConfig(v, `views[${i}]`));
    this.kernelSizes = this.viewConfigs.map((v) => v.blur.kernelSize ?? defaultBlurKernel(Math.min(h, w)));
    this.stats = { mean: threeChannels(stats.mean, 'stats.mean'), std: threeChannels(stats.std, 'stats.std') };
    if (this.stats.std.some((s) => !(s > 0))) throw new RangeError(`ByolAugment: stats.std must be positive, got [${stats.std.join(', ')}]`);
  }

  /** The parameters of every sample of every view at `step`: `[view][sample]`. */
  drawBatch(shape: ImageShape, step: number, seed: number): SampleParams[][] {
    return this.viewConfigs.map((config, v) => Array.from({ length: shape.n }, (_, i) => drawParams(config, shape.h, shape.w, seed, step, i, v)));
  }

  /**
   * Augments with given parameters (`[view][sample]`, or a function drawing them, called once per step, also
   * when a captured step is replayed); one tensor [n, 3, outH, outW] per view.
   */
  apply(pixels: Tensor, shape: ImageShape, params: readonly (readonly SampleParams[])[] | ViewDraw): Tensor[] {
    return augmentBatch(pixels, shape, params, {
      outH: this.outH,
      outW: this.outW,
      kernelSizes: this.kernelSizes,
      thresholds: this.viewConfigs.map((v) => v.solarize.threshold),
      stats: this.stats,
    });
  }

  /**
   * Every configured view of a packed uint8 batch at training step `step` (in a captured step, its StepValue:
   * each replay draws for the step it is given).
   */
  augment(pixels: Tensor, shape: ImageShape, step: Scalar, seed: number): Tensor[] {
    const at = stepScalar(step, 'ByolAugment.augment: step');
    return this.apply(pixels, shape, () => this.drawBatch(shape, at.value, seed));
  }

  /** The two views of BYOL (or as many as configured) of a packed uint8 batch at training step `step`. */
  views(pixels: Tensor, shape: ImageShape, step: Scalar, seed: number): [Tensor, Tensor, ...Tensor[]] {
    if (this.viewConfigs.length < 2) throw new RangeError('ByolAugment.views: configured with fewer than two views; use apply()');
    return this.augment(pixels, shape, step, seed) as [Tensor, Tensor, ...Tensor[]];
  }
}
