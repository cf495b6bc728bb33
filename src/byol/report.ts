/** The experiment's report: summary.json's contents and the learning-curve points, from the metric records. */
import type { CurvePoint, GainPoint } from './curves.js';
import type { ExperimentConfig } from './config.js';
import type { ExperimentData, MetricRecord, Phase } from './experiment.js';
import { formatDifference, formatSpread, pairedDifference, spread, type PairedDifference, type Spread } from './stats.js';
import { recordedGains, recordedNoise, type RecordedNoise } from './noise.js';

/** The figures one run is judged by: each arm's final test accuracy, and the encoder before and after BYOL. */
export interface RunResults {
  supervised: number | null;
  finetuned: number | null;
  probeRandom: number | null;
  probePretrained: number | null;
  knnRandom: number | null;
  knnPretrained: number | null;
}

export const RESULT_NAMES: Record<keyof RunResults, string> = {
  supervised: 'supervised only',
  finetuned: 'BYOL + fine-tune',
  probeRandom: 'linear probe, random encoders',
  probePretrained: 'linear probe, pretrained encoder',
  knnRandom: 'kNN, random encoders',
  knnPretrained: 'kNN, pretrained encoder',
};

/** The paired differences a run reports: [name, minuend, subtrahend]. */
export const DIFFERENCES = [
  ['fine-tuned − supervised', 'finetuned', 'supervised'],
  ['linear probe: pretrained − random', 'probePretrained', 'probeRandom'],
  ['kNN: pretrained − random', 'knnPretrained', 'knnRandom'],
] as const;
export type DifferenceName = (typeof DIFFERENCES)[number][0];

/** The final figures of one run, from its metric records (the last epoch of each arm, never the best). */
export function runResults(records: readonly MetricRecord[]): RunResults {
  const of = (p: Phase) => records.filter((r) => r.phase === p);
  const lastWith = <K extends keyof MetricRecord>(rs: MetricRecord[], k: K) => rs.filter((r) => r[k] !== undefined).at(-1)?.[k] as number | undefined;
  const by = of('byol');
  const random = by.find((r) => r.epoch === 0);
  const trained = by.filter((r) => r.epoch > 0);
  return {
    supervised: lastWith(of('supervised'), 'testAccuracy') ?? null,
    finetuned: lastWith(of('finetune'), 'testAccuracy') ?? null,
    probeRandom: random?.probeAccuracy ?? null,
    probePretrained: lastWith(trained, 'probeAccuracy') ?? null,
    knnRandom: random?.knnAccuracy ?? null,
    knnPretrained: lastWith(trained, 'knnAccuracy') ?? null,
  };
}

export interface Aggregate {
  seeds: number[];
  arms: Partial<Record<keyof RunResults, Spread>>;
  differences: Partial<Record<DifferenceName, PairedDifference>>;
}

/** Every arm's mean ± sd over seeds and the paired differences with their standard errors. */
export function aggregate(seeds: readonly number[], results: readonly RunResults[]): Aggregate {
  const arms: Aggregate['arms'] = {};
  for (const k of Object.keys(RESULT_NAMES) as (keyof RunResults)[]) {
    const v = results.map((r) => r[k]);
    if (v.every((x): x is number => typeof x === 'number')) arms[k] = spread(v);
  }
  const differences: Aggregate['differences'] = {};
  for (const [name, a, b] of DIFFERENCES) {
    const va = results.map((r) => r[a]);
    const vb = results.map((r) => r[b]);
    if (va.every((x): x is number => typeof x === 'number') && vb.every((x): x is number => typeof x === 'number')) differences[name] = pairedDifference(va, vb);
  }
  return { seeds: [...seeds], arms, differences };
}

/**
 * What a user of these settings must read first, when the study recorded for them (src/byol/noise.ts) found a
 * difference to be a loss beyond twice its standard error: that finding, the study it comes from, and the
 * recorded study where pretraining gains on every difference, with the command that runs it. Empty
 * when no loss is recorded for the settings. The run prints it before it starts and at the head of its
 * report, and summary.json holds it first.
 */
export function studyNotice(config: ExperimentConfig, noise: RecordedNoise | undefined = recordedNoise(config), gains: ReturnType<typeof recordedGains> | null = recordedGains()): string[] {
  if (!noise) return [];
  const pts = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}`;
  const named = (r: RecordedNoise, names: readonly DifferenceName[]) => names.map((n) => `${n.replace(': ', ' ')} ${pts(r.result[n]!.mean)} ± ${(100 * r.result[n]!.se).toFixed(2)}`).join(', ');
  const all = DIFFERENCES.map(([n]) => n).filter((n) => noise.result[n]);
  const losses = all.filter((n) => noise.result[n]!.mean < -2 * noise.result[n]!.se);
  if (losses.length === 0) return [];
  const others = all.filter((n) => !losses.includes(n));
  const lines = [
    `Read this first: over ${noise.seeds} seeds of these settings (${noise.source}; ${noise.command}), BYOL's ${noise.images.toLocaleString('en-US')} images of pretraining ` +
      `leave a loss beyond twice its standard error: ${named(noise, losses)} points (mean ± SE)` +
      (others.length ? `; ${named(noise, others)}.` : '.') +
      (losses.every((n) => n !== 'fine-tuned − supervised') ? ' So few images of pretraining leave the frozen encoder worse than random ones.' : ' So few images of pretraining do not pay here.'),
  ];
  if (gains && gains.preset !== config.preset) {
    lines.push(
      `Pretraining on more images pays: --preset ${gains.preset} (${gains.images.toLocaleString('en-US')} images of BYOL a seed) gains on every difference over ${gains.seeds} seeds ` +
        `on ${gains.ranOn} (${gains.source}): ${named(gains, all)} points (mean ± SE). Run it: ${gains.command}`,
    );
  }
  return lines;
}

/**
 * The lines a run ends with: the study's notice ({@link studyNotice}), each arm, then each difference with its
 * noise. Over several seeds the noise is the standard error of the paired difference; a single seed's
 * difference is set against the seed-to-seed spread recorded for its preset (src/byol/noise.ts), or said to be
 * of unknown noise where none is recorded.
 */
export function reportLines(agg: Aggregate, config: ExperimentConfig, noise: RecordedNoise | undefined = recordedNoise(config)): string[] {
  const lines: string[] = [...studyNotice(config, noise)];
  const n = agg.seeds.length;
  lines.push(n > 1 ? `over ${n} seeds (${agg.seeds.join(', ')}), mean ± sd:` : `seed ${agg.seeds[0]}:`);
  for (const [k, name] of Object.entries(RESULT_NAMES) as [keyof RunResults, string][]) {
    const s = agg.arms[k];
    if (s) lines.push(`  ${name.padEnd(34)} ${formatSpread(s)}`);
  }
  lines.push('differences (paired by seed):');
  for (const [name] of DIFFERENCES) {
    const d = agg.differences[name];
    if (!d) continue;
    if (n > 1) {
      lines.push(`  ${name.padEnd(34)} ${formatDifference(d)}`);
      continue;
    }
    const sd = noise?.sd[name];
    const pts = formatDifference(d);
    if (sd === undefined) {
      lines.push(`  ${name.padEnd(34)} ${pts}: one seed, and the noise of these settings is not recorded (run --seeds 0,1,2,3,4 to measure it)`);
    } else {
      const verdict = Math.abs(d.mean) > 2 * sd ? (d.mean > 0 ? 'larger than the noise' : 'a loss larger than the noise') : 'within noise';
      lines.push(`  ${name.padEnd(34)} ${pts}: ${verdict} (one seed; this difference varies by ${(100 * sd).toFixed(2)} points sd between seeds, ${noise!.source})`);
    }
  }
  return lines;
}

export function summarize(records: readonly MetricRecord[], data: ExperimentData, config: ExperimentConfig, extra: Record<string, unknown>): Record<string, unknown> {
  const results = runResults(records);
  const of = (p: Phase) => records.filter((r) => r.phase === p);
  const last = <T>(a: T[]): T | undefined => a[a.length - 1];
  const sup = of('supervised');
  const ft = of('finetune');
  const by = of('byol');
  const mean = (a: (number | undefined)[]) => {
    const v = a.filter((x): x is number => typeof x === 'number');
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
  };
  const notice = studyNotice(config);
  return {
    ...(notice.length ? { notice } : {}),
    dataset: data.name,
    preset: config.preset,
    settings: config,
    splits: { labeled: data.labeled.length, unlabeledPool: data.pool.length, heldOut: data.heldOut.length, test: data.test.length, classes: data.numClasses },
    supervised: {
      finalTestAccuracy: results.supervised,
      perEpoch: sup.filter((r) => r.testAccuracy !== undefined).map((r) => ({ epoch: r.epoch, testAccuracy: r.testAccuracy, testLoss: r.testLoss, trainLoss: r.trainLoss })),
    },
    semiSupervised: {
      finalTestAccuracy: results.finetuned,
      perEpoch: ft.filter((r) => r.testAccuracy !== undefined).map((r) => ({ epoch: r.epoch, testAccuracy: r.testAccuracy, testLoss: r.testLoss, trainLoss: r.trainLoss })),
    },
    byol: {
      lossPerEpoch: by.filter((r) => r.epoch > 0).map((r) => r.trainLoss),
      heldOutLossPerEpoch: by.filter((r) => r.epoch > 0).map((r) => r.heldOutLoss),
      testLossPerEpoch: by.filter((r) => r.epoch > 0).map((r) => r.valLoss),
    },
    knn: {
      k: config.knnK,
      before: by.find((r) => r.epoch === 0)?.knnAccuracy ?? null,
      after: last(by.filter((r) => r.epoch > 0 && r.knnAccuracy !== undefined))?.knnAccuracy ?? null,
      perEpoch: by.map((r) => ({ epoch: r.epoch, accuracy: r.knnAccuracy })),
    },
    linearProbe: {
      before: by.find((r) => r.epoch === 0)?.probeAccuracy ?? null,
      after: last(by.filter((r) => r.epoch > 0 && r.probeAccuracy !== undefined))?.probeAccuracy ?? null,
      perEpoch: by.map((r) => ({ epoch: r.epoch, accuracy: r.probeAccuracy, loss: r.probeLoss })),
    },
    results,
    gainCurve: gainTable(gainPoints(records)),
    imagesPerSecond: { supervised: mean(sup.map((r) => r.imagesPerSecond)), byol: mean(by.map((r) => r.imagesPerSecond)), finetune: mean(ft.map((r) => r.imagesPerSecond)) },
    trainingSeconds: records.reduce((s, r) => s + (r.seconds ?? 0), 0),
    ...extra,
  };
}

export function curvePoints(records: readonly MetricRecord[], seed?: number): CurvePoint[] {
  const pts: CurvePoint[] = [];
  const arm = (p: Phase) => (p === 'supervised' ? 'supervised only' : p === 'finetune' ? 'BYOL + fine-tune' : 'BYOL pretraining');
  for (const r of records) {
    if (r.phase !== 'byol') {
      if (r.testAccuracy !== undefined) pts.push({ arm: arm(r.phase), metric: 'test accuracy', epoch: r.epoch, value: r.testAccuracy });
      if (r.trainLoss !== undefined) pts.push({ arm: arm(r.phase), metric: 'train loss (cross-entropy)', epoch: r.epoch, value: r.trainLoss });
      if (r.testLoss !== undefined) pts.push({ arm: arm(r.phase), metric: 'test loss (cross-entropy)', epoch: r.epoch, value: r.testLoss });
    } else {
      if (r.trainLoss !== undefined) pts.push({ arm: 'BYOL train', metric: 'BYOL loss (pretraining)', epoch: r.epoch, value: r.trainLoss });
      if (r.heldOutLoss !== undefined) pts.push({ arm: 'BYOL held-out', metric: 'BYOL loss (pretraining)', epoch: r.epoch, value: r.heldOutLoss });
      if (r.knnAccuracy !== undefined) pts.push({ arm: 'encoder kNN (k=20)', metric: 'encoder accuracy (pretraining)', epoch: r.epoch, value: r.knnAccuracy });
      if (r.probeAccuracy !== undefined) pts.push({ arm: 'encoder linear probe', metric: 'encoder accuracy (pretraining)', epoch: r.epoch, value: r.probeAccuracy });
    }
  }
  return seed === undefined ? pts : pts.map((p) => ({ ...p, seed }));
}


/** The two arms under comparison first: they get the palette's most distinct colours (blue, orange). */
export const ARM_ORDER = ['supervised only', 'BYOL + fine-tune'] as const;

/** The gains the curve draws against the images BYOL has seen. */
export const GAIN_NAMES: readonly DifferenceName[] = DIFFERENCES.map(([name]) => name);

/**
 * Each gain after each BYOL epoch, in points, against the images pretraining has seen by then: the linear
 * probe's and kNN's over the random encoder's (every epoch), and the fine-tuned arm's over the supervised arm's
 * final accuracy (at the curve's fine-tuning points, finetune.curveEvery, and the fine-tuned arm after the
 * last epoch). Records without an image count (written before it was recorded) give no points.
 */
export function gainPoints(records: readonly MetricRecord[], seed?: number): GainPoint[] {
  const res = runResults(records);
  const by = records.filter((r) => r.phase === 'byol');
  const random = by.find((r) => r.epoch === 0);
  const trained = by.filter((r) => r.epoch > 0 && r.images !== undefined);
  const pts: GainPoint[] = [];
  const add = (gain: GainPoint['gain'], images: number, a: number | null | undefined, b: number | null | undefined) => {
    if (typeof a === 'number' && typeof b === 'number') pts.push({ gain, images, value: 100 * (a - b), ...(seed === undefined ? {} : { seed }) });
  };
  for (const r of trained) {
    add('linear probe: pretrained − random', r.images!, r.probeAccuracy, random?.probeAccuracy);
    add('kNN: pretrained − random', r.images!, r.knnAccuracy, random?.knnAccuracy);
    add('fine-tuned − supervised', r.images!, r.finetuneAccuracy, res.supervised);
  }
  const lastByol = trained.at(-1);
  if (lastByol && lastByol.epoch === Math.max(...by.map((r) => r.epoch)) && res.finetuned !== null) {
    add('fine-tuned − supervised', lastByol.images!, res.finetuned, res.supervised);
  }
  return pts;
}

/** Mean and standard error over seeds of each gain at each image count (SE null for one seed). */
export function gainTable(points: readonly GainPoint[]): { gain: GainPoint['gain']; images: number; seeds: number; mean: number; se: number | null }[] {
  const groups = new Map<string, GainPoint[]>();
  for (const p of points) {
    const k = `${p.gain}@${p.images}`;
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  return [...groups.values()]
    .map((g) => {
      const s = spread(g.map((p) => p.value));
      return { gain: g[0].gain, images: g[0].images, seeds: g.length, mean: s.mean, se: s.sd === null ? null : s.sd / Math.sqrt(g.length) };
    })
    .sort((a, b) => GAIN_NAMES.indexOf(a.gain) - GAIN_NAMES.indexOf(b.gain) || a.images - b.images);
}

/**
 * The gain curve in words, one line per gain: its value at each image count (mean ± SE over seeds) and its
 * direction from the first point to the last, judged as the differences are: the change of each seed's gain,
 * paired by seed, counts as rising or falling only beyond twice its standard error over at least three seeds;
 * a single seed's change is shown as that, not as a direction.
 */
export function gainLines(points: readonly GainPoint[]): string[] {
  const table = gainTable(points);
  const lines: string[] = [];
  const k = (n: number) => (n >= 1000 ? `${+(n / 1000).toFixed(1)}k` : `${n}`);
  const sign = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
  for (const g of GAIN_NAMES) {
    const rows = table.filter((r) => r.gain === g);
    if (!rows.length) continue;
    const at = rows.map((r) => `${sign(r.mean)}${r.se === null ? '' : ` ± ${r.se.toFixed(2)}`} at ${k(r.images)}`).join(', ');
    let direction = '';
    if (rows.length >= 2) {
      const [first, last] = [rows[0].images, rows.at(-1)!.images];
      const of = (images: number) => new Map(points.filter((p) => p.gain === g && p.images === images).map((p) => [p.seed, p.value]));
      const [a, b] = [of(first), of(last)];
      const seeds = [...b.keys()].filter((s) => a.has(s));
      const change = pairedDifference(seeds.map((s) => b.get(s)!), seeds.map((s) => a.get(s)!));
      const span = `${sign(change.mean)} points from ${k(first)} to ${k(last)} images`;
      direction =
        seeds.length < 2
          ? `: ${span} (one seed: not a direction; run --seeds to judge it)`
          : `: ${change.verdict === 'gain' ? 'rising' : change.verdict === 'loss' ? 'falling' : 'no direction beyond its noise'} (${span}, SE ${change.se!.toFixed(2)} over ${seeds.length} seeds)`;
    }
    lines.push(`  ${g.padEnd(34)} ${at}${direction}`);
  }
  return lines.length ? ['gain curve (points against images seen by BYOL):', ...lines] : [];
}
