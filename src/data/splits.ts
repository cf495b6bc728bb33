/**
 * Semi-supervised splits: a small labeled subset (N images per class, stratified and seeded), an
 * unlabeled pool and the test split. Browser-safe.
 */
import { ConcatDataset, type DatasetSplits, type ImageDataset, Subset } from './dataset.js';
import { DatasetError } from './errors.js';
import { Rng, deriveSeed } from './prng.js';

/**
 * Picks `perClass` indices of every class 0..numClasses−1 uniformly at random (seeded), returned sorted.
 * Unlabeled entries (−1) are never picked. Throws `DatasetError` if a class has fewer than `perClass` images.
 */
export function stratifiedSample(labels: Int32Array, numClasses: number, perClass: number, seed: number, name = 'dataset'): Int32Array {
  if (!Number.isInteger(perClass) || perClass < 0) throw new RangeError(`images per class must be a non-negative integer, got ${perClass}`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((label, i) => {
    if (label >= 0 && label < numClasses) byClass[label]!.push(i);
  });
  const picked: number[] = [];
  byClass.forEach((members, c) => {
    if (members.length < perClass) {
      throw new DatasetError(`class ${c} has ${members.length} labeled images, fewer than the ${perClass} per class requested`, { file: name });
    }
    // Each class draws from its own stream, so a class's pick does not depend on the other classes' sizes.
    const rng = new Rng(deriveSeed(seed, c));
    const chosen = Int32Array.from(members);
    for (let i = 0; i < perClass; i++) {
      const j = i + rng.nextInt(chosen.length - i);
      const tmp = chosen[i]!;
      chosen[i] = chosen[j]!;
      chosen[j] = tmp;
    }
    for (let i = 0; i < perClass; i++) picked.push(chosen[i]!);
  });
  return Int32Array.from(picked).sort();
}

/** A semi-supervised split of a dataset. */
export interface SemiSupervisedSplit {
  /** The labeled subset of the training split. */
  readonly labeled: Subset;
  /** Its indices into the training split, sorted. */
  readonly labeledIndices: Int32Array;
  /** The unlabeled pool; carries no labels (`labels === null`). */
  readonly unlabeled: ImageDataset;
  /** Indices into the training split of the training images in the pool (labels withheld), sorted. */
  readonly unlabeledTrainIndices: Int32Array;
  /** The test split, where the dataset has one. */
  readonly test: ImageDataset | null;
}

/** Options of {@link semiSupervisedSplit}. */
export interface SplitOptions {
  /** Labeled images per class. */
  labeledPerClass: number;
  /** Seed of the stratified draw. */
  seed: number;
  /**
   * Only for datasets with a separate unlabeled split (STL-10): also put all training images, labels
   * withheld, into the pool. Default false.
   */
  includeTrainInUnlabeled?: boolean;
}

/**
 * Splits `data` for semi-supervised learning. The pool is the dataset's own unlabeled split where it has
 * one (optionally plus the training images), otherwise the training images not in the labeled subset.
 */
export function semiSupervisedSplit(data: DatasetSplits, options: SplitOptions): SemiSupervisedSplit {
  const { train } = data;
  if (train.labels === null) throw new DatasetError('training split has no labels to split', { file: train.name });
  const labeledIndices = stratifiedSample(train.labels, train.numClasses, options.labeledPerClass, options.seed, train.name);
  const labeled = new Subset(train, labeledIndices, { name: `${train.name}[${options.labeledPerClass}/class, seed ${options.seed}]` });

  let unlabeled: ImageDataset;
  let unlabeledTrainIndices: Int32Array;
  if (data.unlabeled !== null) {
    if (options.includeTrainInUnlabeled) {
      unlabeledTrainIndices = Int32Array.from({ length: train.length }, (_, i) => i);
      const trainPart = new Subset(train, unlabeledTrainIndices, { name: `${train.name}[no labels]`, withholdLabels: true });
      unlabeled = new ConcatDataset([data.unlabeled, trainPart]);
    } else {
      unlabeledTrainIndices = new Int32Array(0);
      unlabeled = data.unlabeled;
    }
  } else {
    const isLabeled = new Uint8Array(train.length);
    for (const i of labeledIndices) isLabeled[i] = 1;
    unlabeledTrainIndices = Int32Array.from({ length: train.length }, (_, i) => i).filter((i) => isLabeled[i] === 0);
    unlabeled = new Subset(train, unlabeledTrainIndices, { name: `${train.name}[rest, no labels]`, withholdLabels: true });
  }
  return { labeled, labeledIndices, unlabeled, unlabeledTrainIndices, test: data.test };
}
