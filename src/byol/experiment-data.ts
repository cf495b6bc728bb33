/**
 * The experiment's data: the splits a config sizes out of a dataset's labeled, unlabeled and test images (every
 * pick keyed by the seed), and the normalization statistics of the pretraining pool.
 */
import type { ImageDataset } from '../data/dataset.js';
import { Subset } from '../data/dataset.js';
import { Rng, deriveSeed } from '../data/prng.js';
import { channelStats, type NormalizeStats } from './augment.js';
import type { ExperimentConfig } from './config.js';
import { ExperimentError } from './experiment-state.js';

/** The data of one experiment: the splits, as the config sizes them. */
export interface ExperimentData {
  name: string;
  labeled: ImageDataset;
  pool: ImageDataset;
  heldOut: ImageDataset;
  test: ImageDataset;
  numClasses: number;
  classNames: readonly string[];
  stats: NormalizeStats;
}

/**
 * Indices `skip` to `skip + count` of a permutation of 0..n−1 drawn with `seed`, sorted (all of them for count 0
 * or ≥ n).
 */
export function seededPick(n: number, count: number, seed: number, skip = 0): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const end = count <= 0 ? n : Math.min(n, skip + count);
  return order.slice(Math.min(skip, n), end).sort();
}

/**
 * Sizes the splits as the config says: the labeled subset, the pretraining pool and a held-out part of
 * the pool (disjoint), and the test images; computes the normalization statistics from the pool.
 */
export async function prepareData(
  split: { labeled: ImageDataset; unlabeled: ImageDataset; test: ImageDataset | null },
  config: ExperimentConfig,
  name: string,
): Promise<ExperimentData> {
  const { labeled, unlabeled } = split;
  const test = split.test;
  if (!test) throw new ExperimentError(`${name}: the dataset has no test split; the experiment evaluates on one`);
  const heldOutIdx = seededPick(unlabeled.length, config.heldOutImages, deriveSeed(config.seed, 101));
  const held = new Set(heldOutIdx);
  const rest = Int32Array.from({ length: unlabeled.length }, (_, i) => i).filter((i) => !held.has(i));
  const restPick = seededPick(rest.length, config.unlabeledImages, deriveSeed(config.seed, 102));
  const poolIdx = Int32Array.from(restPick, (i) => rest[i]);
  if (poolIdx.length < config.batch) {
    throw new ExperimentError(`${name}: the pretraining pool has ${poolIdx.length} images, fewer than one batch of ${config.batch}`);
  }
  if (test.length === 0) {
    throw new ExperimentError(`${name}: the test split (${test.name}) holds no images; the experiment evaluates on it: add test images, or use a dataset that has them`);
  }
  const testIdx = seededPick(test.length, config.testImages, deriveSeed(config.seed, 103));
  const pool = new Subset(unlabeled, poolIdx, { name: `${unlabeled.name}[pool ${poolIdx.length}]` });
  const sample = await pool.readImages(poolIdx.length > 2000 ? Int32Array.from({ length: 2000 }, (_, i) => i) : Int32Array.from({ length: poolIdx.length }, (_, i) => i));
  return {
    name,
    labeled,
    pool,
    heldOut: new Subset(unlabeled, heldOutIdx, { name: `${unlabeled.name}[held out ${heldOutIdx.length}]` }),
    test: new Subset(test, testIdx, { name: `${test.name}[${testIdx.length}]` }),
    numClasses: labeled.numClasses,
    classNames: labeled.classNames,
    stats: channelStats(sample, { c: pool.channels, h: pool.height, w: pool.width }),
  };
}

/** The test images the BYOL loss is reported on: the first 512 (the loss is a monitor; accuracy uses them all). */
export function byolLossImages(test: ImageDataset): ImageDataset {
  return test.length <= 512 ? test : new Subset(test, Int32Array.from({ length: 512 }, (_, i) => i), { name: `${test.name}[BYOL loss 512]` });
}
