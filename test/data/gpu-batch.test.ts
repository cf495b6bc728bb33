import { expect, it } from 'vitest';
import { engine, rand } from '../helpers.js';
import { InMemoryImageDataset } from '../../src/data/dataset.js';
import { BatchLoader } from '../../src/data/loader.js';
import { uploadBatch } from '../../src/data/gpu-batch.js';

it('uploads a loader batch packed and reads back the same pixels and labels', async () => {
  await engine();
  const n = 13;
  const [c, h, w] = [1, 5, 7]; // 35 bytes per image: batches do not end on a word boundary
  const pixels = Uint8Array.from({ length: n * c * h * w }, () => Math.floor(rand() * 256));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const ds = new InMemoryImageDataset({ name: 'toy', height: h, width: w, channels: c, classNames: ['a', 'b', 'c'] }, pixels, labels);
  const loader = new BatchLoader(ds, { batchSize: 5, seed: 3 });
  for await (const batch of loader.epoch(0)) {
    const gpu = uploadBatch(batch);
    expect(gpu.count).toBe(batch.indices.length);
    const words = (await gpu.pixels.data()) as Uint32Array;
    const bytes = new Uint8Array(words.buffer, 0, batch.images.length);
    const expected = new Uint8Array(batch.images.length);
    batch.indices.forEach((idx, k) => expected.set(pixels.subarray(idx * 35, idx * 35 + 35), k * 35));
    expect(Array.from(bytes)).toEqual(Array.from(expected));
    expect(Array.from(await gpu.labels.data())).toEqual(Array.from(batch.indices, (i) => i % 3));
    gpu.pixels.dispose();
    gpu.labels.dispose();
  }
});
