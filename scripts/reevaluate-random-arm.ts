/**
 * Re-evaluates the random arm of finished runs under the evaluation of today's settings, keeping everything
 * else they recorded. The random arm needs no training (src/byol/inspect.ts's evaluateRandomArm: kNN and
 * linear probe of `randomDraws` random encoders keyed by the seed), so a study recorded before the arm became a
 * mean over draws (EVALUATION_VERSION 3) is brought to it in minutes, not the hours of running it again:
 *
 *   node scripts/cli.mjs scripts/reevaluate-random-arm.ts --from STUDY --seeds 0,1,2,3,4 --draws 8 \
 *       --dataset SPEC --out DIR
 *
 * For each seed N it reads STUDY/seed-N/{summary.json,metrics.jsonl}, rebuilds the run's splits from its
 * settings on --dataset, evaluates the random arm as `npm run train:byol` with `--random-draws` --draws would,
 * and writes DIR/seed-N with metrics.jsonl (BYOL's epoch 0 replaced, every other record as recorded),
 * summary.json (recomputed from them; `reevaluated` names the source) and gains.png; the run's other pictures
 * are copied (the random encoder they show is draw 0, unchanged). `npm run train:byol -- --seeds ... --out DIR
 * --resume` with the same settings then reads the seeds back and writes the study's summary.json and pictures.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { init } from '../src/tensor/engine.js';
import { openDataset } from '../src/data/open.js';
import { semiSupervisedSplit } from '../src/data/splits.js';
import { writeFileAtomic } from '../src/nn/checkpoint-node.js';
import { ByolAugment, IDENTITY_VIEW } from '../src/byol/augment.js';
import { presetConfig, type ExperimentConfig } from '../src/byol/config.js';
import { prepareData, type MetricRecord } from '../src/byol/experiment.js';
import { evaluateRandomArm } from '../src/byol/inspect.js';
import { aggregate, gainPoints, runResults, summarize } from '../src/byol/report.js';
import { recordedNoise } from '../src/byol/noise.js';
import { gainsSpec } from '../src/byol/curves.js';
import { renderPng } from '../src/cli/render-png.js';
import { outputFolder, parseCommandLine, type CommandSpec } from '../src/cli/args.js';

const SPEC: CommandSpec = {
  usage: `usage: node scripts/cli.mjs scripts/reevaluate-random-arm.ts --from STUDY --seeds LIST --draws N --dataset SPEC --out DIR

Writes DIR/seed-N: the finished run STUDY/seed-N with its random arm evaluated again as the mean of N draws.
  --from STUDY      a folder of finished runs (seed-N/summary.json and metrics.jsonl)
  --seeds LIST      the seeds, comma-separated
  --draws N         random encoders the arm is the mean of (randomDraws)
  --dataset SPEC    the dataset the runs used, as given to train:byol (its location may differ from theirs)
  --out DIR         the folder to write into (created if missing; must not hold the seeds already)`,
  flags: {
    from: { kind: 'string' },
    seeds: { kind: 'int-list', min: 0 },
    draws: { kind: 'int', min: 1, max: 1000 },
    dataset: { kind: 'string' },
    out: { kind: 'string', check: outputFolder },
  },
};

/** A recorded run's settings, with the keys of settings written before they existed taken from its preset. */
function settingsOf(summary: { settings?: Partial<ExperimentConfig> }, where: string): ExperimentConfig {
  const s = summary.settings;
  if (!s || typeof s !== 'object' || !s.preset) throw new Error(`${where}: holds no settings with a preset; give a folder of finished train:byol runs`);
  const p = presetConfig(s.preset);
  return { ...p, ...s, byol: { ...p.byol, ...s.byol }, finetune: { ...p.finetune, ...s.finetune }, probe: { ...p.probe, ...s.probe } } as ExperimentConfig;
}

async function main(): Promise<number> {
  const parsed = parseCommandLine(process.argv.slice(2), SPEC);
  if (typeof parsed === 'number') return parsed;
  const f = parsed.flags as { from?: string; seeds?: string; draws?: number; dataset?: string; out?: string };
  if (!f.from || !f.seeds || !f.draws || !f.dataset || !f.out) {
    process.stderr.write(`error: --from, --seeds, --draws, --dataset and --out are all needed\n\n${SPEC.usage}\n`);
    return 2;
  }
  const seeds = f.seeds.split(',').map(Number);
  for (const seed of seeds) {
    const src = join(f.from, `seed-${seed}`);
    for (const file of ['summary.json', 'metrics.jsonl']) if (!existsSync(join(src, file))) throw new Error(`${src}/${file} does not exist; give a folder of finished runs with --from`);
    if (existsSync(join(f.out, `seed-${seed}`, 'summary.json'))) throw new Error(`${join(f.out, `seed-${seed}`)} already holds a summary.json; choose another --out`);
  }
  const adapter = (await init()).report.name;
  const opened = await openDataset(f.dataset);
  try {
    for (const seed of seeds) {
      const t0 = Date.now();
      const src = join(f.from, `seed-${seed}`);
      const dst = join(f.out, `seed-${seed}`);
      const before = JSON.parse(readFileSync(join(src, 'summary.json'), 'utf8')) as Record<string, unknown> & { settings?: Partial<ExperimentConfig>; finished?: boolean };
      if (before.finished !== true) throw new Error(`${src} holds an unfinished run; finish it first (train:byol --resume)`);
      const recorded = readFileSync(join(src, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as MetricRecord);
      const config: ExperimentConfig = { ...settingsOf(before, src), seed, dataset: f.dataset, randomDraws: f.draws };
      const split = semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed });
      const data = await prepareData(split, config, opened.name);
      const sizes = JSON.stringify(before.splits);
      const now = JSON.stringify((summarize([], data, config, {}) as { splits: unknown }).splits);
      if (sizes !== now) throw new Error(`${src}: its splits (${sizes}) are not the ones seed ${seed} draws from ${f.dataset} (${now}); give the dataset the runs used`);
      const prep = new ByolAugment({ size: config.imageSize, views: [IDENTITY_VIEW] }, data.stats);
      const arm = await evaluateRandomArm(config, data, prep);
      // Draw 0 is the encoder the run evaluated as its random encoder: its figures must come back as recorded,
      // or the images, splits or evaluation are not the run's.
      const was = recorded.find((r) => r.phase === 'byol' && r.epoch === 0);
      const again = [arm.perDraw.knnAccuracy[0], arm.perDraw.probeAccuracy[0]];
      if (!was || was.knnAccuracy !== again[0] || was.probeAccuracy !== again[1]) {
        throw new Error(
          `${src}: the random encoder of seed ${seed} scores kNN ${again[0]}, probe ${again[1]} here, against the recorded ${was?.knnAccuracy}, ${was?.probeAccuracy}; ` +
            'the dataset or the evaluation is not the one the run used (give its --dataset; a study recorded before EVALUATION_VERSION 2 cannot be re-evaluated)',
        );
      }
      const records = recorded.map((r) =>
        r.phase === 'byol' && r.epoch === 0 ? { phase: 'byol' as const, epoch: 0, knnAccuracy: arm.knn, probeAccuracy: arm.probeAccuracy, probeLoss: arm.probeLoss, randomDraws: arm.perDraw } : r,
      );
      const results = runResults(records);
      const summary = summarize(records, data, config, {
        adapter: before.adapter,
        durationSeconds: before.durationSeconds,
        finished: true,
        differences: aggregate([seed], [results]).differences,
        noise: recordedNoise(config) ?? null,
        reevaluated: { from: src, what: `the random arm, as the mean of ${f.draws} draws (EVALUATION_VERSION 3), on ${adapter}`, seconds: (Date.now() - t0) / 1000 },
      });
      mkdirSync(dst, { recursive: true });
      writeFileAtomic(join(dst, 'metrics.jsonl'), new TextEncoder().encode(records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
      writeFileAtomic(join(dst, 'summary.json'), new TextEncoder().encode(JSON.stringify(summary, null, 2) + '\n'));
      const gains = gainPoints(records);
      if (gains.length) writeFileAtomic(join(dst, 'gains.png'), await renderPng(gainsSpec(gains, `${data.name}: gains of BYOL pretraining against images seen`)));
      for (const pic of ['curves.png', 'neighbours.png', 'embedding.png']) if (existsSync(join(src, pic))) copyFileSync(join(src, pic), join(dst, pic));
      const pct = (v: number) => (100 * v).toFixed(2);
      console.log(
        `seed ${seed}: random arm over ${f.draws} draws: probe ${pct(arm.probeAccuracy)}% (draw 0, as recorded: ${pct(was.probeAccuracy)}), ` +
          `kNN ${pct(arm.knn)}% (draw 0: ${pct(was.knnAccuracy!)}); ${((Date.now() - t0) / 1000).toFixed(1)} s; wrote ${dst}`,
      );
    }
  } finally {
    await opened.close();
  }
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
