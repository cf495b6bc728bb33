/**
 * Hands a loader batch to the GPU: the uint8 pixels go up once, packed four to a 32-bit word (the
 * augmentation kernels unpack them), and the labels as int32.
 */
import { fromArray, type Tensor } from '../tensor/tensor.js';
import type { Batch } from './loader.js';

/** A batch on the GPU, as {@link uploadBatch} makes it: packed uint8 pixels and int32 labels. */
export interface GpuBatch {
  /** ceil(N·C·H·W / 4) uint32 words; pixel p is byte (p mod 4) of word ⌊p/4⌋, little-endian. */
  pixels: Tensor;
  /** [N] int32, −1 where unlabeled. */
  labels: Tensor;
  /** How many images the batch holds. */
  count: number;
}

/**
 * Uploads a loader's batch: the pixels packed four to a word (one upload, no float conversion), the labels as
 * int32.
 */
export function uploadBatch(batch: Batch): GpuBatch {
  return {
    pixels: fromArray(batch.words, [batch.words.length], 'uint32'),
    labels: fromArray(batch.labels, [batch.labels.length], 'int32'),
    count: batch.indices.length,
  };
}
