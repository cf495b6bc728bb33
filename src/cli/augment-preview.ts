/**
 * `npm run augment:preview -- [--dataset SPEC] [--out FILE.png] [--count N] [--seed S] [--step N] [--size N]`:
 * a PNG grid of some images and their two BYOL views, as augmented on the GPU (normalization undone for
 * display), so a person can see what the network sees. Prints each sample's drawn parameters.
 */
import { constants } from 'node:fs';
import { access, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { ByolAugment, channelStats, type ImageShape, type SampleParams } from '../byol/augment.js';
import { DEFAULT_DATASET, openDataset } from '../data/open.js';
import { Rng, deriveSeed } from '../data/prng.js';
import { init } from '../tensor/engine.js';
import { fromBytes } from '../tensor/tensor.js';

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

class UsageError extends Error {}

interface Args {
  dataset: string;
  out: string;
  count: number;
  seed: number;
  step: number;
  size: number | null;
}

function parseArgs(argv: readonly string[]): Args | 'help' {
  const args: Args = { dataset: DEFAULT_DATASET, out: 'augment-preview.png', count: 8, seed: 0, step: 0, size: null };
  const integer = (flag: string, value: string, min: number, max: number): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer in ${min}..${max}, got "${value}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    const m = /^(--dataset|--out|--count|--seed|--step|--size)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new UsageError(arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument "${arg}"`);
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '' || (m[2] === undefined && value.startsWith('--'))) throw new UsageError(`${m[1]} needs a value`);
    switch (m[1]) {
      case '--dataset':
        args.dataset = value;
        break;
      case '--out':
        if (!value.toLowerCase().endsWith('.png')) throw new UsageError(`--out must name a .png file, got "${value}"`);
        args.out = value;
        break;
      case '--count':
        args.count = integer('--count', value, 1, 64);
        break;
      case '--seed':
        args.seed = integer('--seed', value, 0, Number.MAX_SAFE_INTEGER);
        break;
      case '--step':
        args.step = integer('--step', value, 0, 2 ** 48 - 1);
        break;
      case '--size':
        args.size = integer('--size', value, 8, 512);
        break;
    }
  }
  return args;
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
  } catch {
    throw new Error(`cannot write ${out}: the folder ${dirname(out)} does not exist or is not writable`);
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
    await writeFile(temp, PNG.sync.write(png));
    await rename(temp, out);

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

let parsed: Args | 'help';
try {
  parsed = parseArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`augment:preview: ${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (parsed === 'help') {
  console.log(USAGE);
  process.exit(0);
}
try {
  await main(parsed);
  process.exit(0);
} catch (err) {
  console.error(`augment:preview: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  process.exit(1);
}
