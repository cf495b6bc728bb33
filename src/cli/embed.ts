/**
 * `npm run embed -- --checkpoint FILE --dataset SPEC`: what a saved encoder learned, without retraining it.
 * Draws neighbours.png (the nearest labeled training images to one test image per class) and embedding.png
 * (a UMAP map of the test images' features), the encoder beside the random encoder a run starts from, as
 * `npm run train:byol` draws them at the end of a run.
 *
 * The encoder: this project's byol-encoder.safetensors, or torchvision's resnet18 state dict (with or without
 * fc) in safetensors. The splits, image size and seed come from the run's settings stored in the file (so the
 * run's pictures come out the same), else from the quick preset; flags override either.
 */
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync, mkdirSync } from 'node:fs';
import { init } from '../tensor/engine.js';
import { NoAdapterError } from '../gpu/device.js';
import { GpuError } from '../gpu/runtime.js';
import { OutOfMemoryError } from '../gpu/pool.js';
import { datasetSpecProblem, openDataset } from '../data/open.js';
import { semiSupervisedSplit } from '../data/splits.js';
import { DatasetError } from '../data/errors.js';
import { presetConfig, type ExperimentConfig } from '../byol/config.js';
import { ExperimentError, prepareData } from '../byol/experiment.js';
import { EncoderFileError } from '../byol/inspect.js';
import { drawEncoderPictures, loadEncoderFile } from './encoder-pictures.js';
import { notAFile, numberProblem, outputFolder, parseCommandLine, type CommandSpec, type FlagSpec, type ParsedFlags } from './args.js';

const USAGE = `usage: npm run embed -- --checkpoint FILE [--dataset SPEC] [options]

Draws what an encoder learned: neighbours.png (the nearest labeled training images to one test image per
class, by cosine similarity of the features) and embedding.png (a UMAP map of the test images' features,
coloured by class), each beside the random encoder a run starts from.

  --checkpoint FILE        a ResNet-18 encoder in safetensors: a run's byol-encoder.safetensors, or
                           torchvision's resnet18 state dict (fc, if present, is not used)
  --dataset SPEC           fashion-mnist | mnist | stl10 | cifar10 | folder:PATH (needs a test split; default:
                           the run's dataset, else fashion-mnist)
  --out DIR                where the pictures go (default: the checkpoint's folder)
  --seed N                 seed of the splits, the random encoder, the queries and the map (default: the run's, else 0)
  --labels-per-class N     labeled training images per class, the neighbours' pool (default: the run's, else 50)
  --test-images N          test images (default: the run's, else 500; 0: the whole test split)
  --image-size N           side of the square images the encoder sees (default: the run's, else 32)
  --neighbours K           neighbours drawn per query (default 8)
  --queries N              query images, one per class (default 10)
  --batch N                images per batch for the features (default: the run's, else 64)
  --data-dir DIR           where datasets live (default $BYOL_DATA_DIR or ~/.cache/byol-webgpu/data)
  -h, --help               show this text`;

const FLAGS: Record<string, FlagSpec> = {
  checkpoint: { kind: 'string' },
  dataset: { kind: 'string', check: datasetSpecProblem },
  out: { kind: 'string', check: outputFolder },
  seed: { kind: 'int', min: 0 },
  'labels-per-class': { kind: 'int', min: 1 },
  'test-images': { kind: 'int', min: 0 },
  'image-size': { kind: 'int', min: 8, max: 2048 },
  neighbours: { kind: 'int', min: 1, max: 32 },
  queries: { kind: 'int', min: 1, max: 100 },
  batch: { kind: 'int', min: 2 },
  'data-dir': { kind: 'string', check: notAFile },
};

/** The command line of `npm run embed`. */
export const EMBED: CommandSpec = { usage: USAGE, flags: FLAGS };

/** The stored settings embed uses, and the flag that sets each. */
const STORED: readonly [keyof ExperimentConfig, string][] = [
  ['seed', 'seed'],
  ['labelsPerClass', 'labels-per-class'],
  ['testImages', 'test-images'],
  ['imageSize', 'image-size'],
  ['batch', 'batch'],
];

/** Checks the run's settings stored in `file` that no flag replaces, as the flags would be checked. */
function checkStoredSettings(file: string, c: ExperimentConfig, flags: ParsedFlags): void {
  const problems: string[] = [];
  for (const [key, flag] of STORED) {
    if (flags[flag] !== undefined) continue;
    const problem = numberProblem(flag, c[key], FLAGS[flag]!);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  if (flags.dataset === undefined) {
    const problem = typeof c.dataset === 'string' ? datasetSpecProblem(c.dataset) : `must name a dataset, got ${JSON.stringify(c.dataset)}`;
    if (problem) problems.push(`dataset: --dataset ${problem}`);
  }
  if (problems.length) {
    throw new EncoderFileError(`${file}: the run's settings stored in it are out of range (${problems.join('; ')}); give the flag to use another value`);
  }
}

async function main(flags: ParsedFlags): Promise<number> {
  if (flags.checkpoint === undefined) {
    process.stderr.write(`error: --checkpoint FILE is required\n\n${USAGE}\n`);
    return 2;
  }
  const file = resolve(flags.checkpoint as string);
  // A missing file is reported before the GPU is set up.
  if (!existsSync(file)) throw new EncoderFileError(`${file}: no such file`);
  const rt = await init();
  console.log(`adapter: ${rt.report.name}`);
  const loaded = loadEncoderFile(file);
  let handed = false;
  try {
    // The run's settings where the file has them, so its splits, normalization and seed come out the same.
    // Another program's encoder: the quick preset's splits, with one held-out image only (nothing is trained
    // here; the pretraining pool only gives the normalization statistics, so it may as well be all the rest).
    const c: ExperimentConfig = loaded.config ? { ...presetConfig('quick'), ...loaded.config } : { ...presetConfig('quick'), heldOutImages: 1 };
    // Settings from the file are checked as the same flags on the command line would be; a flag replaces one.
    if (loaded.config) checkStoredSettings(file, c, flags);
    const num = (k: string) => flags[k] as number | undefined;
    if (flags.dataset !== undefined) c.dataset = flags.dataset as string;
    if (num('seed') !== undefined) c.seed = num('seed')!;
    if (num('labels-per-class') !== undefined) c.labelsPerClass = num('labels-per-class')!;
    if (num('test-images') !== undefined) c.testImages = num('test-images')!;
    if (num('image-size') !== undefined) c.imageSize = num('image-size')!;
    if (num('batch') !== undefined) c.batch = num('batch')!;
    console.log(
      `${file}: ResNet-18, ${loaded.stem === 'small' ? '3×3 stem' : "torchvision's 7×7 stem"}, width ${loaded.width}${loaded.config ? `, from a ${loaded.config.preset} run on ${loaded.config.dataset} (seed ${loaded.config.seed})` : ''}`,
    );
    const opened = await openDataset(c.dataset, flags['data-dir'] ? { dataDir: flags['data-dir'] as string } : {});
    try {
      if (!opened.test) {
        throw new DatasetError(`${opened.name} has no test split, and the pictures query test images: give a folder with train/ and test/ sub-folders, or a dataset that has a test split`);
      }
      const split = semiSupervisedSplit(opened, { labeledPerClass: c.labelsPerClass, seed: c.seed });
      // (No batch is trained: a pool smaller than one batch is fine here.)
      const data = await prepareData(split, { ...c, batch: 1 }, opened.name);
      console.log(`${data.name}: ${data.labeled.length} labeled and ${data.test.length} test images, ${c.imageSize}×${c.imageSize}, seed ${c.seed}`);
      const out = resolve((flags.out as string | undefined) ?? dirname(file));
      mkdirSync(out, { recursive: true });
      handed = true;
      const t0 = Date.now();
      const { lines, paths } = await drawEncoderPictures(loaded, data, c, out, {
        ...(flags.neighbours !== undefined ? { k: flags.neighbours as number } : {}),
        ...(flags.queries !== undefined ? { queries: flags.queries as number } : {}),
        log: (line) => console.log(line),
      });
      for (const line of lines) console.log(line);
      console.log(`wrote ${paths.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await opened.close();
    }
  } finally {
    if (!handed) loaded.encoder.dispose();
  }
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  const parsed = parseCommandLine(process.argv.slice(2), EMBED);
  if (typeof parsed === 'number') process.exit(parsed);
  main(parsed.flags).then(
    (code) => process.exit(code),
    (e: unknown) => {
      const err = e as Error;
      if (err instanceof NoAdapterError || err instanceof DatasetError || err instanceof ExperimentError || err instanceof EncoderFileError) {
        process.stderr.write(`error: ${err.message}\n`);
      } else if (err instanceof OutOfMemoryError || (err instanceof GpuError && err.kind === 'out-of-memory')) {
        process.stderr.write(`error: out of GPU memory: ${err.message}\nTry a smaller --batch or --image-size.\n`);
      } else {
        process.stderr.write(`error: ${err.stack ?? err.message}\n`);
      }
      process.exit(1);
    },
  );
}
