/**
 * STL-10's binary release (stl10_binary). Browser-safe.
 *
 * X files: uint8 images of 3×96×96, each channel stored column-major (the byte at c·96² + x·96 + y is
 * channel c, column x, row y). y files: one uint8 label per image, 1–10. Images are read by random access,
 * so the 2.7 GB unlabeled split is never loaded whole; they are transposed to row-major CHW on the way.
 */
import { type ByteSource, readAll, readExactly } from './byte-source.js';
import { type ImageDataset, prepareOutput } from './dataset.js';
import { DatasetError, sizeMismatch } from './errors.js';

export const STL10_SIDE = 96;
/** Bytes of one image: 3×96×96. */
export const STL10_IMAGE_BYTES = 3 * STL10_SIDE * STL10_SIDE;
/** Class names of STL-10, as in class_names.txt. */
export const STL10_CLASSES: readonly string[] = [
  'airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck',
];
/** The files of one STL-10 split. */
export interface Stl10SplitFiles {
  /** The images (X) file. */
  readonly images: string;
  /** The labels (y) file, or null for the unlabeled split. */
  readonly labels: string | null;
}

/** The file names of each split of the binary release. */
export const STL10_FILES: {
  /** The labeled training split (5,000 images). */
  readonly train: Stl10SplitFiles;
  /** The test split (8,000 images). */
  readonly test: Stl10SplitFiles;
  /** The unlabeled split (100,000 images, no labels file). */
  readonly unlabeled: Stl10SplitFiles;
} = {
  train: { images: 'train_X.bin', labels: 'train_y.bin' },
  test: { images: 'test_X.bin', labels: 'test_y.bin' },
  unlabeled: { images: 'unlabeled_X.bin', labels: null },
};

/** Longest run of consecutive images fetched in one read. */
const MAX_RUN = 64;
/** Reads in flight at once for one `readImages` call. */
const READ_CONCURRENCY = 16;

/** Converts one image from STL-10's column-major layout to row-major CHW. */
export function stlToChw(src: Uint8Array, dst: Uint8Array): void {
  const side = STL10_SIDE;
  const plane = side * side;
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    for (let x = 0; x < side; x++) {
      const column = base + x * side;
      for (let y = 0; y < side; y++) dst[base + y * side + x] = src[column + y]!;
    }
  }
}

/** Parses class_names.txt (one name per line; blank lines ignored). */
export function parseStlClassNames(text: string, file: string): string[] {
  const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length !== STL10_CLASSES.length) throw sizeMismatch(file, 'number of class names', STL10_CLASSES.length, names.length);
  return names;
}

/**
 * Parses fold_indices.txt: one line per fold, each a space-separated list of 0-based indices into the
 * training split. Every index must be below `trainLength`.
 */
export function parseStlFolds(text: string, file: string, trainLength: number): Int32Array[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  return lines.map((line, fold) => {
    const fields = line.trim().split(/\s+/);
    const out = new Int32Array(fields.length);
    fields.forEach((field, i) => {
      const value = /^\d+$/.test(field) ? Number(field) : NaN;
      if (!(value < trainLength)) {
        throw new DatasetError(`fold ${fold} entry ${i} is "${field}", expected an index 0..${trainLength - 1}`, { file });
      }
      out[i] = value;
    });
    return out;
  });
}

/** One split of STL-10, read by random access from its X file (and labels from its y file). */
export class StlBinaryDataset implements ImageDataset {
  /** 96. */
  readonly height = STL10_SIDE;
  /** 96. */
  readonly width = STL10_SIDE;
  readonly channels = 3;
  readonly numClasses: number;

  private constructor(
    readonly name: string,
    private readonly images: ByteSource,
    readonly length: number,
    readonly labels: Int32Array | null,
    readonly classNames: readonly string[],
  ) {
    this.numClasses = classNames.length;
  }

  /**
   * Opens a split: checks that the X file holds a whole number of images and, with a label file, that it
   * has exactly one label per image, each 1–10 (stored as 0–9). The X source must stay open while the
   * dataset is used.
   */
  static async open(options: {
    name: string;
    images: ByteSource;
    labels?: ByteSource;
    classNames?: readonly string[];
  }): Promise<StlBinaryDataset> {
    const size = await options.images.size();
    if (size % STL10_IMAGE_BYTES !== 0) {
      throw sizeMismatch(options.images.name, 'size', `a multiple of ${STL10_IMAGE_BYTES} bytes (3×96×96 per image)`, `${size} bytes`);
    }
    const length = size / STL10_IMAGE_BYTES;
    const classNames = options.classNames ?? STL10_CLASSES;
    let labels: Int32Array | null = null;
    if (options.labels !== undefined) {
      const labelSize = await options.labels.size();
      if (labelSize !== length) {
        throw sizeMismatch(options.labels.name, 'size', `${length} bytes (one per image in ${options.images.name})`, `${labelSize} bytes`);
      }
      const raw = await readAll(options.labels);
      labels = new Int32Array(length);
      for (let i = 0; i < length; i++) {
        const label = raw[i]!;
        if (label < 1 || label > classNames.length) {
          throw new DatasetError(`label of image ${i} is ${label}, expected 1–${classNames.length}`, { file: options.labels.name });
        }
        labels[i] = label - 1;
      }
    }
    return new StlBinaryDataset(options.name, options.images, length, labels, classNames);
  }

  async readImages(indices: ArrayLike<number>, out?: Uint8Array): Promise<Uint8Array> {
    const result = prepareOutput(this, indices, out);
    // Runs of consecutive indices (in the requested order) are fetched with one read each.
    const runs: Array<{ slot: number; first: number; count: number }> = [];
    for (let i = 0; i < indices.length; ) {
      let count = 1;
      while (i + count < indices.length && count < MAX_RUN && indices[i + count] === indices[i]! + count) count++;
      runs.push({ slot: i, first: indices[i]!, count });
      i += count;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) {
        const { slot, first, count } = runs[next++]!;
        const bytes = await readExactly(this.images, first * STL10_IMAGE_BYTES, count * STL10_IMAGE_BYTES);
        for (let k = 0; k < count; k++) {
          const dst = result.subarray((slot + k) * STL10_IMAGE_BYTES, (slot + k + 1) * STL10_IMAGE_BYTES);
          stlToChw(bytes.subarray(k * STL10_IMAGE_BYTES, (k + 1) * STL10_IMAGE_BYTES), dst);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, runs.length) }, worker));
    return result;
  }
}
