/**
 * Hands a loader batch to the GPU: the uint8 pixels go up once, packed four to a 32-bit word (the
 * augmentation kernels unpack them), and the labels as int32.
 */
import { fromArray, type Tensor } from '../tensor/tensor.js';
import type { Batch } from './loader.js';

export interface GpuBatch {
  /** ceil(N·C·H·W / 4) uint32 words; pixel p is byte (p mod 4) of word ⌊p/4⌋, little-endian. */
  pixels: Tensor;
  /** [N] int32, −1 where unlabeled. */
  labels: Tensor;
  /** How many images the batch holds. */
  count: number;
}

export function uploadBatch(batch: Batch): GpuBatch {
  return {
    pixels: fromArray(batch.words, [batch.words.length], 'uint32'),
    labels: fromArray(batch.labels, [batch.labels.length], 'int32'),
    count: batch.indices.length,
  };
}
