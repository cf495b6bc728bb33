/**
 * CIFAR-10's binary release (cifar-10-batches-bin). Browser-safe.
 *
 * Each batch file is a sequence of 3073-byte records: one label byte (0–9), then the 32×32 image as
 * 1024 red, 1024 green and 1024 blue bytes, rows top to bottom (already CHW).
 */
import { type ByteSource, readAll } from './byte-source.js';
import { InMemoryImageDataset } from './dataset.js';
import { DatasetError, sizeMismatch } from './errors.js';

export const CIFAR10_SIDE = 32;
/** Bytes of one record: label + 3×32×32 pixels. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_SIDE * CIFAR10_SIDE;
/** Records in each official batch file. */
export const CIFAR10_RECORDS_PER_FILE = 10000;
/** File names of the training batches, in order. */
export const CIFAR10_TRAIN_FILES: readonly string[] = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
/** File name of the test batch. */
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** Class names of CIFAR-10, as in batches.meta.txt. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

/** Parses batches.meta.txt (one class name per line; blank lines ignored). */
export function parseCifarMeta(text: string, file: string): string[] {
  const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length !== CIFAR10_CLASSES.length) {
    throw sizeMismatch(file, 'number of class names', CIFAR10_CLASSES.length, names.length);
  }
  return names;
}

/** CIFAR-10 images from one or more batch files, held in memory (≈150 MB for the training split). */
export class Cifar10BinaryDataset extends InMemoryImageDataset {
  /**
   * Loads and validates the batch files in order. A file must hold a whole number of records
   * (the official files hold exactly 10,000) and every label must be 0–9.
   */
  static async load(options: { name: string; files: readonly ByteSource[]; classNames?: readonly string[] }): Promise<Cifar10BinaryDataset> {
    const sizes = await Promise.all(options.files.map((f) => f.size()));
    for (let k = 0; k < sizes.length; k++) {
      const size = sizes[k]!;
      if (size === 0 || size % CIFAR10_RECORD_BYTES !== 0) {
        throw sizeMismatch(
          options.files[k]!.name,
          'size',
          `a positive multiple of ${CIFAR10_RECORD_BYTES} bytes (${CIFAR10_RECORDS_PER_FILE} records = ${CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES})`,
          `${size} bytes`,
        );
      }
    }
    const total = sizes.reduce((a, b) => a + b, 0) / CIFAR10_RECORD_BYTES;
    const pixelBytes = CIFAR10_RECORD_BYTES - 1;
    const pixels = new Uint8Array(total * pixelBytes);
    const labels = new Int32Array(total);
    let n = 0;
    for (const file of options.files) {
      const bytes = await readAll(file);
      for (let offset = 0; offset < bytes.length; offset += CIFAR10_RECORD_BYTES, n++) {
        const label = bytes[offset]!;
        if (label > 9) {
          throw new DatasetError(`record ${offset / CIFAR10_RECORD_BYTES} has label ${label}, expected 0–9 (not a CIFAR-10 batch file?)`, {
            file: file.name,
          });
        }
        labels[n] = label;
        pixels.set(bytes.subarray(offset + 1, offset + CIFAR10_RECORD_BYTES), n * pixelBytes);
      }
    }
    const classNames = options.classNames ?? CIFAR10_CLASSES;
    return new Cifar10BinaryDataset({ name: options.name, height: CIFAR10_SIDE, width: CIFAR10_SIDE, channels: 3, classNames }, pixels, labels);
  }
}
