/**
 * `npm run train:byol`: the whole semi-supervised experiment (supervised baseline, BYOL pretraining,
 * fine-tuning) on one dataset, headless in Node. Writes OUT/metrics.jsonl, OUT/summary.json,
 * OUT/curves.png, OUT/neighbours.png and OUT/embedding.png (src/cli/encoder-pictures.ts), the resume
 * checkpoint and each phase's network with torchvision's names;
 * `--resume` continues a killed run from its last epoch.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SingleBar, Presets } from 'cli-progress';
import { init } from '../tensor/engine.js';
import { NoAdapterError } from '../gpu/device.js';
import { GpuError } from '../gpu/runtime.js';
import { OutOfMemoryError } from '../gpu/pool.js';
import { datasetSpecProblem, openDataset, type OpenedDataset } from '../data/open.js';
import { semiSupervisedSplit } from '../data/splits.js';
import { DatasetError } from '../data/errors.js';
import { writeFileAtomic } from '../nn/checkpoint-node.js';
import { CheckpointError } from '../nn/checkpoint.js';
import { WIDTH_LIMITS, presetConfig, settingDifferences, type ExperimentConfig, type PresetName } from '../byol/config.js';
import { Experiment, ExperimentError, prepareData, type MetricRecord, type Phase } from '../byol/experiment.js';
import { curvesSpec, gainsSpec } from '../byol/curves.js';
import { ARM_ORDER, aggregate, curvePoints, gainLines, gainPoints, gainTable, reportLines, runResults, studyNotice, summarize, type RunResults } from '../byol/report.js';
import { recordedNoise } from '../byol/noise.js';
import { renderPng } from './render-png.js';
import { drawEncoderPictures, loadEncoderFile } from './encoder-pictures.js';
import { notAFile, outputFolder, parseCommandLine, type CommandSpec, type FlagSpec } from './args.js';

const USAGE = `usage: npm run train:byol -- [options]

Runs the semi-supervised experiment: a supervised ResNet-18 on the labeled images only, BYOL pretraining on
the unlabeled pool, then fine-tuning of the pretrained encoder on the same labels; compares the two arms.

  --dataset SPEC           fashion-mnist (the quick preset's) | mnist | stl10 | cifar10 | folder:PATH
  --preset NAME            smoke | quick (default: Fashion-MNIST, under 15 min on 2 CPU cores) |
                           cifar (CIFAR-10, under 40 min per seed on 2 CPU cores) | full (STL-10 at 96×96)
  --epochs N               BYOL pretraining epochs
  --finetune-epochs N      epochs of the supervised baseline and of the fine-tuning
  --batch N                images per batch
  --image-size N           side of the square images the networks see
  --labels-per-class N     labeled images per class
  --unlabeled N            unlabeled images for pretraining (0: the whole pool)
  --test-images N          test images for every evaluation (0: the whole test split)
  --optimizer NAME         adamw (quick, cifar) | lars (full) | sgd, for BYOL pretraining
  --lr X                   BYOL base learning rate per 256 images
  --curve-every N          BYOL images between fine-tunings of the encoder for the gain curve (gains.png);
                           0: only the fine-tuned arm after the last epoch
  --finetune-optimizer NAME  sgd | adamw, for both classifier arms (the cifar preset's: adamw)
  --finetune-lr X          learning rate of the supervised baseline (the fine-tuning takes --finetune-lr-scale
                           of it)
  --finetune-lr-scale X    the fine-tuning's learning rate as a fraction of --finetune-lr (quick: 0.1; cifar: 1)
  --warmup-epochs N        BYOL epochs of linear learning-rate warm-up before the cosine decay
  --tau X                  BYOL's base EMA rate τ (quick, cifar: 0.99; full: 0.996)
  --tau-constant           keep τ constant instead of the cosine schedule
  --crop-min-scale X       smallest area fraction of BYOL's random resized crop (quick, cifar: 0.25; the paper's 0.08)
  --blur on|off            Gaussian blur in BYOL's views (quick, cifar: off, which suits 32×32 images)
  --linear-probe           freeze the pretrained encoder (and the baseline's) and train only fc
  --random-draws N         random encoders the random arm's probe and kNN are the mean of (default 8; one
                           draw's probe varies by about 1.2 points)
  --stem NAME              imagenet (7×7/2 + max pool, torchvision's) | small (3×3/1, no max pool)
  --width N                width of ResNet-18's first stage, 2..256 (64 is ResNet-18; less only for tests)
  --seed N                 seed of every random choice (default 0)
  --seeds LIST             run the protocol once per seed (e.g. 0,1,2) into OUT/seed-N and report every arm's
                           mean ± sd and the paired differences with their standard errors
  --out DIR                output folder (default runs/<preset>-<dataset>)
  --resume                 continue the run in --out from its last finished epoch
  --force                  write into an --out folder that holds other files and no checkpoint (they may be
                           overwritten)
  --data-dir DIR           where datasets live (default $BYOL_DATA_DIR or ~/.cache/byol-webgpu/data)
  -h, --help               show this text`;

const FLAGS: Record<string, FlagSpec> = {
  dataset: { kind: 'string', check: datasetSpecProblem },
  preset: { kind: ['smoke', 'quick', 'cifar', 'full'] },
  epochs: { kind: 'int', min: 0 },
  'finetune-epochs': { kind: 'int', min: 0 },
  batch: { kind: 'int', min: 2 },
  'image-size': { kind: 'int', min: 8, max: 2048 },
  'labels-per-class': { kind: 'int', min: 1 },
  unlabeled: { kind: 'int', min: 0 },
  'test-images': { kind: 'int', min: 0 },
  optimizer: { kind: ['lars', 'adamw', 'sgd'] },
  lr: { kind: 'number', min: 0 },
  'finetune-optimizer': { kind: ['sgd', 'adamw'] },
  'finetune-lr': { kind: 'number', min: 0 },
  'finetune-lr-scale': { kind: 'number', min: 0 },
  'curve-every': { kind: 'int', min: 0 },
  'warmup-epochs': { kind: 'int', min: 0 },
  tau: { kind: 'number', min: 0, max: 1 },
  'tau-constant': { kind: 'boolean' },
  'crop-min-scale': { kind: 'number', min: 0.01, max: 1 },
  blur: { kind: ['on', 'off'] },
  'linear-probe': { kind: 'boolean' },
  'random-draws': { kind: 'int', min: 1, max: 1000 },
  stem: { kind: ['imagenet', 'small'] },
  width: { kind: 'int', min: WIDTH_LIMITS.min, max: WIDTH_LIMITS.max },
  seed: { kind: 'int', min: 0 },
  seeds: { kind: 'int-list', min: 0 },
  out: { kind: 'string', check: outputFolder },
  resume: { kind: 'boolean' },
  force: { kind: 'boolean' },
  'data-dir': { kind: 'string', check: notAFile },
};

/** The command line of `npm run train:byol`. */
export const TRAIN_BYOL: CommandSpec = { usage: USAGE, flags: FLAGS };

export function configFromFlags(flags: Record<string, string | number | boolean | undefined>): ExperimentConfig {
  const c = presetConfig((flags.preset as PresetName | undefined) ?? 'quick');
  const num = (k: string) => flags[k] as number | undefined;
  if (flags.dataset !== undefined) c.dataset = flags.dataset as string;
  if (num('epochs') !== undefined) c.byol.epochs = num('epochs')!;
  if (num('finetune-epochs') !== undefined) c.finetune.epochs = num('finetune-epochs')!;
  if (num('batch') !== undefined) c.batch = num('batch')!;
  if (num('image-size') !== undefined) c.imageSize = num('image-size')!;
  if (num('labels-per-class') !== undefined) c.labelsPerClass = num('labels-per-class')!;
  if (num('unlabeled') !== undefined) c.unlabeledImages = num('unlabeled')!;
  if (num('test-images') !== undefined) c.testImages = num('test-images')!;
  if (flags.optimizer !== undefined) c.byol.optimizer = flags.optimizer as ExperimentConfig['byol']['optimizer'];
  if (num('lr') !== undefined) c.byol.lrPer256 = num('lr')!;
  if (flags['finetune-optimizer'] !== undefined) c.finetune.optimizer = flags['finetune-optimizer'] as ExperimentConfig['finetune']['optimizer'];
  if (num('finetune-lr') !== undefined) c.finetune.lr = num('finetune-lr')!;
  if (num('finetune-lr-scale') !== undefined) c.finetune.pretrainedLrScale = num('finetune-lr-scale')!;
  if (num('curve-every') !== undefined) c.finetune.curveEvery = num('curve-every')!;
  if (num('warmup-epochs') !== undefined) c.byol.warmupEpochs = num('warmup-epochs')!;
  if (num('tau') !== undefined) c.byol.tauBase = num('tau')!;
  if (flags['tau-constant']) c.byol.tauConstant = true;
  if (num('crop-min-scale') !== undefined) c.byol.cropMinScale = num('crop-min-scale')!;
  if (flags.blur !== undefined) c.byol.blur = flags.blur === 'on';
  if (flags['linear-probe']) c.finetune.mode = 'linear';
  if (num('random-draws') !== undefined) c.randomDraws = num('random-draws')!;
  if (flags.stem !== undefined) c.stem = flags.stem as ExperimentConfig['stem'];
  if (num('width') !== undefined) c.width = num('width')!;
  if (num('seed') !== undefined) c.seed = num('seed')!;
  return c;
}

function datasetSlug(spec: string): string {
  return spec.replace(/^folder:/, 'folder-').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
}

function progressBars(): { update(e: { phase: Phase; epoch: number; epochs: number; step: number; steps: number; imagesPerSecond: number }): void; stop(): void } {
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | null = null;
  let key = '';
  let lastLine = 0;
  return {
    update(e) {
      const k = `${e.phase}/${e.epoch}`;
      if (tty) {
        if (k !== key) {
          bar?.stop();
          bar = new SingleBar(
            { format: `${e.phase} epoch ${e.epoch}/${e.epochs} [{bar}] {value}/{total} steps | {ips} images/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
            Presets.shades_classic,
          );
          bar.start(e.steps, 0, { ips: '0.0' });
          key = k;
        }
        bar!.update(e.step, { ips: e.imagesPerSecond.toFixed(1) });
      } else if (Date.now() - lastLine > 10_000 || e.step === e.steps) {
        lastLine = Date.now();
        process.stderr.write(`${e.phase} epoch ${e.epoch}/${e.epochs}: step ${e.step}/${e.steps}, ${e.imagesPerSecond.toFixed(1)} images/s\n`);
      }
    },
    stop() {
      bar?.stop();
      bar = null;
      key = '';
    },
  };
}

interface SeedRun {
  seed: number;
  dir: string;
  records: readonly MetricRecord[];
  results: RunResults;
  summary: Record<string, unknown>;
}

/**
 * A seed that finished earlier in `dir` (a study of several seeds run over several sessions, each seed's
 * folder kept without its checkpoint): its records and summary read back, or null when `dir` holds no
 * finished run. A finished run of other settings is an error: mixing it into the study would compare runs
 * of different protocols.
 */
function finishedSeed(config: ExperimentConfig, dir: string): SeedRun | null {
  const [summaryFile, metricsFile] = [join(dir, 'summary.json'), join(dir, 'metrics.jsonl')];
  if (!existsSync(summaryFile) || !existsSync(metricsFile)) return null;
  let summary: Record<string, unknown>;
  let records: MetricRecord[];
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<string, unknown>;
    records = readFileSync(metricsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as MetricRecord);
  } catch (e) {
    throw new ExperimentError(`${dir}: its summary.json or metrics.jsonl is not valid JSON (${(e as Error).message}); move the folder away to run seed ${config.seed} again`);
  }
  if (summary.finished !== true) return null;
  const diff = settingDifferences(summary.settings as ExperimentConfig, config);
  if (diff.length) {
    const named = diff.map((d) => `${d.path}: ${JSON.stringify(d.before)} there, ${JSON.stringify(d.now)} now`).join('; ');
    throw new ExperimentError(`${dir} holds a finished run of other settings (${named}); run the study with its settings, or choose another --out`);
  }
  return { seed: config.seed, dir, records, results: runResults(records), summary };
}

/** One run of the protocol with `config` (one seed) in `dir`; returns null when paused by the IO. */
async function runSeed(config: ExperimentConfig, opened: OpenedDataset, dir: string, resume: boolean, adapter: string): Promise<SeedRun | null> {
  const t0 = Date.now();
  const split = semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed: config.seed });
  const data = await prepareData(split, config, opened.name);
  console.log(
    `${data.name}: ${data.labeled.length} labeled, ${data.pool.length} unlabeled for pretraining, ${data.heldOut.length} held out, ${data.test.length} test images; ${config.imageSize}×${config.imageSize}, batch ${config.batch}, seed ${config.seed}`,
  );
  console.log(`writing to ${dir}`);
  mkdirSync(dir, { recursive: true });
  const bars = progressBars();
  const exp = new Experiment(config, data, {
    log: (line) => {
      bars.stop();
      console.log(line);
    },
    progress: (e) => bars.update(e),
    where: (name) => join(dir, name),
    saveCheckpoint: async (name, bytes) => writeFileAtomic(join(dir, name), bytes),
    loadCheckpoint: async (name) => (existsSync(join(dir, name)) ? new Uint8Array(readFileSync(join(dir, name))) : null),
    metrics: async (records) => writeFileAtomic(join(dir, 'metrics.jsonl'), new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n') + '\n')),
  });
  const result = await exp.run(resume);
  bars.stop();
  const records = result.state.metrics;
  const results = runResults(records);
  const agg = aggregate([config.seed], [results]);
  const noise = recordedNoise(config);
  const summary = summarize(records, data, config, {
    adapter,
    durationSeconds: (Date.now() - t0) / 1000,
    finished: !result.stopped,
    differences: agg.differences,
    noise: noise ?? null,
  });
  writeFileAtomic(join(dir, 'summary.json'), new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'));
  const png = await renderPng(curvesSpec(curvePoints(records), `${data.name}: ${data.labeled.length} labels, supervised only vs BYOL + fine-tune`, ARM_ORDER));
  writeFileAtomic(join(dir, 'curves.png'), png);
  const gains = gainPoints(records);
  if (gains.length) writeFileAtomic(join(dir, 'gains.png'), await renderPng(gainsSpec(gains, `${data.name}: gains of BYOL pretraining against images seen`)));
  // What the encoder learned, in pictures: its nearest neighbours and embedding map beside the random encoder's.
  const tPictures = Date.now();
  const pictures = result.stopped ? null : await drawEncoderPictures(loadEncoderFile(join(dir, 'byol-encoder.safetensors')), data, config, dir);
  if (pictures) console.log(`drew the encoder pictures in ${((Date.now() - tPictures) / 1000).toFixed(1)} s`);
  console.log(`seed ${config.seed} done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  for (const line of reportLines(agg, config)) console.log(line);
  for (const line of gainLines(gains)) console.log(line);
  for (const line of pictures?.lines ?? []) console.log(line);
  console.log(`wrote ${[join(dir, 'summary.json'), join(dir, 'metrics.jsonl'), join(dir, 'curves.png'), ...(gains.length ? [join(dir, 'gains.png')] : []), ...(pictures?.paths ?? [])].join(', ')}`);
  return result.stopped ? null : { seed: config.seed, dir, records, results, summary };
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv, TRAIN_BYOL);
  if (typeof parsed === 'number') return parsed;
  const flags = parsed.flags;
  const config = configFromFlags(flags);
  running = config;
  const many = flags.seeds !== undefined;
  const seeds = many ? (flags.seeds as string).split(',').map(Number) : [config.seed];
  const out = resolve((flags.out as string | undefined) ?? join('runs', `${config.preset}-${datasetSlug(config.dataset)}`));
  const dirOf = (seed: number) => (many ? join(out, `seed-${seed}`) : out);
  const resume = flags.resume === true;
  const held = seeds.map(dirOf).find((d) => existsSync(join(d, 'checkpoint.safetensors')));
  if (!resume && held) {
    process.stderr.write(`error: ${held} already holds a run; continue it with --resume, or choose another --out\n`);
    return 2;
  }
  // Resuming a study of several seeds, a seed whose folder holds a finished run is read back, not run again.
  const finished = new Map<string, SeedRun>();
  if (resume && many) {
    for (const s of seeds) {
      const done = finishedSeed({ ...config, seed: s }, dirOf(s));
      if (done) finished.set(done.dir, done);
    }
  }
  // A folder without a checkpoint must be empty: what it holds was not written by this run, and would be
  // overwritten (summary.json, metrics.jsonl, ...) or mixed with the run's files. (A run killed while writing
  // its first checkpoint leaves only that checkpoint's temporary file, which is its own.)
  if (flags.force !== true) {
    const begun = finished.size > 0 || seeds.some((s) => existsSync(join(dirOf(s), 'checkpoint.safetensors')));
    const folders: [string, Set<string>][] = [[out, new Set(many ? [...seeds.map((s) => `seed-${s}`), ...(begun ? ['summary.json', 'curves.png', 'gains.png'] : [])] : [])]];
    if (many) for (const s of seeds) folders.push([dirOf(s), new Set()]);
    for (const [dir, own] of folders) {
      if (!existsSync(dir) || existsSync(join(dir, 'checkpoint.safetensors'))) continue;
      if (finished.has(dir)) continue; // a seed finished earlier, read back below
      const others = readdirSync(dir).filter((f) => !own.has(f) && !/^\..+\.tmp-\d+-/.test(f));
      if (others.length === 0) continue;
      const shown = others.slice(0, 4).join(', ') + (others.length > 4 ? `, ... (${others.length} entries)` : '');
      process.stderr.write(
        `error: ${dir} already holds files and no checkpoint of a run (${shown}); choose an empty or new --out, or add --force to write into it (files of the same names are overwritten)\n`,
      );
      return 2;
    }
  }
  const t0 = Date.now();
  // The dataset first: a missing or broken one is reported before the GPU is started or a folder made.
  const opened = await openDataset(config.dataset, flags['data-dir'] ? { dataDir: flags['data-dir'] as string } : {});
  const runs: SeedRun[] = [];
  let adapter = '';
  try {
    adapter = (await init()).report.name;
    console.log(`adapter: ${adapter}`);
    for (const line of studyNotice(config)) console.log(line);
    mkdirSync(out, { recursive: true });
    for (const seed of seeds) {
      const done = finished.get(dirOf(seed));
      if (done) {
        console.log(`seed ${seed}: finished earlier, read back from ${join(done.dir, 'summary.json')} and metrics.jsonl`);
        runs.push(done);
        continue;
      }
      const run = await runSeed({ ...config, seed }, opened, dirOf(seed), resume, adapter);
      if (!run) return 1;
      runs.push(run);
    }
  } finally {
    await opened.close();
  }
  if (!many) {
    console.log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
    return 0;
  }
  const agg = aggregate(seeds, runs.map((r) => r.results));
  const first = runs[0].summary as { dataset: string; splits: unknown };
  const notice = studyNotice(config);
  const summary = {
    ...(notice.length ? { notice } : {}),
    dataset: first.dataset,
    preset: config.preset,
    settings: { ...config, seed: undefined },
    splits: first.splits,
    seeds,
    perSeed: runs.map((r) => ({ seed: r.seed, folder: r.dir, results: r.results })),
    arms: agg.arms,
    differences: agg.differences,
    gainCurve: gainTable(runs.flatMap((r) => gainPoints(r.records, r.seed))),
    adapter,
    durationSeconds: (Date.now() - t0) / 1000,
  };
  writeFileAtomic(join(out, 'summary.json'), new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'));
  const points = runs.flatMap((r) => curvePoints(r.records, r.seed));
  const png = await renderPng(curvesSpec(points, `${first.dataset}: supervised only vs BYOL + fine-tune, ${seeds.length} seeds (mean ± sd)`, ARM_ORDER));
  writeFileAtomic(join(out, 'curves.png'), png);
  const gains = runs.flatMap((r) => gainPoints(r.records, r.seed));
  if (gains.length) writeFileAtomic(join(out, 'gains.png'), await renderPng(gainsSpec(gains, `${first.dataset}: gains of BYOL pretraining against images seen, ${seeds.length} seeds (mean ± SE)`)));
  console.log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  for (const line of reportLines(agg, config)) console.log(line);
  for (const line of gainLines(gains)) console.log(line);
  console.log(`wrote ${join(out, 'summary.json')}, ${join(out, 'curves.png')}${gains.length ? `, ${join(out, 'gains.png')}` : ''} and one folder per seed`);
  return 0;
}

/** The settings of the run in progress, for error messages. */
let running: ExperimentConfig | null = null;

/** Runs as the command when it is the entry point (imported, e.g. by the tests of its command line, it only exports). */
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      const err = e as Error;
      if (err instanceof NoAdapterError || err instanceof DatasetError || err instanceof ExperimentError || err instanceof CheckpointError) {
        process.stderr.write(`error: ${err.message}\n`);
      } else if (err instanceof OutOfMemoryError || (err instanceof GpuError && err.kind === 'out-of-memory')) {
        const c = running;
        const at = c ? ` at batch size ${c.batch} and image size ${c.imageSize}` : '';
        const half = c ? ` (e.g. --batch ${Math.max(2, Math.floor(c.batch / 2))})` : '';
        process.stderr.write(
          `error: out of GPU memory${at}: ${err.message}\nTry a smaller --batch${half} or --image-size. Nothing was written for the failed epoch; ` +
            'finished epochs are in the checkpoint (--resume).\n',
        );
      } else if (err instanceof GpuError && err.kind === 'device-lost') {
        process.stderr.write(`error: ${err.message}\nThe last finished epoch is in the checkpoint: run the same command with --resume.\n`);
      } else {
        process.stderr.write(`error: ${err.stack ?? err.message}\n`);
      }
      process.exit(1);
    },
  );
}
