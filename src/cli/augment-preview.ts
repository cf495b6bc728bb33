/**
 * `npm run augment:preview -- [--dataset SPEC] [--out FILE.png] [--count N] [--seed S] [--step N] [--size N]`:
 * a PNG grid of some images and their two BYOL views, as augmented on the GPU (normalization undone for
 * display), so a person can see what the network sees. Prints each sample's drawn parameters.
 */
import { constants } from 'node:fs';
import { access, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { ByolAugment, channelStats, type ImageShape, type SampleParams } from '../byol/augment.js';
import { DEFAULT_DATASET, datasetSpecProblem, openDataset } from '../data/open.js';
import { Rng, deriveSeed } from '../data/prng.js';
import { init } from '../tensor/engine.js';
import { fromBytes } from '../tensor/tensor.js';
import { notAFolder, parseCommandLine, type CommandSpec, type FlagSpec, type ParsedFlags } from './args.js';

const USAGE = `usage: npm run augment:preview -- [--dataset SPEC] [--out FILE.png] [--count N] [--seed S] [--step N] [--size N]

Augments a few images of a dataset on the GPU with BYOL's two views and writes a PNG grid: one row per image,
columns original | view 1 (τ: blur always, no solarize) | view 2 (τ′: blur 10%, solarize 20%).

  --dataset SPEC  fashion-mnist (default), mnist, stl10, cifar10 or folder:PATH
  --out FILE      PNG to write (default augment-preview.png)
  --count N       images to show, 1..64 (default 8)
  --seed S        augmentation seed, also picks the images (default 0)
  --step N        training step the draws are keyed by (default 0)
  --size N        output size of the views (default: the dataset's image size)
  -h, --help      show this text`;

const FLAGS: Record<string, FlagSpec> = {
  dataset: { kind: 'string', check: datasetSpecProblem },
  out: { kind: 'string', check: (v) => (v.toLowerCase().endsWith('.png') ? notAFolder(v) : `must name a .png file, got "${v}"`) },
  count: { kind: 'int', min: 1, max: 64 },
  seed: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
  step: { kind: 'int', min: 0, max: 2 ** 48 - 1 },
  size: { kind: 'int', min: 8, max: 512 },
};

/** The command line of `npm run augment:preview`. */
export const AUGMENT_PREVIEW: CommandSpec = { usage: USAGE, flags: FLAGS };

interface Args {
  dataset: string;
  out: string;
  count: number;
  seed: number;
  step: number;
  size: number | null;
}

function argsOf(flags: ParsedFlags): Args {
  const int = (k: string): number | undefined => flags[k] as number | undefined;
  return {
    dataset: (flags.dataset as string | undefined) ?? DEFAULT_DATASET,
    out: (flags.out as string | undefined) ?? 'augment-preview.png',
    count: int('count') ?? 8,
    seed: int('seed') ?? 0,
    step: int('step') ?? 0,
    size: int('size') ?? null,
  };
}

function describe(p: SampleParams): string {
  const c = p.crop;
  const parts = [`crop ${c.width}×${c.height}@(${c.left},${c.top})`, p.flip ? 'flip' : 'no-flip'];
  if (p.jitter) {
    const j = p.jitter;
    const names = ['b', 'c', 's', 'h'];
    parts.push(`jitter[${j.order.map((o) => names[o]).join('')}] b${j.brightness.toFixed(2)} c${j.contrast.toFixed(2)} s${j.saturation.toFixed(2)} h${j.hue >= 0 ? '+' : ''}${j.hue.toFixed(3)}`);
  } else parts.push('no-jitter');
  if (p.grayscale) parts.push('gray');
  parts.push(p.blurSigma > 0 ? `blur σ${p.blurSigma.toFixed(2)}` : 'no-blur');
  if (p.solarize) parts.push('SOLARIZE');
  return parts.join(' ');
}

async function main(args: Args): Promise<void> {
  // Check the destination before any work.
  const out = resolve(args.out);
  try {
    await access(dirname(out), constants.W_OK);
    if (!(await stat(dirname(out))).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new Error(`cannot write ${out}: ${dirname(out)} is not a folder that exists and is writable`);
  }
  const opened = await openDataset(args.dataset);
  try {
    const ds = opened.unlabeled ?? opened.train;
    const { height: h, width: w, channels: c } = ds;
    const size = args.size ?? Math.min(h, w);
    const count = Math.min(args.count, ds.length);
    const order = new Rng(deriveSeed(args.seed, 0x70726576)).shuffle(Int32Array.from({ length: ds.length }, (_, i) => i));
    const images = await ds.readImages(order.subarray(0, count));
    const statImages = await ds.readImages(order.subarray(0, Math.min(ds.length, 2000)));
    const stats = channelStats(statImages, { c, h, w });

    await init();
    const shape: ImageShape = { n: count, c, h, w };
    const augment = new ByolAugment({ size }, stats);
    const pixels = fromBytes(images);
    const params = augment.drawBatch(shape, args.step, args.seed);
    const views = augment.apply(pixels, shape, params);
    const data = await Promise.all(views.map((t) => t.data() as Promise<Float32Array>));
    for (const t of [pixels, ...views]) t.dispose();

    // Grid: tiles of size × size scaled up by an integer factor, 4-pixel gaps.
    const scale = Math.max(1, Math.ceil(112 / size));
    const tile = size * scale;
    const gap = 4;
    const cols = 1 + views.length;
    const png = new PNG({ width: cols * tile + (cols + 1) * gap, height: count * tile + (count + 1) * gap });
    for (let p = 0; p < png.data.length; p += 4) png.data.set([200, 200, 200, 255], p);
    const put = (row: number, col: number, rgb: (ch: number, y: number, x: number) => number): void => {
      const x0 = gap + col * (tile + gap);
      const y0 = gap + row * (tile + gap);
      for (let y = 0; y < tile; y++)
        for (let x = 0; x < tile; x++) {
          const o = ((y0 + y) * png.width + x0 + x) * 4;
          for (let ch = 0; ch < 3; ch++) png.data[o + ch] = Math.round(255 * Math.min(1, Math.max(0, rgb(ch, Math.floor(y / scale), Math.floor(x / scale)))));
        }
    };
    const plane = size * size;
    for (let i = 0; i < count; i++) {
      // The original, nearest-neighbour resized to the tile.
      put(i, 0, (ch, y, x) => images[(i * c + (c === 1 ? 0 : ch)) * h * w + Math.floor((y * h) / size) * w + Math.floor((x * w) / size)]! / 255);
      data.forEach((view, v) => put(i, v + 1, (ch, y, x) => view[(i * 3 + ch) * plane + y * size + x]! * stats.std[ch]! + stats.mean[ch]!));
    }
    const temp = `${out}.${process.pid}.tmp`;
    try {
      await writeFile(temp, PNG.sync.write(png));
      await rename(temp, out);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }

    console.log(`${opened.name}: ${count} images of ${ds.name} (${w}×${h}, ${c} channel${c > 1 ? 's' : ''}) → views ${size}×${size}, seed ${args.seed}, step ${args.step}`);
    console.log(`normalization: mean [${stats.mean.map((x) => x.toFixed(3)).join(', ')}], std [${stats.std.map((x) => x.toFixed(3)).join(', ')}]; blur kernels ${augment.kernelSizes.join(', ')}`);
    for (let i = 0; i < count; i++) {
      console.log(`row ${i} (image ${order[i]}):`);
      params.forEach((view, v) => console.log(`  view ${v + 1}: ${describe(view[i]!)}`));
    }
    console.log(`wrote ${out} (${png.width}×${png.height}; columns: original | view 1 | view 2)`);
  } finally {
    await opened.close();
  }
}

/** Runs as the command when it is the entry point (imported, e.g. by the tests of its command line, it only exports). */
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  const parsed = parseCommandLine(process.argv.slice(2), AUGMENT_PREVIEW);
  if (typeof parsed === 'number') process.exit(parsed);
  try {
    await main(argsOf(parsed.flags));
    process.exit(0);
  } catch (err) {
    console.error(`error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    process.exit(1);
  }
}
