/**
 * The float64 reference of the BYOL augmentations: whole-image operations written after
 * torchvision.transforms.functional_tensor, one after the other, deliberately unlike the fused GPU kernels.
 * For tests; GPU-free and browser-safe.
 */
import { JITTER_OPS, gaussianKernel1d, type ImageShape, type SampleParams } from './augment-params.js';

/** Luma weights of the grayscale conversion (ITU-R 601-2, as PIL's "L" mode). */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** A float64 RGB image, planar (3 × h × w). */
export interface RgbImage {
  h: number;
  w: number;
  data: Float64Array;
}

/** Image `index` of a packed uint8 N×C×H×W batch as floats in [0, 1], one channel replicated to three. */
export function decodeImage(pixels: Uint8Array, shape: ImageShape, index: number): RgbImage {
  const { c, h, w } = shape;
  const plane = h * w;
  const data = new Float64Array(3 * plane);
  for (let ch = 0; ch < 3; ch++) {
    const src = index * c * plane + (c === 1 ? 0 : ch) * plane;
    for (let p = 0; p < plane; p++) data[ch * plane + p] = pixels[src + p]! / 255;
  }
  return { h, w, data };
}

/** torchvision's crop followed by resize(bilinear, align_corners=False, no antialias). */
export function resizedCrop(img: RgbImage, box: SampleParams['crop'], outH: number, outW: number): RgbImage {
  // Crop first, then resize the crop: sample coordinates clamp at the crop's border, as in torchvision.
  const out = new Float64Array(3 * outH * outW);
  const coord = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const src = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = Math.min(lo + 1, inSize - 1);
    return [lo, hi, src - lo];
  };
  for (let y = 0; y < outH; y++) {
    const [y0, y1, fy] = coord(y, box.height, outH);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, fx] = coord(x, box.width, outW);
      for (let ch = 0; ch < 3; ch++) {
        const at = (yy: number, xx: number): number => img.data[(ch * img.h + box.top + yy) * img.w + box.left + xx]!;
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out[(ch * outH + y) * outW + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { h: outH, w: outW, data: out };
}

export function hflip(img: RgbImage): RgbImage {
  const out = new Float64Array(img.data.length);
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < img.h; y++)
      for (let x = 0; x < img.w; x++) out[(ch * img.h + y) * img.w + x] = img.data[(ch * img.h + y) * img.w + img.w - 1 - x]!;
  return { h: img.h, w: img.w, data: out };
}

function map(img: RgbImage, f: (r: number, g: number, b: number) => [number, number, number]): RgbImage {
  const plane = img.h * img.w;
  const out = new Float64Array(img.data.length);
  for (let p = 0; p < plane; p++) {
    const [r, g, b] = f(img.data[p]!, img.data[plane + p]!, img.data[2 * plane + p]!);
    out[p] = r;
    out[plane + p] = g;
    out[2 * plane + p] = b;
  }
  return { h: img.h, w: img.w, data: out };
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));
const luma = (r: number, g: number, b: number): number => LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;

/** torchvision's _blend(img1, img2, ratio): clamp(ratio·img1 + (1 − ratio)·img2, 0, 1). */
const blend = (a: number, b: number, ratio: number): number => clamp01(ratio * a + (1 - ratio) * b);

export function adjustBrightness(img: RgbImage, factor: number): RgbImage {
  return map(img, (r, g, b) => [blend(r, 0, factor), blend(g, 0, factor), blend(b, 0, factor)]);
}

/** Blend with the mean of the grayscale image. */
export function adjustContrast(img: RgbImage, factor: number): RgbImage {
  const plane = img.h * img.w;
  let sum = 0;
  for (let p = 0; p < plane; p++) sum += luma(img.data[p]!, img.data[plane + p]!, img.data[2 * plane + p]!);
  const mean = sum / plane;
  return map(img, (r, g, b) => [blend(r, mean, factor), blend(g, mean, factor), blend(b, mean, factor)]);
}

/** Blend with the grayscale image. */
export function adjustSaturation(img: RgbImage, factor: number): RgbImage {
  return map(img, (r, g, b) => {
    const l = luma(r, g, b);
    return [blend(r, l, factor), blend(g, l, factor), blend(b, l, factor)];
  });
}

/** torchvision's _rgb2hsv. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  const eqc = maxc === minc;
  const cr = maxc - minc;
  const s = cr / (eqc ? 1 : maxc);
  const div = eqc ? 1 : cr;
  const rc = (maxc - r) / div;
  const gc = (maxc - g) / div;
  const bc = (maxc - b) / div;
  let h: number;
  if (maxc === r) h = bc - gc;
  else if (maxc === g) h = 2 + rc - bc;
  else h = 4 + gc - rc;
  h = (h / 6 + 1) % 1;
  return [h, s, maxc];
}

/** torchvision's _hsv2rgb. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i6 = Math.floor(h * 6);
  const f = h * 6 - i6;
  const p = clamp01(v * (1 - s));
  const q = clamp01(v * (1 - s * f));
  const t = clamp01(v * (1 - s * (1 - f)));
  switch (((i6 % 6) + 6) % 6) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

/** Rotates the hue by `shift` (a fraction of the colour circle, in [−0.5, 0.5]). */
export function adjustHue(img: RgbImage, shift: number): RgbImage {
  return map(img, (r, g, b) => {
    const [h, s, v] = rgbToHsv(r, g, b);
    const hh = h + shift;
    return hsvToRgb(hh - Math.floor(hh), s, v); // Python's (h + shift) % 1.0
  });
}

export function grayscale(img: RgbImage): RgbImage {
  return map(img, (r, g, b) => {
    const l = luma(r, g, b);
    return [l, l, l];
  });
}

/** Reflect-padding index, torch's "reflect" (edge not repeated), folded as often as needed. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = ((i % period) + period) % period;
  if (m >= n) m = period - m;
  return m;
}

/** torchvision's gaussian_blur: a k×k kernel (outer product of the 1-D kernel), reflect padding, no clamp. */
export function gaussianBlur(img: RgbImage, kernelSize: number, sigma: number): RgbImage {
  const k1 = gaussianKernel1d(kernelSize, sigma);
  const half = (kernelSize - 1) / 2;
  const out = new Float64Array(img.data.length);
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < img.h; y++)
      for (let x = 0; x < img.w; x++) {
        let acc = 0;
        for (let i = 0; i < kernelSize; i++) {
          const yy = reflectIndex(y + i - half, img.h);
          for (let j = 0; j < kernelSize; j++) {
            acc += k1[i]! * k1[j]! * img.data[(ch * img.h + yy) * img.w + reflectIndex(x + j - half, img.w)]!;
          }
        }
        out[(ch * img.h + y) * img.w + x] = acc;
      }
  return { h: img.h, w: img.w, data: out };
}

export function solarize(img: RgbImage, threshold: number): RgbImage {
  return { h: img.h, w: img.w, data: img.data.map((v) => (v >= threshold ? 1 - v : v)) };
}

export function normalize(img: RgbImage, mean: readonly number[], std: readonly number[]): RgbImage {
  const plane = img.h * img.w;
  return { h: img.h, w: img.w, data: img.data.map((v, i) => (v - mean[Math.floor(i / plane)]!) / std[Math.floor(i / plane)]!) };
}

export interface ReferenceOptions {
  outH: number;
  outW: number;
  /** Odd blur kernel size. */
  kernelSize: number;
  /** Solarization threshold (default 0.5). */
  threshold?: number;
  mean: readonly number[];
  std: readonly number[];
}

/** One sample's augmentation, in float64: crop, flip, jitter, grayscale, blur, solarize, normalize. */
export function augmentImage(img: RgbImage, params: SampleParams, options: ReferenceOptions): RgbImage {
  let x = resizedCrop(img, params.crop, options.outH, options.outW);
  if (params.flip) x = hflip(x);
  const j = params.jitter;
  if (j) {
    for (const op of j.order) {
      switch (JITTER_OPS[op]) {
        case 'brightness':
          x = adjustBrightness(x, j.brightness);
          break;
        case 'contrast':
          x = adjustContrast(x, j.contrast);
          break;
        case 'saturation':
          x = adjustSaturation(x, j.saturation);
          break;
        case 'hue':
          x = adjustHue(x, j.hue);
          break;
      }
    }
  }
  if (params.grayscale) x = grayscale(x);
  if (params.blurSigma > 0 && options.kernelSize > 1) x = gaussianBlur(x, options.kernelSize, params.blurSigma);
  if (params.solarize) x = solarize(x, options.threshold ?? 0.5);
  return normalize(x, options.mean, options.std);
}

/**
 * The float64 reference of one view of a batch: `params[i]` for image i of the packed uint8 batch; returns
 * N×3×outH×outW values, NCHW.
 */
export function augmentReference(pixels: Uint8Array, shape: ImageShape, params: readonly SampleParams[], options: ReferenceOptions): Float64Array {
  const plane = 3 * options.outH * options.outW;
  const out = new Float64Array(shape.n * plane);
  for (let i = 0; i < shape.n; i++) out.set(augmentImage(decodeImage(pixels, shape, i), params[i]!, options).data, i * plane);
  return out;
}
