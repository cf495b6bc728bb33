/**
 * BYOL's image augmentations, the CPU half: configuration, and the per-sample random parameters drawn from a
 * counter-based generator. Browser-safe and GPU-free.
 *
 * Reproducibility: every number comes from Philox4x32-10 keyed by the seed, with the counter
 * (component·64 + block, sample, step, view), and is turned into parameters with IEEE-754 basic arithmetic
 * only (+ − × ÷, √, floor): no Math.exp / Math.log, whose last bit may differ between JavaScript engines.
 * So the same (seed, step, sample, view) gives bit-identical parameters in Node and in every browser, and
 * each component (crop, flip, jitter, ...) draws from its own counters: changing one probability in the
 * configuration does not shift the others' draws.
 */

/** Random resized crop (torchvision's RandomResizedCrop.get_params). */
export interface CropConfig {
  /** Range of the crop's area as a fraction of the image's. */
  scale: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height), sampled log-uniformly. */
  ratio: readonly [number, number];
}

/** Colour jitter (torchvision's ColorJitter, applied with probability p in a random order). */
export interface JitterConfig {
  p: number;
  /** Factor drawn from [max(0, 1 − b), 1 + b]. */
  brightness: number;
  contrast: number;
  saturation: number;
  /** Hue shift drawn from [−hue, hue], at most 0.5. */
  hue: number;
}

export interface BlurConfig {
  p: number;
  /** σ is drawn uniformly from this range. */
  sigma: readonly [number, number];
  /** Odd kernel size; default {@link defaultBlurKernel} of the output size (23 for 224, 9 for 96, 3 for 32). */
  kernelSize?: number;
}

export interface SolarizeConfig {
  p: number;
  /** Values ≥ threshold become 1 − value. */
  threshold: number;
}

/** One view's augmentation pipeline: crop → flip → jitter → grayscale → blur → solarize → normalize. */
export interface ViewConfig {
  /** null: no crop, the whole image is resized to the output size. */
  crop: CropConfig | null;
  flipP: number;
  jitter: JitterConfig;
  grayscaleP: number;
  blur: BlurConfig;
  solarize: SolarizeConfig;
}

const frozen = (v: ViewConfig): ViewConfig => Object.freeze(v);

/** The BYOL paper's first view τ (arXiv 2006.07733, appendix B, table 6). */
export const BYOL_VIEW_1: ViewConfig = frozen({
  crop: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] },
  flipP: 0.5,
  jitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 },
  grayscaleP: 0.2,
  blur: { p: 1.0, sigma: [0.1, 2.0] },
  solarize: { p: 0, threshold: 0.5 },
});

/** The BYOL paper's second view τ′: rarer blur, some solarization. */
export const BYOL_VIEW_2: ViewConfig = frozen({
  ...BYOL_VIEW_1,
  blur: { p: 0.1, sigma: [0.1, 2.0] },
  solarize: { p: 0.2, threshold: 0.5 },
});

/** A view that changes nothing: the whole image, resized, no colour change, no blur. */
export const IDENTITY_VIEW: ViewConfig = frozen({
  crop: null,
  flipP: 0,
  jitter: { p: 0, brightness: 0, contrast: 0, saturation: 0, hue: 0 },
  grayscaleP: 0,
  blur: { p: 0, sigma: [0.1, 2.0] },
  solarize: { p: 0, threshold: 0.5 },
});

/** The colour-jitter operations, numbered as in the parameter rows and the shaders. */
export const JITTER_OPS = ['brightness', 'contrast', 'saturation', 'hue'] as const;
export type JitterOp = (typeof JITTER_OPS)[number];

/** What one sample's augmentation does, drawn by {@link drawParams}. */
export interface SampleParams {
  /** Crop box in source pixels (torchvision's i, j, h, w). */
  crop: { top: number; left: number; height: number; width: number };
  flip: boolean;
  /** null when colour jitter is not applied. */
  jitter: {
    brightness: number;
    contrast: number;
    saturation: number;
    hue: number;
    /** Operation indices into {@link JITTER_OPS}, in the order applied. */
    order: readonly [number, number, number, number];
  } | null;
  grayscale: boolean;
  /** Gaussian blur σ; 0 when the blur is not applied. */
  blurSigma: number;
  solarize: boolean;
}

/** Input image shape. */
export interface ImageShape {
  n: number;
  c: number;
  h: number;
  w: number;
}

// ---------------------------------------------------------------------------------------------------------
// Philox4x32-10 with 32-bit integer arithmetic (the same generator as shaders/random.wgsl).

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (low bits are Math.imul). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32-10 of `counter` under `key`: four uint32 words (Salmon et al., SC 2011). */
export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** The parameter components; each draws from its own Philox counters. */
const enum Component {
  Crop = 0,
  Flip = 1,
  Jitter = 2,
  Grayscale = 3,
  Blur = 4,
  Solarize = 5,
}

/** A stream of uniform numbers for one component of one sample: counters (component·64 + block, sample, step, view). */
class Draws {
  private block = 0;
  private words: number[] = [];
  constructor(
    private readonly key: readonly [number, number],
    private readonly component: Component,
    private readonly sample: number,
    private readonly step: number,
    private readonly view: number,
  ) {}

  /** Uniform in [0, 1), 32 random bits. */
  next(): number {
    if (this.words.length === 0) {
      if (this.block >= 64) throw new Error('augment: a component drew more than 256 numbers');
      const w = philox4x32([this.component * 64 + this.block++, this.sample, this.step, this.view], this.key);
      this.words = [w[3], w[2], w[1], w[0]];
    }
    return this.words.pop()! / 2 ** 32;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
}

/** e^x by its Taylor series, with basic arithmetic only (bit-identical in every engine); for |x| ≤ 1. */
export function expSmall(x: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 30; k++) {
    term = (term * x) / k;
    sum += term;
  }
  return sum;
}

/** ln(x) for x in [1/e, e], by atanh's series: ln x = 2 atanh((x − 1)/(x + 1)); basic arithmetic only. */
export function logNearOne(x: number): number {
  if (!(x >= 0.36 && x <= 2.72)) throw new RangeError(`logNearOne: ${x} is outside [0.36, 2.72]`);
  const y = (x - 1) / (x + 1);
  const y2 = y * y;
  let term = y;
  let sum = 0;
  for (let k = 1; k < 80; k += 2) {
    sum += term / k;
    term *= y2;
  }
  return 2 * sum;
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's RandomResizedCrop.get_params: up to 10 attempts, then the central-crop fallback. */
function drawCrop(d: Draws, height: number, width: number, crop: CropConfig): SampleParams['crop'] {
  const area = height * width;
  const logLow = logNearOne(crop.ratio[0]);
  const logHigh = logNearOne(crop.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * d.uniform(crop.scale[0], crop.scale[1]);
    const aspect = expSmall(d.uniform(logLow, logHigh));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    // Always draw the position, so that every attempt uses the same counters whether or not it fits.
    const u = d.next();
    const v = d.next();
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: Math.min(height - h, Math.floor(u * (height - h + 1))), left: Math.min(width - w, Math.floor(v * (width - w + 1))), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < crop.ratio[0]) h = roundHalfEven(w / crop.ratio[0]);
  else if (inRatio > crop.ratio[1]) w = roundHalfEven(h * crop.ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Splits a non-negative integer below 2^53 into its low and high 32-bit words. */
function words53(x: number, what: string): [number, number] {
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`augment: ${what} must be a non-negative integer below 2^53, got ${x}`);
  return [x % 2 ** 32, Math.floor(x / 2 ** 32)];
}

/**
 * The augmentation parameters of sample `sample` of view `view` at training step `step`, for a source image
 * of height × width pixels. A pure function of its arguments.
 */
export function drawParams(
  config: ViewConfig,
  height: number,
  width: number,
  seed: number,
  step: number,
  sample: number,
  view = 0,
): SampleParams {
  const key = words53(seed, 'seed');
  const [stepLo, stepHi] = words53(step, 'step');
  if (stepHi >= 2 ** 16) throw new RangeError(`augment: step must be below 2^48, got ${step}`);
  if (!Number.isInteger(sample) || sample < 0 || sample >= 2 ** 32) throw new RangeError(`augment: bad sample index ${sample}`);
  if (!Number.isInteger(view) || view < 0 || view >= 2 ** 16) throw new RangeError(`augment: bad view index ${view}`);
  const viewWord = ((stepHi << 16) | view) >>> 0;
  const draws = (c: Component): Draws => new Draws(key, c, sample, stepLo, viewWord);

  const crop = config.crop ? drawCrop(draws(Component.Crop), height, width, config.crop) : { top: 0, left: 0, height, width };
  const flip = draws(Component.Flip).next() < config.flipP;

  let jitter: SampleParams['jitter'] = null;
  const j = config.jitter;
  const dj = draws(Component.Jitter);
  if (dj.next() < j.p) {
    const brightness = dj.uniform(Math.max(0, 1 - j.brightness), 1 + j.brightness);
    const contrast = dj.uniform(Math.max(0, 1 - j.contrast), 1 + j.contrast);
    const saturation = dj.uniform(Math.max(0, 1 - j.saturation), 1 + j.saturation);
    const hue = dj.uniform(-j.hue, j.hue);
    // A uniformly random order (Fisher–Yates), as torch.randperm(4).
    const order = [0, 1, 2, 3];
    for (let i = 3; i > 0; i--) {
      const k = dj.int(i + 1);
      [order[i], order[k]] = [order[k]!, order[i]!];
    }
    jitter = { brightness, contrast, saturation, hue, order: order as unknown as [number, number, number, number] };
  }
  const grayscale = draws(Component.Grayscale).next() < config.grayscaleP;
  const db = draws(Component.Blur);
  const blurSigma = db.next() < config.blur.p ? db.uniform(config.blur.sigma[0], config.blur.sigma[1]) : 0;
  const solarize = draws(Component.Solarize).next() < config.solarize.p;
  return { crop, flip, jitter, grayscale, blurSigma, solarize };
}

/** The identity parameters for a height × width image: whole image, nothing else. */
export function identityParams(height: number, width: number): SampleParams {
  return { crop: { top: 0, left: 0, height, width }, flip: false, jitter: null, grayscale: false, blurSigma: 0, solarize: false };
}

/** The blur kernel for an output size: odd, about a tenth of it (23 for 224, 9 for 96, 3 for 32; 1 below 15). */
export function defaultBlurKernel(size: number): number {
  return 2 * Math.max(0, Math.round((size / 10 - 1) / 2)) + 1;
}

/** torchvision's 1-D Gaussian kernel: exp(−x²/2σ²) at x = −(k−1)/2 .. (k−1)/2, normalized to sum 1. */
export function gaussianKernel1d(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const half = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = (i - half) / sigma;
    k[i] = Math.exp(-0.5 * x * x);
    sum += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i]! /= sum;
  return k;
}

/** Checks a view configuration; throws naming the bad field. */
export function checkViewConfig(config: ViewConfig, name = 'view'): void {
  const prob = (p: number, what: string): void => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`augment: ${name}.${what} must be a probability in [0, 1], got ${p}`);
  };
  const range = (r: readonly [number, number], what: string, low: number, high: number): void => {
    if (!(r[0] >= low && r[0] <= r[1] && r[1] <= high)) {
      throw new RangeError(`augment: ${name}.${what} must be [min, max] within [${low}, ${high}], got [${r.join(', ')}]`);
    }
  };
  if (config.crop) {
    range(config.crop.scale, 'crop.scale', Number.MIN_VALUE, 1);
    range(config.crop.ratio, 'crop.ratio', 0.37, 2.7);
  }
  prob(config.flipP, 'flipP');
  prob(config.jitter.p, 'jitter.p');
  for (const f of ['brightness', 'contrast', 'saturation'] as const) {
    const v = config.jitter[f];
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`augment: ${name}.jitter.${f} must be ≥ 0, got ${v}`);
  }
  if (!(config.jitter.hue >= 0 && config.jitter.hue <= 0.5)) throw new RangeError(`augment: ${name}.jitter.hue must be in [0, 0.5], got ${config.jitter.hue}`);
  prob(config.grayscaleP, 'grayscaleP');
  prob(config.blur.p, 'blur.p');
  range(config.blur.sigma, 'blur.sigma', Number.MIN_VALUE, 1e6);
  const k = config.blur.kernelSize;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k % 2 === 1)) throw new RangeError(`augment: ${name}.blur.kernelSize must be an odd positive integer, got ${k}`);
  prob(config.solarize.p, 'solarize.p');
  if (!Number.isFinite(config.solarize.threshold)) throw new RangeError(`augment: ${name}.solarize.threshold must be a number`);
}
