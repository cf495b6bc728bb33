import { describe, expect, it } from 'vitest';
import { type DatasetSplits, type ImageDataset, InMemoryImageDataset } from '../../src/data/dataset.js';
import { DatasetError } from '../../src/data/errors.js';
import { BatchLoader } from '../../src/data/loader.js';
import { Rng, deriveSeed } from '../../src/data/prng.js';
import { semiSupervisedSplit, stratifiedSample } from '../../src/data/splits.js';
import { noise } from './fixtures.js';

/** n images of 1×3×3 (9 bytes, so batches need word padding) with labels i mod classes. */
function dataset(n: number, classes = 4, name = 'toy'): InMemoryImageDataset {
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const info = { name, height: 3, width: 3, channels: 1, classNames: Array.from({ length: classes }, (_, i) => `c${i}`) };
  return new InMemoryImageDataset(info, noise(n * 9, n), labels);
}

async function collect(loader: BatchLoader, epoch: number, start = 0) {
  const batches = [];
  for await (const batch of loader.epoch(epoch, start)) batches.push(batch);
  return batches;
}

describe('Rng', () => {
  it('is reproducible and seed-dependent', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(1, 3));
    expect(deriveSeed(1, 2)).toBe(deriveSeed(1, 2));
  });

  it('draws integers uniformly', () => {
    const rng = new Rng(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.nextInt(6)]++;
    for (const count of counts) expect(Math.abs(count - 10000)).toBeLessThan(400);
    for (let i = 0; i < 1000; i++) expect(rng.nextFloat()).toBeLessThan(1);
  });
});

describe('semi-supervised splits', () => {
  const train = dataset(103, 4);
  const test = dataset(20, 4, 'test');
  const splits: DatasetSplits = { name: 'toy', train, test, unlabeled: null };

  it('are stratified: exactly N per class, sorted, distinct', () => {
    const picked = stratifiedSample(train.labels!, 4, 5, 1);
    expect(picked.length).toBe(20);
    const perClass = [0, 0, 0, 0];
    for (const i of picked) perClass[train.labels![i]!]++;
    expect(perClass).toEqual([5, 5, 5, 5]);
    expect(Array.from(picked)).toEqual([...new Set(picked)].sort((a, b) => a - b));
  });

  it('are reproducible per seed and differ between seeds', () => {
    const a = semiSupervisedSplit(splits, { labeledPerClass: 5, seed: 11 });
    const b = semiSupervisedSplit(splits, { labeledPerClass: 5, seed: 11 });
    const c = semiSupervisedSplit(splits, { labeledPerClass: 5, seed: 12 });
    expect(a.labeledIndices).toEqual(b.labeledIndices);
    expect(a.labeledIndices).not.toEqual(c.labeledIndices);
  });

  it('withhold labels from the rest of the training split', async () => {
    const split = semiSupervisedSplit(splits, { labeledPerClass: 5, seed: 3 });
    expect(split.unlabeled.length).toBe(103 - 20);
    expect(split.unlabeled.labels).toBeNull();
    const all = new Set([...split.labeledIndices, ...split.unlabeledTrainIndices]);
    expect(all.size).toBe(103);
    expect(Array.from(split.labeled.labels!)).toEqual(Array.from(split.labeledIndices, (i) => train.labels![i]!));
    expect(await split.labeled.readImages([0])).toEqual(await train.readImages([split.labeledIndices[0]!]));
    expect(split.test).toBe(test);
  });

  it('use a separate unlabeled split, optionally with the training images', () => {
    const unlabeledSplit = new InMemoryImageDataset({ name: 'u', height: 3, width: 3, channels: 1, classNames: train.classNames }, noise(50 * 9, 1), null);
    const withSplit: DatasetSplits = { name: 'stl-like', train, test, unlabeled: unlabeledSplit };
    expect(semiSupervisedSplit(withSplit, { labeledPerClass: 2, seed: 0 }).unlabeled.length).toBe(50);
    const both = semiSupervisedSplit(withSplit, { labeledPerClass: 2, seed: 0, includeTrainInUnlabeled: true });
    expect(both.unlabeled.length).toBe(153);
    expect(both.unlabeled.labels).toBeNull();
  });

  it('reject more labeled images per class than a class has', () => {
    expect(() => stratifiedSample(train.labels!, 4, 30, 0)).toThrow(DatasetError);
  });
});

describe('BatchLoader', () => {
  const ds = dataset(103);

  it('visits every index exactly once per epoch', async () => {
    const loader = new BatchLoader(ds, { batchSize: 10, seed: 5 });
    expect(loader.batchesPerEpoch).toBe(11);
    const batches = await collect(loader, 0);
    expect(batches.map((b) => b.indices.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    const seen = batches.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 103 }, (_, i) => i));
  });

  it('drop-last drops only the remainder', async () => {
    const loader = new BatchLoader(ds, { batchSize: 10, seed: 5, dropLast: true });
    const batches = await collect(loader, 2);
    expect(batches.length).toBe(10);
    const seen = new Set(batches.flatMap((b) => Array.from(b.indices)));
    expect(seen.size).toBe(100);
    const order = loader.epochOrder(2);
    expect(batches.flatMap((b) => Array.from(b.indices))).toEqual(Array.from(order.subarray(0, 100)));
  });

  it('shuffles differently per epoch and reproducibly per seed', () => {
    const a = new BatchLoader(ds, { batchSize: 10, seed: 1 });
    const b = new BatchLoader(ds, { batchSize: 10, seed: 1 });
    expect(a.epochOrder(0)).not.toEqual(a.epochOrder(1));
    expect(a.epochOrder(3)).toEqual(b.epochOrder(3));
    expect(new BatchLoader(ds, { batchSize: 10, seed: 2 }).epochOrder(0)).not.toEqual(a.epochOrder(0));
    expect(Array.from(new BatchLoader(ds, { batchSize: 10, shuffle: false }).epochOrder(4))).toEqual(Array.from({ length: 103 }, (_, i) => i));
  });

  it('delivers the dataset pixels and labels at the batch indices, packed for upload', async () => {
    for (const batch of await collect(new BatchLoader(ds, { batchSize: 7, seed: 9 }), 1)) {
      expect(batch.images).toEqual(await ds.readImages(batch.indices));
      expect(Array.from(batch.labels)).toEqual(Array.from(batch.indices, (i) => ds.labels![i]!));
      expect(batch.words.length).toBe(Math.ceil(batch.images.length / 4));
      expect(batch.words.buffer).toBe(batch.images.buffer);
      const view = new Uint8Array(batch.words.buffer, 0, batch.words.length * 4);
      expect(view.subarray(batch.images.length).every((b) => b === 0)).toBe(true);
      // Little-endian packing: pixel 0 is the low byte of word 0.
      expect(batch.words[0]! & 0xff).toBe(batch.images[0]);
    }
  });

  it('resumes at a given epoch and batch with the same batches', async () => {
    const loader = new BatchLoader(ds, { batchSize: 10, seed: 5 });
    const full = await collect(loader, 3);
    const resumed = await collect(new BatchLoader(ds, { batchSize: 10, seed: 5 }), 3, 4);
    expect(resumed.map((b) => b.batch)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(resumed.map((b) => Array.from(b.indices))).toEqual(full.slice(4).map((b) => Array.from(b.indices)));
    expect(await collect(loader, 3, 11)).toEqual([]);
    await expect(collect(loader, 3, 12)).rejects.toThrow(RangeError);
  });

  it('starts reading the next batch before the consumer asks for it', async () => {
    const requested: number[][] = [];
    const spy: ImageDataset = {
      ...ds,
      name: ds.name,
      labels: ds.labels,
      readImages: (indices, out) => {
        requested.push(Array.from(indices));
        return ds.readImages(indices, out);
      },
    };
    const iterator = new BatchLoader(spy, { batchSize: 10, seed: 0 }).epoch(0);
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(requested.length).toBe(2);
    await iterator.return(undefined);
  });

  it('reports a read failure without unhandled rejections when the consumer stops early', async () => {
    let calls = 0;
    const failing: ImageDataset = {
      ...ds,
      name: ds.name,
      labels: ds.labels,
      readImages: async (indices, out) => {
        if (++calls > 1) throw new DatasetError('disk on fire', { file: 'x' });
        return ds.readImages(indices, out);
      },
    };
    const loader = new BatchLoader(failing, { batchSize: 10, seed: 0 });
    for await (const batch of loader.epoch(0)) {
      expect(batch.batch).toBe(0);
      break;
    }
    calls = 0;
    await expect(collect(loader, 0)).rejects.toThrow('disk on fire');
  });
});
