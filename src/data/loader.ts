/**
 * The batch loader: seeded per-epoch shuffles, uint8 batches packed for a GPU upload, and one batch of
 * read-ahead. Browser-safe.
 */
import { type ImageDataset, imageBytes } from './dataset.js';
import { Rng, deriveSeed } from './prng.js';

/** One batch of images. */
export interface Batch {
  /** Epoch this batch belongs to. */
  readonly epoch: number;
  /** Position of the batch in its epoch (0-based). */
  readonly batch: number;
  /** Dataset indices of the images, in batch order. */
  readonly indices: Int32Array;
  /** The images, N×C×H×W uint8 (`indices.length × imageBytes` bytes). */
  readonly images: Uint8Array;
  /**
   * The same bytes as 32-bit words, four pixels per word (little-endian: pixel 4k is the low byte of word k),
   * the last word zero-padded; views the same memory as `images`.
   */
  readonly words: Uint32Array;
  /** Labels of the images (−1 where unlabeled or the dataset has no labels). */
  readonly labels: Int32Array;
}

/** Options of {@link BatchLoader}. */
export interface BatchLoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Seed of the shuffles (default 0). Epoch e's order depends only on (seed, e). */
  seed?: number;
  /** Shuffle every epoch (default true); when false every epoch is 0..length−1 in order. */
  shuffle?: boolean;
  /** Drop the last, smaller batch of an epoch (default false). */
  dropLast?: boolean;
}

/**
 * Iterates a dataset in batches. Every epoch visits each image exactly once (except the remainder when
 * `dropLast`); while the consumer handles one batch, the next one is already being read.
 */
export class BatchLoader {
  /** Images per batch. */
  readonly batchSize: number;
  /** Seed of the shuffles. */
  readonly seed: number;
  /** Whether every epoch is shuffled. */
  readonly shuffle: boolean;
  /** Whether the last, smaller batch of an epoch is dropped. */
  readonly dropLast: boolean;
  /** Batches in every epoch. */
  readonly batchesPerEpoch: number;

  constructor(
    /** The dataset it reads. */
    readonly dataset: ImageDataset,
    options: BatchLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`batch size must be a positive integer, got ${options.batchSize}`);
    }
    this.batchSize = options.batchSize;
    this.seed = (options.seed ?? 0) >>> 0;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.batchesPerEpoch = this.dropLast
      ? Math.floor(dataset.length / this.batchSize)
      : Math.ceil(dataset.length / this.batchSize);
  }

  /** The order in which epoch `epoch` visits the dataset: a permutation of 0..length−1. */
  epochOrder(epoch: number): Int32Array {
    checkEpoch(epoch);
    const order = Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.shuffle) new Rng(deriveSeed(this.seed, epoch)).shuffle(order);
    return order;
  }

  /**
   * The batches of epoch `epoch`, starting at batch `startBatch` (for resuming); the same (seed, epoch,
   * batch) always gives the same images. Each batch owns fresh buffers, so it may be kept after the
   * iteration moves on.
   */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch, void, undefined> {
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > this.batchesPerEpoch) {
      throw new RangeError(`start batch ${startBatch} outside 0..${this.batchesPerEpoch}`);
    }
    const order = this.epochOrder(epoch);
    if (startBatch >= this.batchesPerEpoch) return;
    let pending = this.load(epoch, startBatch, order);
    for (let b = startBatch; b < this.batchesPerEpoch; b++) {
      const current = await pending;
      if (b + 1 < this.batchesPerEpoch) {
        pending = this.load(epoch, b + 1, order);
        // The consumer may stop before awaiting this read; keep its failure from being an unhandled rejection.
        pending.catch(() => undefined);
      }
      yield current;
    }
  }

  private async load(epoch: number, batch: number, order: Int32Array): Promise<Batch> {
    const indices = order.slice(batch * this.batchSize, Math.min((batch + 1) * this.batchSize, order.length));
    const bytes = indices.length * imageBytes(this.dataset);
    const buffer = new ArrayBuffer(Math.ceil(bytes / 4) * 4);
    const images = new Uint8Array(buffer, 0, bytes);
    await this.dataset.readImages(indices, images);
    const source = this.dataset.labels;
    const labels = source === null ? new Int32Array(indices.length).fill(-1) : indices.map((i) => source[i]!);
    return { epoch, batch, indices, images, words: new Uint32Array(buffer), labels };
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
}
