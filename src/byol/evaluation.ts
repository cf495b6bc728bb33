/**
 * How the experiment evaluates its networks, all through one walk over a dataset ({@link walkBatches}): a
 * classifier's test accuracy and cross-entropy, an encoder's features, batch-norm statistics re-estimated from
 * the current weights, an encoder's kNN accuracy and linear probe, and BYOL's loss on images it does not train
 * on. Every evaluation sees the images unaugmented (normalized as in training), except BYOL's loss, which
 * compares two views drawn from a fixed key.
 */
import { noGrad } from '../autograd/tape.js';
import { accuracy, crossEntropy } from '../autograd/nn.js';
import { concatKernel } from '../kernels/copy.js';
import { getRuntime, scope, keep } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { ResNet } from '../nn/resnet.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/layers.js';
import type { ImageDataset } from '../data/dataset.js';
import { BatchLoader } from '../data/loader.js';
import { uploadBatch, type GpuBatch } from '../data/gpu-batch.js';
import { identityParams, type ByolAugment, type ImageShape } from './augment.js';
import type { ExperimentConfig } from './config.js';
import { knnAccuracy } from './knn.js';
import type { Byol } from './model.js';
import { linearProbe, type ProbeResult } from './probe.js';

/** One batch of a {@link walkBatches} walk, uploaded. */
export interface WalkedBatch {
  /** The batch on the GPU: packed pixels and labels. */
  readonly gpu: GpuBatch;
  /** The shape of its images, n their count. */
  readonly shape: ImageShape;
  /** Its place among the batches walked (0-based; a batch passed over does not count). */
  readonly index: number;
}

/**
 * The walk every evaluation makes over a dataset: its images in stored order, in batches of `batch` (the last
 * one holds the remainder), each uploaded and handed to `forward` inside a scope without gradients. What
 * `forward` returns outlives the scope and goes to `after`, with the batch's image count, before the next batch
 * is uploaded. With `pairs`, a batch of a single image is passed over (batch statistics need two).
 */
export async function walkBatches<T>(
  data: ImageDataset,
  batch: number,
  forward: (b: WalkedBatch) => T,
  after: (out: T, count: number) => Promise<void>,
  options: { pairs?: boolean } = {},
): Promise<void> {
  const loader = new BatchLoader(data, { batchSize: batch, seed: 0, shuffle: false, dropLast: false });
  let index = 0;
  for await (const b of loader.epoch(0)) {
    if (options.pairs && b.indices.length < 2) continue;
    const at = index++;
    const out = scope(() =>
      noGrad(() => {
        const gpu = uploadBatch(b);
        return forward({ gpu, shape: { n: gpu.count, c: data.channels, h: data.height, w: data.width }, index: at });
      }),
    );
    await after(out, b.indices.length);
  }
}

/** A walked batch as every evaluation but BYOL's loss sees it: unaugmented, normalized as in training. */
function unaugmented(prep: ByolAugment, b: WalkedBatch): Tensor {
  const [x] = prep.apply(b.gpu.pixels, b.shape, [Array.from({ length: b.shape.n }, () => identityParams(b.shape.h, b.shape.w))]);
  return x;
}

/** A classifier's test accuracy and mean cross-entropy. */
export interface ClassifierEvaluation {
  accuracy: number;
  loss: number;
}

/** Accuracy and mean cross-entropy of a classifier over a dataset (eval mode, the whole image). */
export async function evaluateClassifier(model: Module, data: ImageDataset, prep: ByolAugment, batch: number): Promise<ClassifierEvaluation> {
  model.eval();
  let correct = 0;
  let lossSum = 0;
  await walkBatches(
    data,
    batch,
    (b) => {
      const logits = model.forward(unaugmented(prep, b));
      return [accuracy(logits, b.gpu.labels), crossEntropy(logits, b.gpu.labels)];
    },
    async ([acc, loss], n) => {
      correct += (await acc.item()) * n;
      lossSum += (await loss.item()) * n;
      acc.dispose();
      loss.dispose();
    },
  );
  return { accuracy: correct / data.length, loss: lossSum / data.length };
}

/** Encoder features [N, D] of a dataset (ResNet up to the global pool, whatever its fc), in eval mode. */
export async function features(encoder: ResNet, data: ImageDataset, prep: ByolAugment, batch: number): Promise<Tensor> {
  encoder.eval();
  const parts: Tensor[] = [];
  await walkBatches(
    data,
    batch,
    (b) => encoder.features(unaugmented(prep, b)),
    async (f) => {
      parts.push(keep(f));
      await getRuntime().sync();
    },
  );
  const all = concatKernel(parts, 0);
  for (const p of parts) p.dispose();
  return keep(all);
}

/**
 * Re-estimates every batch-norm layer's running statistics from the network's current weights ("precise
 * batch norm"): the labeled images, unaugmented, forwarded in train mode with each batch weighted 1/(k + 1),
 * so the running statistics become the average of the batches' own. Run before each evaluation of a
 * classifier: after a few steps of a fast-moving network the momentum-0.1 averages still describe the
 * weights of several steps ago, and an evaluation with them can report losses in the hundreds.
 */
export async function recomputeBatchNorm(model: Module, data: ImageDataset, prep: ByolAugment, batch: number): Promise<void> {
  const norms = [...model.namedModules()].map(([, m]) => m).filter((m): m is BatchNorm2d | BatchNorm1d => m instanceof BatchNorm2d || m instanceof BatchNorm1d);
  if (!norms.length) return;
  const saved = norms.map((m) => m.momentum);
  const wasTraining = model.training;
  model.train(true);
  try {
    await walkBatches(
      data,
      batch,
      (b) => {
        for (const m of norms) m.momentum = 1 / (b.index + 1);
        model.forward(unaugmented(prep, b));
      },
      () => getRuntime().sync(),
      { pairs: true },
    );
  } finally {
    norms.forEach((m, i) => (m.momentum = saved[i]));
    model.train(wasTraining);
  }
}

/**
 * Runs `fn` on a copy of `encoder` whose batch-norm statistics are re-estimated on `labeled` (unaugmented), as
 * every evaluation of an encoder sees it: the encoder is judged by its weights, with the statistics of the
 * images it is evaluated on, whatever statistics it carries. A random encoder carries its initial ones (mean
 * 0, variance 1: no normalization at all in eval mode) and a BYOL encoder those of its augmented views; with
 * either, a comparison of the two would be one of normalizations. The encoder itself is left untouched.
 */
export async function withLabeledBatchNorm<T>(encoder: ResNet, labeled: ImageDataset, prep: ByolAugment, batch: number, fn: (e: ResNet) => Promise<T>): Promise<T> {
  const copy = encoder.deepCopy();
  try {
    await recomputeBatchNorm(copy, labeled, prep, batch);
    return await fn(copy);
  } finally {
    copy.dispose();
  }
}

/**
 * kNN accuracy (unless `knn` is false: NaN) and the linear probe of an encoder (eval mode, unaugmented images),
 * its batch-norm statistics re-estimated on the labeled images first ({@link withLabeledBatchNorm}) unless
 * `batchNorm` is 'as-is' (the caller has just done so).
 */
export async function evaluateEncoder(
  encoder: ResNet,
  data: { labeled: ImageDataset; test: ImageDataset; numClasses: number },
  prep: ByolAugment,
  config: Pick<ExperimentConfig, 'batch' | 'knnK' | 'probe'>,
  options: { knn?: boolean; batchNorm?: 'labeled' | 'as-is' } = {},
): Promise<{ knn: number; probe: ProbeResult }> {
  if (options.batchNorm !== 'as-is') {
    return withLabeledBatchNorm(encoder, data.labeled, prep, config.batch, (e) => evaluateEncoder(e, data, prep, config, { ...options, batchNorm: 'as-is' }));
  }
  const knn = options.knn ?? true;
  const trainLabels = await labelsOf(data.labeled);
  const testLabels = await labelsOf(data.test);
  const tr = await features(encoder, data.labeled, prep, config.batch);
  const te = await features(encoder, data.test, prep, config.batch);
  try {
    const knnAcc = knn ? await knnAccuracy(tr, trainLabels, te, testLabels, data.numClasses, { k: config.knnK }) : NaN;
    const [trF, teF] = [(await tr.data()) as Float32Array, (await te.data()) as Float32Array];
    const probe = linearProbe(trF, trainLabels, teF, testLabels, data.numClasses, tr.shape[1], config.probe);
    return { knn: knnAcc, probe };
  } finally {
    tr.dispose();
    te.dispose();
  }
}

async function labelsOf(ds: ImageDataset): Promise<Int32Array> {
  if (!ds.labels) throw new Error(`${ds.name}: labels are needed here`);
  return Int32Array.from(ds.labels);
}

/**
 * The symmetric BYOL loss over a dataset, networks in eval mode (left in train mode after), the views of its
 * k-th batch drawn with `key` at step k, so every evaluation of it draws the same views.
 */
export async function byolEvalLoss(byol: Byol, data: ImageDataset, views: ByolAugment, batch: number, key: number): Promise<number> {
  byol.train(false);
  let sum = 0;
  let n = 0;
  await walkBatches(
    data,
    batch,
    (b) => {
      const [v1, v2] = views.views(b.gpu.pixels, b.shape, b.index, key);
      return byol.loss(v1, v2);
    },
    async (l, count) => {
      sum += (await l.item()) * count;
      n += count;
      l.dispose();
    },
    { pairs: true },
  );
  byol.train(true);
  return n ? sum / n : NaN;
}
