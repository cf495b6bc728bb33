// Random and mutated inputs for every parser, the decompression bombs' shapes among them: each must either
// succeed or throw a DatasetError (a SafetensorsError for safetensors).
import { describe, expect, it } from 'vitest';
import { MemoryByteSource } from '../../src/data/byte-source.js';
import { Cifar10BinaryDataset } from '../../src/data/cifar10.js';
import { DatasetError } from '../../src/data/errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxDataset } from '../../src/data/idx.js';
import { decodeImage } from '../../src/data/image-codecs.js';
import { Rng } from '../../src/data/prng.js';
import { STL10_IMAGE_BYTES, StlBinaryDataset, parseStlFolds } from '../../src/data/stl10.js';
import { TarReader } from '../../src/data/tar.js';
import { SafetensorsError, decodeSafetensors, encodeSafetensors } from '../../src/nn/safetensors.js';
import { cifarFile, gzip, idxFile, jpegFile, noise, pngFile, smallBombs, tarFile } from './fixtures.js';

/** A random byte string, or a mutation of one of the valid `seeds` (byte flips, truncation, splices). */
function sample(rng: Rng, seeds: Uint8Array[]): Uint8Array {
  const kind = rng.nextInt(5);
  if (kind === 0 || seeds.length === 0) {
    const out = new Uint8Array(rng.nextInt(2000));
    for (let i = 0; i < out.length; i++) out[i] = rng.nextInt(256);
    return out;
  }
  let bytes = seeds[rng.nextInt(seeds.length)]!.slice();
  if (kind === 1) return bytes.subarray(0, rng.nextInt(bytes.length + 1));
  if (kind === 2) {
    const at = rng.nextInt(bytes.length + 1);
    const extra = new Uint8Array(1 + rng.nextInt(64));
    for (let i = 0; i < extra.length; i++) extra[i] = rng.nextInt(256);
    const out = new Uint8Array(bytes.length + extra.length);
    out.set(bytes.subarray(0, at));
    out.set(extra, at);
    out.set(bytes.subarray(at), at + extra.length);
    return out;
  }
  // Flip a few bytes, biased towards headers where most of the parsing happens.
  const flips = 1 + rng.nextInt(8);
  for (let f = 0; f < flips && bytes.length > 0; f++) {
    const at = rng.nextInt(2) === 0 ? rng.nextInt(Math.min(64, bytes.length)) : rng.nextInt(bytes.length);
    bytes[at] = kind === 3 ? rng.nextInt(256) : bytes[at]! ^ (1 << rng.nextInt(8));
  }
  if (kind === 4 && rng.nextInt(2) === 0) bytes = bytes.subarray(0, bytes.length - rng.nextInt(Math.min(bytes.length, 16) + 1));
  return bytes;
}

/** Runs `parse` on `count` samples; any exception other than `expected` (DatasetError) fails the test. */
async function fuzz(
  seed: number,
  count: number,
  seeds: Uint8Array[],
  parse: (bytes: Uint8Array) => Promise<unknown> | unknown,
  expected: new (...args: never[]) => Error = DatasetError,
): Promise<void> {
  const rng = new Rng(seed);
  let failures = 0;
  for (let i = 0; i < count; i++) {
    const bytes = sample(rng, seeds);
    try {
      await parse(bytes);
    } catch (err) {
      if (!(err instanceof expected)) {
        throw new Error(`sample ${i} (${bytes.length} bytes) threw ${String(err)}`, { cause: err });
      }
      expect(err.message.length).toBeGreaterThan(0);
      failures++;
    }
  }
  // The corpus must actually exercise the error paths.
  expect(failures).toBeGreaterThan(count / 4);
}

const bombs = smallBombs();

describe('fuzzing the parsers', () => {
  it('IDX images and labels, plain and gzipped', async () => {
    const images = idxFile(IDX_IMAGES_MAGIC, [3, 4, 5], noise(60, 1));
    const labels = idxFile(IDX_LABELS_MAGIC, [3], Uint8Array.from([1, 2, 3]));
    for (const bomb of bombs.idxGz) await expect(IdxDataset.load({ name: 'f', images: new MemoryByteSource(bomb, 'bomb.gz') })).rejects.toThrow(/bomb\.gz: .*(header declares|over the limit)/);
    const seeds = [images, gzip(images), labels, gzip(labels), ...bombs.idxGz];
    await fuzz(1, 2000, seeds, async (bytes) => {
      await IdxDataset.load({ name: 'f', images: new MemoryByteSource(bytes, 'fuzz-images') });
      await IdxDataset.load({ name: 'f', images: new MemoryByteSource(images, 'i'), labels: new MemoryByteSource(bytes, 'fuzz-labels') });
    });
  });

  it('CIFAR-10 record files', async () => {
    const seeds = [cifarFile([1, 2], noise(2 * 3072, 2)), cifarFile([9], noise(3072, 3))];
    await fuzz(2, 400, seeds, (bytes) => Cifar10BinaryDataset.load({ name: 'f', files: [new MemoryByteSource(bytes, 'fuzz.bin')] }));
  });

  it('STL-10 label, image and fold files', async () => {
    const images = new MemoryByteSource(new Uint8Array(3 * STL10_IMAGE_BYTES), 'X');
    await fuzz(3, 1500, [Uint8Array.from([1, 2, 10]), new TextEncoder().encode('0 1 2\n2 1\n')], async (bytes) => {
      await StlBinaryDataset.open({ name: 'f', images, labels: new MemoryByteSource(bytes, 'fuzz_y.bin') });
      parseStlFolds(new TextDecoder().decode(bytes), 'fuzz-folds', 3);
    });
    await fuzz(4, 200, [], async (bytes) => {
      const ds = await StlBinaryDataset.open({ name: 'f', images: new MemoryByteSource(bytes, 'fuzz_X.bin') });
      await ds.readImages([]);
    });
  });

  it('PNG and JPEG images', async () => {
    const rgb = noise(8 * 6 * 3, 4);
    for (const bomb of bombs.png) expect(() => decodeImage(bomb, 'bomb.png')).toThrow(/bomb\.png: .*(IHDR declares|over the limit)/);
    const seeds = [pngFile(8, 6, 3, rgb), pngFile(8, 6, 1, noise(48, 5)), jpegFile(8, 6, rgb), jpegFile(16, 16, noise(16 * 16 * 3, 6), 50), ...bombs.png];
    await fuzz(5, 3000, seeds, (bytes) => decodeImage(bytes, 'fuzz-image'));
  });

  it('tar archives', async () => {
    const seeds = [tarFile([{ name: 'd/' }, { name: 'd/a', data: noise(700, 7) }, { name: `d/${'y'.repeat(120)}`, data: noise(10, 8) }])];
    await fuzz(6, 3000, seeds, async (bytes) => {
      const reader = new TarReader({ entry: () => undefined, data: () => undefined }, 'fuzz.tar');
      await reader.write(bytes);
      reader.end();
    });
  });

  it('safetensors, entries over the same bytes among them', async () => {
    const valid = encodeSafetensors([
      ['a', { dtype: 'F32', shape: [2, 3], data: Float32Array.from(noise(6, 9)) }],
      ['b', { dtype: 'I64', shape: [1], data: BigInt64Array.from([7n]) }],
    ]);
    // The same file with b's entry spanning a's bytes.
    const text = new TextDecoder().decode(valid);
    const overlapping = new TextEncoder().encode(text.replace('"data_offsets":[24,32]', '"data_offsets":[0, 8] '));
    expect(() => decodeSafetensors(overlapping, 'overlap.safetensors')).toThrow(/overlap\.safetensors: .*overlapping/);
    await fuzz(7, 2000, [valid, overlapping], (bytes) => decodeSafetensors(bytes, 'fuzz.safetensors'), SafetensorsError);
  });
});
