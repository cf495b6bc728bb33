/** The experiment's report: summary.json's contents and the learning-curve points, from the metric records. */
import type { CurvePoint } from './curves.js';
import type { ExperimentConfig } from './config.js';
import type { ExperimentData, MetricRecord, Phase } from './experiment.js';

export function summarize(records: readonly MetricRecord[], data: ExperimentData, config: ExperimentConfig, extra: Record<string, unknown>): Record<string, unknown> {
  const of = (p: Phase) => records.filter((r) => r.phase === p);
  const last = <T>(a: T[]): T | undefined => a[a.length - 1];
  const sup = of('supervised');
  const ft = of('finetune');
  const by = of('byol');
  const mean = (a: (number | undefined)[]) => {
    const v = a.filter((x): x is number => typeof x === 'number');
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
  };
  return {
    dataset: data.name,
    preset: config.preset,
    settings: config,
    splits: { labeled: data.labeled.length, unlabeledPool: data.pool.length, heldOut: data.heldOut.length, test: data.test.length, classes: data.numClasses },
    supervised: {
      finalTestAccuracy: last(sup)?.testAccuracy ?? null,
      perEpoch: sup.map((r) => ({ epoch: r.epoch, testAccuracy: r.testAccuracy, testLoss: r.testLoss, trainLoss: r.trainLoss })),
    },
    semiSupervised: {
      finalTestAccuracy: last(ft)?.testAccuracy ?? null,
      perEpoch: ft.map((r) => ({ epoch: r.epoch, testAccuracy: r.testAccuracy, testLoss: r.testLoss, trainLoss: r.trainLoss })),
    },
    byol: {
      lossPerEpoch: by.filter((r) => r.epoch > 0).map((r) => r.trainLoss),
      heldOutLossPerEpoch: by.filter((r) => r.epoch > 0).map((r) => r.heldOutLoss),
      testLossPerEpoch: by.filter((r) => r.epoch > 0).map((r) => r.valLoss),
    },
    knn: {
      k: config.knnK,
      before: by.find((r) => r.epoch === 0)?.knnAccuracy ?? null,
      after: last(by.filter((r) => r.epoch > 0))?.knnAccuracy ?? null,
      perEpoch: by.map((r) => ({ epoch: r.epoch, accuracy: r.knnAccuracy })),
    },
    imagesPerSecond: { supervised: mean(sup.map((r) => r.imagesPerSecond)), byol: mean(by.map((r) => r.imagesPerSecond)), finetune: mean(ft.map((r) => r.imagesPerSecond)) },
    trainingSeconds: records.reduce((s, r) => s + (r.seconds ?? 0), 0),
    ...extra,
  };
}

export function curvePoints(records: readonly MetricRecord[]): CurvePoint[] {
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
      if (r.knnAccuracy !== undefined) pts.push({ arm: 'encoder kNN (k=20)', metric: 'kNN accuracy (pretraining)', epoch: r.epoch, value: r.knnAccuracy });
    }
  }
  return pts;
}


/** The two arms under comparison first: they get the palette's most distinct colours (blue, orange). */
export const ARM_ORDER = ['supervised only', 'BYOL + fine-tune'] as const;
