/**
 * The dataset interface the training code consumes, and the generic views over it (in-memory dataset,
 * subset, concatenation). Browser-safe.
 */
import { DatasetError } from './errors.js';

/**
 * A finite, indexable set of same-sized uint8 images with optional class labels.
 *
 * Pixels are always delivered as uint8 in CHW order per image, images packed back to back
 * (N×C×H×W), so a batch is one contiguous block ready for a GPU upload.
 */
export interface ImageDataset {
  /** Human-readable name, e.g. "fashion-mnist/train". */
  readonly name: string;
  /** Number of images. */
  readonly length: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: number;
  /** Number of classes labels may take (labels lie in 0..numClasses−1). */
  readonly numClasses: number;
  /** One name per class, `classNames.length === numClasses`. */
  readonly classNames: readonly string[];
  /** Per-image class, −1 for an unlabeled image; `null` when the dataset carries no labels at all. */
  readonly labels: Int32Array | null;
  /**
   * Reads the images at `indices` into `out` (or a new array) as N×C×H×W uint8, in the order given.
   * `out` must hold at least `indices.length × imageBytes(this)` bytes; the filled prefix is returned.
   * Throws `RangeError` for an index outside 0..length−1 and `DatasetError` if the underlying bytes are bad.
   */
  readImages(indices: ArrayLike<number>, out?: Uint8Array): Promise<Uint8Array>;
}

/** The splits a named dataset comes with. */
export interface DatasetSplits {
  /** Dataset name, e.g. "stl10". */
  readonly name: string;
  /** The labeled training split. */
  readonly train: ImageDataset;
  /** The test split, where the dataset has one. */
  readonly test: ImageDataset | null;
  /** A separate unlabeled split (STL-10's 100,000 images), where the dataset has one. */
  readonly unlabeled: ImageDataset | null;
}

/** Bytes of one image: channels × height × width. */
export function imageBytes(dataset: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return dataset.channels * dataset.height * dataset.width;
}

/** Validates `indices` against `length` and returns the output block for `indices.length` images. */
export function prepareOutput(dataset: ImageDataset, indices: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= dataset.length) {
      throw new RangeError(`${dataset.name}: image index ${index} outside 0..${dataset.length - 1}`);
    }
  }
  const bytes = indices.length * imageBytes(dataset);
  if (out === undefined) return new Uint8Array(bytes);
  if (out.length < bytes) {
    throw new RangeError(`${dataset.name}: output holds ${out.length} bytes, ${indices.length} images need ${bytes}`);
  }
  return out.subarray(0, bytes);
}

/** Default class names "0", "1", … for datasets that ship none. */
export function numberedClassNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** Throws a `DatasetError` naming `file` if a label lies outside 0..numClasses−1 (−1 allowed when `allowUnlabeled`). */
export function checkLabels(labels: Int32Array, numClasses: number, file: string, allowUnlabeled = false): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label >= numClasses || label < (allowUnlabeled ? -1 : 0)) {
      throw new DatasetError(`label of item ${i} is ${label}, expected 0..${numClasses - 1}`, { file });
    }
  }
}

/** Shape and classes of an image dataset, as passed to the constructors below. */
export interface DatasetInfo {
  /** Human-readable name, e.g. "fashion-mnist/train". */
  name: string;
  /** Image height in pixels. */
  height: number;
  /** Image width in pixels. */
  width: number;
  /** 1 (grey) or 3 (RGB). */
  channels: number;
  /** One name per class. */
  classNames: readonly string[];
}

/** A dataset whose pixels are all in memory as one N×C×H×W block. */
export class InMemoryImageDataset implements ImageDataset {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];

  /**
   * `pixels` is N×C×H×W uint8 (kept, not copied); `labels` has one entry per image (−1 = unlabeled) or is null.
   */
  constructor(
    info: DatasetInfo,
    /** Every image's pixels, N×C×H×W uint8. */
    readonly pixels: Uint8Array,
    readonly labels: Int32Array | null,
  ) {
    this.name = info.name;
    this.height = info.height;
    this.width = info.width;
    this.channels = info.channels;
    this.classNames = info.classNames;
    this.numClasses = info.classNames.length;
    const size = imageBytes(info);
    if (size <= 0 || pixels.length % size !== 0) {
      throw new RangeError(`${info.name}: ${pixels.length} pixel bytes is not a whole number of ${size}-byte images`);
    }
    this.length = pixels.length / size;
    if (labels !== null && labels.length !== this.length) {
      throw new RangeError(`${info.name}: ${labels.length} labels for ${this.length} images`);
    }
  }

  async readImages(indices: ArrayLike<number>, out?: Uint8Array): Promise<Uint8Array> {
    const result = prepareOutput(this, indices, out);
    const size = imageBytes(this);
    for (let i = 0; i < indices.length; i++) {
      const start = indices[i]! * size;
      result.set(this.pixels.subarray(start, start + size), i * size);
    }
    return result;
  }
}

/** A view of some images of another dataset, in the order of `indices`. */
export class Subset implements ImageDataset {
  readonly name: string;
  readonly labels: Int32Array | null;
  /** Indices into `base`, in this subset's order. */
  readonly indices: Int32Array;

  /**
   * `indices` are positions in `base` (copied). With `withholdLabels`, the subset carries no labels
   * (`labels === null`), as for the unlabeled pool of a semi-supervised split.
   */
  constructor(
    /** The dataset this is a subset of. */
    readonly base: ImageDataset,
    indices: ArrayLike<number>,
    options: { name?: string; withholdLabels?: boolean } = {},
  ) {
    this.indices = Int32Array.from(indices);
    for (const index of this.indices) {
      if (index < 0 || index >= base.length) {
        throw new RangeError(`${base.name}: subset index ${index} outside 0..${base.length - 1}`);
      }
    }
    this.name = options.name ?? `${base.name}[subset of ${this.indices.length}]`;
    const baseLabels = base.labels;
    this.labels = options.withholdLabels || baseLabels === null ? null : this.indices.map((i) => baseLabels[i]!);
  }

  get length(): number {
    return this.indices.length;
  }
  /** As the base dataset's. */
  get height(): number {
    return this.base.height;
  }
  /** As the base dataset's. */
  get width(): number {
    return this.base.width;
  }
  get channels(): number {
    return this.base.channels;
  }
  get numClasses(): number {
    return this.base.numClasses;
  }
  get classNames(): readonly string[] {
    return this.base.classNames;
  }

  async readImages(indices: ArrayLike<number>, out?: Uint8Array): Promise<Uint8Array> {
    const result = prepareOutput(this, indices, out);
    const mapped = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) mapped[i] = this.indices[indices[i]!]!;
    return this.base.readImages(mapped, result);
  }
}

/** Several datasets of the same image shape, one after the other. */
export class ConcatDataset implements ImageDataset {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly labels: Int32Array | null;
  private readonly starts: number[];

  /** Class names come from the part with the most classes; parts without labels contribute −1 labels. */
  constructor(
    /** The datasets joined, in order. */
    readonly parts: readonly ImageDataset[],
    name?: string,
  ) {
    const first = parts[0];
    if (first === undefined) throw new RangeError('ConcatDataset needs at least one dataset');
    for (const part of parts) {
      if (part.height !== first.height || part.width !== first.width || part.channels !== first.channels) {
        throw new RangeError(
          `cannot concatenate ${part.name} (${part.channels}×${part.height}×${part.width}) ` +
            `with ${first.name} (${first.channels}×${first.height}×${first.width})`,
        );
      }
    }
    this.name = name ?? parts.map((p) => p.name).join('+');
    this.height = first.height;
    this.width = first.width;
    this.channels = first.channels;
    this.classNames = parts.reduce((best, p) => (p.classNames.length > best.length ? p.classNames : best), first.classNames);
    this.numClasses = this.classNames.length;
    this.starts = [];
    let total = 0;
    for (const part of parts) {
      this.starts.push(total);
      total += part.length;
    }
    this.length = total;
    if (parts.every((p) => p.labels === null)) {
      this.labels = null;
    } else {
      this.labels = new Int32Array(total).fill(-1);
      parts.forEach((p, k) => {
        if (p.labels !== null) this.labels!.set(p.labels, this.starts[k]);
      });
    }
  }

  async readImages(indices: ArrayLike<number>, out?: Uint8Array): Promise<Uint8Array> {
    const result = prepareOutput(this, indices, out);
    const size = imageBytes(this);
    // Group the requested positions by part, read each part once, then scatter into place.
    const perPart = this.parts.map(() => ({ local: [] as number[], slots: [] as number[] }));
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      let k = this.starts.length - 1;
      while (this.starts[k]! > index) k--;
      perPart[k]!.local.push(index - this.starts[k]!);
      perPart[k]!.slots.push(i);
    }
    await Promise.all(
      perPart.map(async ({ local, slots }, k) => {
        if (local.length === 0) return;
        const block = await this.parts[k]!.readImages(local);
        slots.forEach((slot, j) => result.set(block.subarray(j * size, (j + 1) * size), slot * size));
      }),
    );
    return result;
  }
}
