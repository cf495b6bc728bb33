/**
 * byol-step row: one BYOL training step as the experiment runs it (src/byol/byol-phase.ts), batch 32 at
 * 32×32, the 'quick' preset's networks (ResNet-18 with the ImageNet stem, projector 512 → 4096 → 256,
 * predictor 256 → 4096 → 256): upload of the packed uint8 batch, then the experiment's byolStep: ByolAugment's
 * two views, online forward on both views, target forward on both (no gradients), the symmetric loss,
 * backward, LARS (lr 0.2·32/256, weight decay 1.5e-6, momentum 0.9, η 0.001) and the EMA update of the target
 * (τ 0.996); replayed from its record after its first two calls.
 *
 * torch (CPU): the same step as scripts/byol_reference.py (the project's PyTorch port of the experiment) trains:
 * its ViewAugment (torchvision's transforms with the same views' parameters, batched) on the same uint8
 * batch, online and target networks of the same sizes (one pass per view: batch norm per view, as ours's
 * stacked pass with two groups computes), the symmetric loss, backward, its LARS (src/nn/optim.ts's rule,
 * the same lr, weight decay, momentum and η) and the EMA update. Its own initialization and random draws, so
 * there is no correctness check: the row compares time only.
 *
 * No TensorFlow.js column: a TensorFlow.js BYOL would need the augmentation pipeline (which tf.image lacks,
 * see augment.ts) and LARS written by hand; not built.
 */
import { fromArray, scope } from '../../src/index.js';
import { byolTraining } from '../../src/byol/step.js';
import { ByolAugment } from '../../src/byol/augment.js';
import { presetConfig } from '../../src/byol/config.js';
import { registerRows } from '../registry.js';
import { packedBatch } from './augment.js';
import { SLOW_RUNS } from './resnet.js';
import { stepStats } from '../step-stats.js';
import { torchImpl } from '../torch.js';

export const BYOL_BENCH_BATCH = 32;
const BATCH = BYOL_BENCH_BATCH;
const SIZE = 32;
const STATS = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
const PIXEL_SEED = 99;
/**
 * The quick preset's networks at this row's batch and image size, trained as the BYOL paper does (the full
 * preset's BYOL settings: LARS at 0.2 per 256 images, weight decay 1.5e-6, τ 0.996), the step that the
 * figures in bench/RESULTS.md time. (The quick preset itself trains with AdamW since 2026-12-07.)
 */
export const BYOL_BENCH_CONFIG = { ...presetConfig('quick'), batch: BATCH, imageSize: SIZE, byol: presetConfig('full').byol };
const config = BYOL_BENCH_CONFIG;
const lr = (config.byol.lrPer256 * BATCH) / 256;

/**
 * Our step of the row: the experiment's workload (byolTraining: the model, LARS and byolStep), eager on its first call, recorded on its second,
 * replayed after; eager throughout with replay: false. Each run uploads the packed batch.
 */
export function ourByolStep(options: { replay?: boolean } = {}) {
  const aug = new ByolAugment({ size: SIZE }, STATS);
  const { byol, step: trainStep, dispose } = byolTraining(config, { init: 1, seed: 11, augment: aug, image: { c: 3, h: SIZE, w: SIZE }, replay: options.replay });
  const words = packedBatch(BATCH, 3, SIZE, SIZE, PIXEL_SEED);
  let step = 0;
  return {
    byol,
    run: () =>
      scope(() => {
        const pixels = fromArray(words, [words.length], 'uint32');
        return trainStep.run([pixels], { lr, tau: config.byol.tauBase, step: step++ });
      }),
    dispose,
  };
}

registerRows({
  family: 'byol-step',
  label: `byol train step, batch ${BATCH}, ${SIZE}×${SIZE}`,
  work: { images: BATCH },
  // No correctness check precedes it (ours only), so keep one warm-up with --quick.
  maxRuns: { reps: SLOW_RUNS.reps, warmup: SLOW_RUNS.warmup, quick: { reps: 1, warmup: 1 } },
  note:
    'augment 2 views + online ×2 + target ×2 + loss + backward + LARS + EMA, on ours and torch ' +
    "(scripts/byol_reference.py's step; own weights and draws, so no correctness check); no TensorFlow.js equivalent built",
  impls: {
    ours: {
      setup() {
        const { run, dispose } = ourByolStep();
        return { run, report: () => stepStats(run), dispose };
      },
    },
    torch: torchImpl(() => {
      // The packed words' bytes are the pixels in order (pixel p is byte p mod 4 of word p / 4, little-endian).
      const words = packedBatch(BATCH, 3, SIZE, SIZE, PIXEL_SEED);
      const images = new Uint8Array(words.buffer, 0, BATCH * 3 * SIZE * SIZE);
      return {
        op: 'byol-step',
        params: { width: config.width, stem: config.stem, byol: { ...config.byol, optimizer: 'lars' }, lr, tau: config.byol.tauBase, stats: STATS, size: SIZE, seed: 1 },
        inputs: { images: { data: images, shape: [BATCH, 3, SIZE, SIZE] } },
      };
    }),
  },
});
