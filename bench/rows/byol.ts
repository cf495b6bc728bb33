/**
 * byol-step row: one BYOL training step as the experiment runs it (src/byol/experiment.ts), batch 32 at
 * 32×32, the 'quick' preset's networks (ResNet-18 with the ImageNet stem, projector 512 → 4096 → 256,
 * predictor 256 → 4096 → 256): upload of the packed uint8 batch, then the experiment's byolStep: ByolAugment's
 * two views, online forward on both views, target forward on both (no gradients), the symmetric loss,
 * backward, LARS (lr 0.2·32/256, weight decay 1.5e-6, momentum 0.9, η 0.001) and the EMA update of the target
 * (τ 0.996); replayed from its record after its first two calls.
 *
 * Ours only: a TensorFlow.js BYOL would need the augmentation pipeline (which tf.image lacks, see
 * augment.ts) and LARS written by hand; not built.
 */
import { fromArray, LARS, scope } from '../../src/index.js';
import { byolStep } from '../../src/byol/step.js';
import { ByolAugment } from '../../src/byol/augment.js';
import { presetConfig } from '../../src/byol/config.js';
import { Byol } from '../../src/byol/model.js';
import { registerRows } from '../registry.js';
import { packedBatch } from './augment.js';
import { SLOW_RUNS } from './resnet.js';
import { stepStats } from '../step-stats.js';

const BATCH = 32;
const SIZE = 32;

registerRows({
  family: 'byol-step',
  label: `byol train step, batch ${BATCH}, ${SIZE}×${SIZE}`,
  work: { images: BATCH },
  // No correctness check precedes it (ours only), so keep one warm-up with --quick.
  maxRuns: { reps: SLOW_RUNS.reps, warmup: SLOW_RUNS.warmup, quick: { reps: 1, warmup: 1 } },
  note: 'ours only (no TensorFlow.js equivalent built): augment 2 views + online ×2 + target ×2 + loss + backward + LARS + EMA',
  impls: {
    ours: {
      setup() {
        const config = { ...presetConfig('quick'), batch: BATCH, imageSize: SIZE };
        const byol = Byol.create(config, 1);
        byol.train(true);
        const lr = (config.byol.lrPer256 * BATCH) / 256;
        const opt = new LARS(byol.online, { lr, weightDecay: config.byol.weightDecay });
        const aug = new ByolAugment({ size: SIZE }, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
        const shape = { n: BATCH, c: 3, h: SIZE, w: SIZE };
        const words = packedBatch(BATCH, 3, SIZE, SIZE, 99);
        // The experiment's step (byolStep): eager on its first call, recorded on its second, replayed after.
        const trainStep = byolStep(byol, opt, aug, { c: shape.c, h: shape.h, w: shape.w }, { seed: 11 });
        let step = 0;
        const run = () =>
          scope(() => {
            const pixels = fromArray(words, [words.length], 'uint32');
            return trainStep.run([pixels], { lr, tau: config.byol.tauBase, step: step++ });
          });
        return { run, report: () => stepStats(run), dispose: () => (trainStep.dispose(), opt.dispose(), byol.dispose()) };
      },
    },
  },
});
