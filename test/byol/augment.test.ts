import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BYOL_VIEW_1,
  BYOL_VIEW_2,
  ByolAugment,
  augmentBatch,
  channelStats,
  defaultBlurKernel,
  drawParams,
  expSmall,
  identityParams,
  logNearOne,
  philox4x32,
  type ImageShape,
  type SampleParams,
  type ViewConfig,
} from '../../src/byol/augment.js';
import { augmentReference } from '../../src/byol/augment-reference.js';
import { Generator } from '../../src/kernels/creation.js';
import { memory } from '../../src/tensor/engine.js';
import { fromBytes, type Tensor } from '../../src/tensor/tensor.js';
import { engine, rand, seedNote } from '../helpers.js';

beforeAll(engine);

const ZERO_ONE = { mean: [0, 0, 0], std: [1, 1, 1] };

function randomPixels(shape: ImageShape): Uint8Array {
  return Uint8Array.from({ length: shape.n * shape.c * shape.h * shape.w }, () => Math.floor(rand() * 256));
}

const randInt = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

function randomCrop(h: number, w: number): SampleParams['crop'] {
  const height = randInt(1, h);
  const width = randInt(1, w);
  return { top: randInt(0, h - height), left: randInt(0, w - width), height, width };
}

function randomOrder(): [number, number, number, number] {
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const k = randInt(0, i);
    [order[i], order[k]] = [order[k]!, order[i]!];
  }
  return order as [number, number, number, number];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Number.isNaN(a[i]!) ? Infinity : Math.abs(a[i]! - b[i]!));
  return d;
}

/** Runs one view on the GPU and its float64 reference; returns the largest absolute difference. */
async function compare(
  shape: ImageShape,
  params: (i: number) => SampleParams,
  opts: { outH: number; outW: number; kernelSize?: number; mean?: number[]; std?: number[] } ,
): Promise<{ diff: number; gpu: Float32Array; ref: Float64Array }> {
  const pixels = randomPixels(shape);
  const list = Array.from({ length: shape.n }, (_, i) => params(i));
  const stats = { mean: opts.mean ?? [0, 0, 0], std: opts.std ?? [1, 1, 1] };
  const kernelSize = opts.kernelSize ?? 3;
  const t = fromBytes(pixels);
  const [out] = augmentBatch(t, shape, [list], { outH: opts.outH, outW: opts.outW, kernelSizes: [kernelSize], stats });
  expect(out!.shape).toEqual([shape.n, 3, opts.outH, opts.outW]);
  const gpu = (await out!.data()) as Float32Array;
  t.dispose();
  out!.dispose();
  const ref = augmentReference(pixels, shape, list, { outH: opts.outH, outW: opts.outW, kernelSize, ...stats });
  return { diff: maxAbsDiff(gpu, ref), gpu, ref };
}

const noJitter = { brightness: 1, contrast: 1, saturation: 1, hue: 0 };
const plain = (h: number, w: number, extra: Partial<SampleParams> = {}): SampleParams => ({ ...identityParams(h, w), ...extra });

// Tolerance on [0, 1] values (mean 0, std 1): 1e-5 absolute. float32 carries ~6e-8 relative per operation;
// the colour operations are continuous (clamps, the hue wrap-around and solarization at 0.5 included), so the
// error stays a small multiple of that even through the HSV round trip, whose division by (max − min) is
// cancelled by the multiplication by saturation·value on the way back.
const TOL = 1e-5;

describe('Philox4x32-10 on the CPU', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0]).map((x) => x.toString(16).padStart(8, '0'))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]).map((x) => x.toString(16).padStart(8, '0'))).toEqual([
      '408f276d',
      '41c83b0e',
      'a20bc7c6',
      '6d5451fd',
    ]);
    expect(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]).map((x) => x.toString(16).padStart(8, '0'))).toEqual([
      'd16cfe09',
      '94fdcceb',
      '5001e420',
      '24126ea1',
    ]);
  });

  it("matches the GPU generator's numbers (shaders/random.wgsl)", async () => {
    const seed = 2 ** 32 + 12345;
    const gen = new Generator(seed, 7);
    const t = gen.uniform([16]);
    const gpu = await t.data();
    t.dispose();
    const cpu: number[] = [];
    for (let k = 0; k < 4; k++) for (const word of philox4x32([7 + k, 0, 0, 0], [12345, 1])) cpu.push((word >>> 8) / 2 ** 24);
    expect(Array.from(gpu)).toEqual(cpu);
  });

  it('exp and log with basic arithmetic agree with Math to double precision', () => {
    for (const x of [-0.3, -0.2876820724517809, 0, 0.1, 0.2876820724517809, 1]) expect(Math.abs(expSmall(x) - Math.exp(x))).toBeLessThan(1e-15 * Math.exp(x));
    for (const x of [0.75, 1, 4 / 3, 0.5, 2.5]) expect(Math.abs(logNearOne(x) - Math.log(x))).toBeLessThan(1e-15);
  });
});

describe('drawParams', () => {
  it('is a pure function of (seed, step, sample, view), and each of them changes the draw', () => {
    const a = drawParams(BYOL_VIEW_1, 96, 96, 5, 100, 3, 0);
    expect(drawParams(BYOL_VIEW_1, 96, 96, 5, 100, 3, 0)).toEqual(a);
    expect(drawParams(BYOL_VIEW_1, 96, 96, 6, 100, 3, 0)).not.toEqual(a);
    expect(drawParams(BYOL_VIEW_1, 96, 96, 5, 101, 3, 0)).not.toEqual(a);
    expect(drawParams(BYOL_VIEW_1, 96, 96, 5, 100, 4, 0)).not.toEqual(a);
    expect(drawParams(BYOL_VIEW_1, 96, 96, 5, 100, 3, 1)).not.toEqual(a);
    // Steps and seeds beyond 32 bits are used whole.
    expect(drawParams(BYOL_VIEW_1, 96, 96, 5, 100 + 2 ** 32, 3, 0)).not.toEqual(a);
    expect(drawParams(BYOL_VIEW_1, 96, 96, 5 + 2 ** 32, 100, 3, 0)).not.toEqual(a);
  });

  it('gives every component its own counters: changing one probability leaves the others unchanged', () => {
    const other: ViewConfig = { ...BYOL_VIEW_1, flipP: 0.9, grayscaleP: 0.7 };
    for (let i = 0; i < 50; i++) {
      const a = drawParams(BYOL_VIEW_1, 32, 32, 1, 2, i);
      const b = drawParams(other, 32, 32, 1, 2, i);
      expect(b.crop).toEqual(a.crop);
      expect(b.jitter).toEqual(a.jitter);
      expect(b.blurSigma).toBe(a.blurSigma);
    }
  });

  it('matches each probability and range of the BYOL configuration over 20,000 samples', () => {
    const N = 20_000;
    // 4.5 standard deviations of a proportion over N draws, at most.
    const tol = (p: number): number => 4.5 * Math.sqrt((p * (1 - p)) / N) + 1e-12;
    for (const [view, config] of [BYOL_VIEW_1, BYOL_VIEW_2].entries()) {
      const H = 1000; // large, so that rounding the crop to whole pixels hardly moves area and aspect
      let flips = 0, jitters = 0, grays = 0, blurs = 0, solar = 0, fallback = 0, wide = 0;
      let sigmaSum = 0;
      let minArea = 1;
      let maxArea = 0;
      const bad: string[] = [];
      const orders = new Map<string, number>();
      for (let i = 0; i < N; i++) {
        const p = drawParams(config, H, H, 42, 7, i, view);
        flips += +p.flip;
        grays += +p.grayscale;
        solar += +p.solarize;
        const { top, left, height, width } = p.crop;
        if (!(top >= 0 && left >= 0 && top + height <= H && left + width <= H)) bad.push(`crop ${JSON.stringify(p.crop)} outside`);
        if (height === H && width === H) fallback++;
        else {
          const area = (height * width) / (H * H);
          if (!(area >= 0.08 - 0.002 && area <= 1)) bad.push(`area fraction ${area}`);
          const aspect = width / height;
          if (!(aspect >= 3 / 4 - 0.01 && aspect <= 4 / 3 + 0.01)) bad.push(`aspect ${aspect}`);
          minArea = Math.min(minArea, area);
          maxArea = Math.max(maxArea, area);
          wide += +(aspect > 1);
        }
        if (p.jitter) {
          jitters++;
          const j = p.jitter;
          if (!(j.brightness >= 0.6 && j.brightness <= 1.4 && j.contrast >= 0.6 && j.contrast <= 1.4)) bad.push(`jitter ${JSON.stringify(j)}`);
          if (!(j.saturation >= 0.8 && j.saturation <= 1.2 && j.hue >= -0.1 && j.hue <= 0.1)) bad.push(`jitter ${JSON.stringify(j)}`);
          const key = j.order.join('');
          orders.set(key, (orders.get(key) ?? 0) + 1);
        }
        if (p.blurSigma > 0) {
          blurs++;
          sigmaSum += p.blurSigma;
          if (!(p.blurSigma >= 0.1 && p.blurSigma <= 2)) bad.push(`sigma ${p.blurSigma}`);
        }
      }
      expect(bad.slice(0, 5)).toEqual([]);
      // The whole range is used.
      expect(minArea).toBeLessThan(0.085);
      expect(maxArea).toBeGreaterThan(0.95);
      expect(Math.abs(flips / N - 0.5), 'flip').toBeLessThan(tol(0.5));
      expect(Math.abs(jitters / N - 0.8), 'jitter').toBeLessThan(tol(0.8));
      expect(Math.abs(grays / N - 0.2), 'grayscale').toBeLessThan(tol(0.2));
      expect(Math.abs(blurs / N - config.blur.p), 'blur').toBeLessThan(tol(config.blur.p));
      expect(Math.abs(solar / N - config.solarize.p), 'solarize').toBeLessThan(tol(config.solarize.p));
      expect(Math.abs(sigmaSum / blurs - 1.05), "mean σ").toBeLessThan(0.05);
      // A square image fits every attempt with area ≤ 3/4, so fallbacks (10 failures in a row) are rare.
      expect(fallback / N).toBeLessThan(0.001);
      // Log-uniform aspect ratio in [3/4, 4/3] is symmetric about 1.
      expect(Math.abs(wide / (N - fallback) - 0.5), 'aspect > 1').toBeLessThan(tol(0.5) + 0.005);
      expect(orders.size, 'all 24 jitter orders').toBe(24);
      for (const count of orders.values()) expect(Math.abs(count / jitters - 1 / 24)).toBeLessThan(4.5 * Math.sqrt(1 / 24 / jitters));
    }
  });

  it('falls back to the central crop as torchvision when 10 attempts fail', () => {
    const config: ViewConfig = { ...BYOL_VIEW_1, crop: { scale: [0.99, 1], ratio: [2, 2.5] } };
    for (let i = 0; i < 20; i++) expect(drawParams(config, 40, 40, 3, 0, i).crop).toEqual({ top: 10, left: 0, height: 20, width: 40 });
    // A wide image and a tall ratio range: full height, width = round(h · max ratio), centred.
    const tall: ViewConfig = { ...BYOL_VIEW_1, crop: { scale: [0.99, 1], ratio: [0.5, 0.6] } };
    expect(drawParams(tall, 30, 90, 3, 0, 0).crop).toEqual({ top: 0, left: 36, height: 30, width: 18 });
  });

  it('picks the blur kernel as about a tenth of the image, odd', () => {
    expect([224, 96, 32, 28, 12].map(defaultBlurKernel)).toEqual([23, 9, 3, 3, 1]);
  });
});

describe('GPU augmentations against the float64 reference', () => {
  const shape: ImageShape = { n: 4, c: 3, h: 13, w: 11 };

  it('random resized crop with bilinear resampling (up- and downsampling)', async () => {
    for (const [outH, outW] of [[9, 10], [17, 15], [13, 11]] as const) {
      const { diff } = await compare(shape, () => plain(13, 11, { crop: randomCrop(13, 11) }), { outH, outW });
      expect(diff, seedNote).toBeLessThan(TOL);
    }
  });

  it('horizontal flip', async () => {
    const { diff, gpu } = await compare(shape, (i) => plain(13, 11, { crop: randomCrop(13, 11), flip: i % 2 === 0 }), { outH: 8, outW: 7 });
    expect(diff, seedNote).toBeLessThan(TOL);
    expect(gpu.some((v) => v !== 0)).toBe(true);
  });

  for (const [name, index] of [['brightness', 0], ['contrast', 1], ['saturation', 2], ['hue', 3]] as const) {
    it(`colour jitter: ${name} alone`, async () => {
      const { diff } = await compare(
        shape,
        () => {
          const factor = index === 3 ? rand() - 0.5 : 0.4 + 1.2 * rand(); // hue over its whole range [−0.5, 0.5]
          const jitter = { ...noJitter, order: randomOrder(), [name]: factor };
          return plain(13, 11, { crop: randomCrop(13, 11), jitter });
        },
        { outH: 9, outW: 10 },
      );
      expect(diff, seedNote).toBeLessThan(TOL);
    });
  }

  it('colour jitter: all four in random orders', async () => {
    const { diff } = await compare(
      { ...shape, n: 8 },
      () =>
        plain(13, 11, {
          crop: randomCrop(13, 11),
          jitter: { brightness: 0.6 + 0.8 * rand(), contrast: 0.6 + 0.8 * rand(), saturation: 0.8 + 0.4 * rand(), hue: 0.2 * rand() - 0.1, order: randomOrder() },
        }),
      { outH: 9, outW: 10 },
    );
    expect(diff, seedNote).toBeLessThan(TOL);
  });

  it('grayscale with weights 0.299/0.587/0.114, replicated to three channels', async () => {
    const { diff, gpu } = await compare(shape, (i) => plain(13, 11, { grayscale: i !== 1 }), { outH: 13, outW: 11 });
    expect(diff, seedNote).toBeLessThan(TOL);
    const plane = 13 * 11;
    expect(gpu[plane + 5]).toBe(gpu[5]); // sample 0 is gray: the channels are equal
  });

  it('gaussian blur, separable, reflect padding (kernels 3, 5 and 9)', async () => {
    for (const k of [3, 5, 9]) {
      const { diff } = await compare(shape, (i) => plain(13, 11, { crop: randomCrop(13, 11), blurSigma: i === 2 ? 0 : 0.1 + 1.9 * rand() }), { outH: 10, outW: 9, kernelSize: k });
      expect(diff, `kernel ${k} ${seedNote}`).toBeLessThan(TOL);
    }
  });

  it('solarize at 0.5', async () => {
    const { diff } = await compare(shape, (i) => plain(13, 11, { crop: randomCrop(13, 11), solarize: i !== 0 }), { outH: 9, outW: 10 });
    expect(diff, seedNote).toBeLessThan(TOL);
  });

  it("normalization by the dataset's mean and standard deviation", async () => {
    const mean = [0.49, 0.48, 0.45];
    const std = [0.25, 0.24, 0.26];
    const { gpu, ref } = await compare(shape, () => plain(13, 11, { crop: randomCrop(13, 11) }), { outH: 9, outW: 10, mean, std });
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    expect(maxAbsDiff(gpu, ref) / scale, seedNote).toBeLessThan(1e-4);
  });

  it('full BYOL draws on one- and three-channel batches, both views', async () => {
    for (const c of [1, 3]) {
      const s: ImageShape = { n: 6, c, h: 20, w: 18 };
      for (const [v, config] of [BYOL_VIEW_1, BYOL_VIEW_2].entries()) {
        const { diff } = await compare(s, (i) => drawParams(config, s.h, s.w, 9, 3, i, v), { outH: 16, outW: 16, kernelSize: 3 });
        expect(diff, `c=${c} view ${v} ${seedNote}`).toBeLessThan(TOL);
      }
    }
  });

  it('identity parameters give back the input (one and three channels)', async () => {
    for (const c of [1, 3]) {
      const s: ImageShape = { n: 3, c, h: 7, w: 10 };
      const pixels = randomPixels(s);
      const t = fromBytes(pixels);
      const [out] = augmentBatch(t, s, [Array.from({ length: 3 }, () => identityParams(7, 10))], { outH: 7, outW: 10, kernelSizes: [3], stats: ZERO_ONE });
      const gpu = await out!.data();
      for (let i = 0; i < 3; i++)
        for (let ch = 0; ch < 3; ch++)
          for (let p = 0; p < 70; p++) {
            const expected = Math.fround(pixels[(i * c + (c === 1 ? 0 : ch)) * 70 + p]! / 255);
            expect(Math.abs(gpu[(i * 3 + ch) * 70 + p]! - expected)).toBeLessThanOrEqual(1e-7);
          }
      t.dispose();
      out!.dispose();
    }
  });
});

describe('the float64 reference against torchvision', () => {
  // Made by test/byol/make-torchvision-fixture.py with torchvision's functional ops on float64 tensors.
  const fixture = JSON.parse(readFileSync(new URL('./torchvision-fixture.json', import.meta.url), 'utf8')) as {
    cases: { shape: number[]; pixels: number[]; params: SampleParams; outH: number; outW: number; kernelSize: number; mean: number[]; std: number[]; expected: number[] }[];
  };
  it(`matches on ${fixture.cases.length} cases (crop, flip, jitter in order, grayscale, blur, solarize, normalize)`, () => {
    for (const [k, c] of fixture.cases.entries()) {
      const [n, ch, h, w] = c.shape as [number, number, number, number];
      const ref = augmentReference(Uint8Array.from(c.pixels), { n, c: ch, h, w }, [c.params], c);
      expect(maxAbsDiff(ref, c.expected), `case ${k}`).toBeLessThan(1e-12);
    }
  });
});

describe('ByolAugment', () => {
  const shape: ImageShape = { n: 5, c: 3, h: 12, w: 12 };
  const stats = { mean: [0.5, 0.45, 0.4], std: [0.25, 0.25, 0.25] };

  async function views(augment: ByolAugment, pixels: Tensor, step: number, seed: number): Promise<Float32Array[]> {
    const out = augment.views(pixels, shape, step, seed);
    const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
    for (const t of out) t.dispose();
    return data;
  }

  it('gives the same views for the same (seed, step), different ones for another step, and matches the reference', async () => {
    const pixels = randomPixels(shape);
    const t = fromBytes(pixels);
    const augment = new ByolAugment({ size: 10 }, stats);
    const live = memory().liveTensors;
    const [a1, a2] = await views(augment, t, 3, 11);
    expect(memory().liveTensors, 'every intermediate is released').toBe(live);
    const [b1, b2] = await views(augment, t, 3, 11);
    const [c1, c2] = await views(augment, t, 4, 11);
    expect(a1!.length).toBe(5 * 3 * 10 * 10);
    expect(Array.from(b1!)).toEqual(Array.from(a1!));
    expect(Array.from(b2!)).toEqual(Array.from(a2!));
    expect(Array.from(c1!)).not.toEqual(Array.from(a1!));
    expect(Array.from(c2!)).not.toEqual(Array.from(a2!));
    expect(Array.from(a2!)).not.toEqual(Array.from(a1!));
    const params = augment.drawBatch(shape, 3, 11);
    for (const v of [0, 1]) {
      const ref = augmentReference(pixels, shape, params[v]!, { outH: 10, outW: 10, kernelSize: augment.kernelSizes[v]!, ...stats });
      expect(maxAbsDiff([a1, a2][v]!, ref) * 0.25, seedNote).toBeLessThan(TOL); // × std: back on [0, 1] values
    }
    t.dispose();
  });

  it('rejects bad input with a clear error before any GPU work', () => {
    const augment = new ByolAugment({ size: 8 }, stats);
    const t = fromBytes(new Uint8Array(10));
    expect(() => augment.views(t, shape, 0, 0)).toThrow(/pixels hold 3 words, a batch of 5×3×12×12 uint8 needs 540/);
    expect(() => augment.views(t, { n: 1, c: 2, h: 2, w: 2 }, 0, 0)).toThrow(/1 or 3 channels/);
    expect(() => new ByolAugment({ size: 8, views: [{ ...BYOL_VIEW_1, flipP: 2 }] }, stats)).toThrow(/flipP must be a probability/);
    expect(() => new ByolAugment({ size: 8 }, { mean: [0], std: [0] })).toThrow(/std must be positive/);
    t.dispose();
  });

  it('computes channel statistics in [0, 1] units', () => {
    const s = channelStats(Uint8Array.from([0, 255, 0, 255]), { c: 1, h: 2, w: 2 });
    expect(s.mean).toEqual([0.5, 0.5, 0.5]);
    expect(s.std).toEqual([0.5, 0.5, 0.5]);
  });
});
