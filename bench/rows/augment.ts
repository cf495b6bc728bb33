/**
 * augment rows: BYOL's augmentation (src/byol/augment.ts, ByolAugment): both views of a packed uint8 batch,
 * random resized crop + flip + colour jitter (brightness, contrast, saturation, hue in random order) +
 * grayscale + Gaussian blur + solarize + normalize, each with its own random draw per sample (drawn on the
 * CPU, as in training). 256 images at 32×32 → 32×32 and 64 images at 96×96 → 96×96. Throughput is images
 * per second (each image gives two views).
 *
 * Ours only: TensorFlow.js has no equivalent pipeline (tf.image has cropAndResize and flipLeftRight, but no
 * hue or saturation jitter, no per-sample Gaussian blur and no solarize), so there is nothing like for like
 * to time against.
 */
import { fromArray } from '../../src/index.js';
import { ByolAugment } from '../../src/byol/augment.js';
import { registerRows, type BenchRow } from '../registry.js';

/** A deterministic packed uint8 batch (4 pixels per uint32 word, N×C×H×W), as uploadBatch makes it. */
export function packedBatch(n: number, c: number, h: number, w: number, seed: number): Uint32Array {
  const words = new Uint32Array(Math.ceil((n * c * h * w) / 4));
  let s = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    words[i] = s;
  }
  return words;
}

const STATS = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

function augmentRow(n: number, size: number): BenchRow {
  return {
    family: 'augment',
    label: `ByolAugment 2 views, ${n} × ${size}×${size}`,
    work: { images: n },
    note: 'ours only: tfjs has no equivalent pipeline (no hue/saturation jitter, per-sample blur or solarize in tf.image)',
    impls: {
      ours: {
        setup() {
          const shape = { n, c: 3, h: size, w: size };
          const words = packedBatch(n, 3, size, size, 77 + size);
          const pixels = fromArray(words, [words.length], 'uint32');
          const aug = new ByolAugment({ size }, STATS);
          let step = 0;
          return {
            run: () => aug.views(pixels, shape, step++, 11),
            dispose: () => pixels.dispose(),
          };
        },
      },
    },
  };
}

registerRows(augmentRow(256, 32), augmentRow(64, 96));
