/**
 * walkBatches, the one walk every evaluation makes: every image once, in stored order, in batches of the given
 * size with the remainder last; with `pairs`, a last batch of one image is passed over and not counted; what
 * the forward returns reaches `after` before the next batch.
 */
import { expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { InMemoryImageDataset } from '../../src/data/dataset.js';
import { walkBatches } from '../../src/byol/evaluation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

function dataset(n: number): { data: InMemoryImageDataset; pixels: Uint8Array } {
  const [c, h, w] = [3, 3, 5]; // 45 bytes an image: batches end inside a packed word
  const pixels = Uint8Array.from({ length: n * c * h * w }, () => Math.floor(256 * rand()));
  const data = new InMemoryImageDataset({ name: 'random', height: h, width: w, channels: c, classNames: ['a', 'b', 'c'] }, pixels, Int32Array.from({ length: n }, (_, i) => i % 3));
  return { data, pixels };
}

/** The bytes of a walked batch's packed pixels, and its labels, as they are on the GPU. */
async function readBack(pixels: Tensor, labels: Tensor, bytes: number): Promise<{ bytes: Uint8Array; labels: number[] }> {
  const words = (await pixels.data()) as Uint32Array;
  return { bytes: new Uint8Array(words.buffer, words.byteOffset, bytes).slice(), labels: Array.from((await labels.data()) as Int32Array) };
}

it('walks every image once in stored order, the remainder batch last, each batch handed on before the next', async () => {
  await engine();
  const { data, pixels } = dataset(23);
  const perImage = 45;
  const seen: { index: number; count: number; n: number; bytes: Uint8Array; labels: number[] }[] = [];
  const events: string[] = [];
  await walkBatches(
    data,
    8,
    (b) => {
      events.push(`forward ${b.index}`);
      expect(b.shape).toEqual({ n: b.gpu.count, c: 3, h: 3, w: 5 });
      return { index: b.index, n: b.shape.n, pixels: b.gpu.pixels, labels: b.gpu.labels };
    },
    async (out, count) => {
      events.push(`after ${out.index}`);
      seen.push({ index: out.index, count, n: out.n, ...(await readBack(out.pixels, out.labels, count * perImage)) });
      out.pixels.dispose();
      out.labels.dispose();
    },
  );
  expect(events).toEqual(['forward 0', 'after 0', 'forward 1', 'after 1', 'forward 2', 'after 2']);
  expect(seen.map((s) => [s.index, s.count, s.n])).toEqual([
    [0, 8, 8],
    [1, 8, 8],
    [2, 7, 7],
  ]);
  let at = 0;
  for (const s of seen) {
    expect(s.bytes, seedNote).toEqual(pixels.subarray(at * perImage, (at + s.count) * perImage));
    expect(s.labels).toEqual(Array.from({ length: s.count }, (_, i) => (at + i) % 3));
    at += s.count;
  }
  expect(at).toBe(23);
});

it('with pairs, passes over a last batch of a single image, which does not count', async () => {
  await engine();
  const { data } = dataset(17);
  const walked: [number, number][] = [];
  await walkBatches(
    data,
    8,
    (b) => b.index,
    async (index, count) => void walked.push([index, count]),
    { pairs: true },
  );
  expect(walked).toEqual([
    [0, 8],
    [1, 8],
  ]);
  // Without pairs the single image is a batch of its own.
  const all: number[] = [];
  await walkBatches(data, 8, (b) => b.shape.n, async (n) => void all.push(n));
  expect(all).toEqual([8, 8, 1]);
});
