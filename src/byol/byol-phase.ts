/**
 * BYOL pretraining on the unlabeled pool, with the BYOL loss on a held-out part of the pool and on the test
 * images, and the linear probe and kNN monitor of the encoder after every epoch (and before the first); at the
 * gain curve's points, a fine-tuning of the epoch's encoder. Also the phase's two views and loader, from which
 * the demo page draws its previews of the training views.
 */
import type { Module } from '../nn/module.js';
import { warmupCosine, byolTau } from '../nn/schedule.js';
import { encodeCheckpoint, loadCheckpoint } from '../nn/checkpoint.js';
import type { ImageDataset } from '../data/dataset.js';
import { BatchLoader } from '../data/loader.js';
import { uploadBatch } from '../data/gpu-batch.js';
import { BYOL_VIEW_1, BYOL_VIEW_2, type ViewConfig } from './augment.js';
import type { ExperimentConfig } from './config.js';
import { finetuneSpec } from './classifier-phase.js';
import { byolEvalLoss, evaluateEncoder, type ClassifierEvaluation } from './evaluation.js';
import { byolLossImages } from './experiment-data.js';
import { phaseKeys } from './experiment-state.js';
import { evaluateRandomArm } from './inspect.js';
import { ByolState } from './model.js';
import { runPhase, type PhaseContext, type PhaseSpec } from './phase.js';
import { byolTraining } from './step.js';

/** BYOL's two views (the paper's τ and τ′) with the config's crop scale and blur. */
export function byolViews(config: Pick<ExperimentConfig, 'byol'>): ViewConfig[] {
  const { cropMinScale, blur } = config.byol;
  return [BYOL_VIEW_1, BYOL_VIEW_2].map((v) => ({
    ...v,
    crop: { ratio: v.crop?.ratio ?? ([3 / 4, 4 / 3] as const), scale: [cropMinScale, 1] as const },
    blur: blur ? v.blur : { ...v.blur, p: 0 },
  }));
}

/** The BYOL phase's loader over the pool: shuffled full batches, epoch e's order keyed by (seed, phase, e). */
export function byolLoader(pool: ImageDataset, config: Pick<ExperimentConfig, 'seed' | 'batch'>): BatchLoader {
  return new BatchLoader(pool, { batchSize: config.batch, seed: phaseKeys(config.seed, 'byol').order, shuffle: true, dropLast: true });
}

/**
 * Whether BYOL epoch `epoch` (1-based) of `epochs`, `imagesPerEpoch` images each, is a point of the fine-tuned
 * arm's gain curve: it passes a multiple of `every` images, and is not the last epoch (the fine-tuned arm is
 * that point).
 */
export function curvePointAfter(epoch: number, epochs: number, imagesPerEpoch: number, every: number): boolean {
  if (!(every > 0) || epoch >= epochs) return false;
  return Math.floor((epoch * imagesPerEpoch) / every) > Math.floor(((epoch - 1) * imagesPerEpoch) / every);
}

/**
 * BYOL pretraining: `restore` is the phase's own checkpoint when it resumes. Epoch 0's record is the random
 * arm's linear probe and kNN accuracy: the mean over config.randomDraws random encoders, the first of them the
 * one BYOL starts from. At the end it writes the online encoder alone.
 */
export async function byolSpec(ctx: PhaseContext, restore: Uint8Array | null): Promise<PhaseSpec<void>> {
  const { config: c, data, augments } = ctx;
  const b = c.byol;
  const keys = phaseKeys(c.seed, 'byol');
  const pool = data.pool;
  const training = byolTraining(c, { init: keys.init, seed: keys.views, augment: augments.byol, image: { c: pool.channels, h: pool.height, w: pool.width } });
  const { byol, opt, step: trainStep, lr } = training;
  const state = new ByolState(byol);
  if (restore) loadCheckpoint(restore, { model: state, optimizer: opt }, 'checkpoint');
  const steps = Math.floor(pool.length / c.batch);
  const totalSteps = b.epochs * steps;
  const testImages = byolLossImages(data.test);
  const monitor = () => evaluateEncoder(byol.online.encoder, data, augments.eval, c);
  const pct = (v: number): string => (100 * v).toFixed(2);
  let rate = 0;
  let tau = 0;
  return {
    phase: 'byol',
    name: 'byol',
    epochs: b.epochs,
    steps,
    model: state,
    optimizer: opt,
    saves: true,
    async begin(startEpoch) {
      if (startEpoch !== 0 || ctx.recorded('byol', 0)) return;
      const arm = await evaluateRandomArm(c, data, augments.eval, byol.online.encoder);
      ctx.record({ phase: 'byol', epoch: 0, knnAccuracy: arm.knn, probeAccuracy: arm.probeAccuracy, probeLoss: arm.probeLoss, randomDraws: arm.perDraw });
      const of = c.randomDraws > 1 ? `the random encoders (the mean of ${c.randomDraws} draws)` : 'the random encoder';
      const range = (v: number[]) => (v.length > 1 ? ` (${pct(Math.min(...v))}–${pct(Math.max(...v))})` : '');
      ctx.io.log(`byol: ${of}: linear probe ${pct(arm.probeAccuracy)}%${range(arm.perDraw.probeAccuracy)}, kNN ${pct(arm.knn)}%${range(arm.perDraw.knnAccuracy)}`);
    },
    train: () => byol.train(true),
    batches: (epoch) => byolLoader(pool, c).epoch(epoch),
    step(batch, step) {
      rate = warmupCosine(step, { baseLr: lr, warmupSteps: b.warmupEpochs * steps, totalSteps });
      tau = b.tauConstant ? b.tauBase : byolTau(step, totalSteps, b.tauBase);
      const gb = uploadBatch(batch);
      return trainStep.run([gb.pixels], { lr: rate, tau, step });
    },
    async evaluate(e) {
      const heldOutLoss = await byolEvalLoss(byol, data.heldOut, augments.byol, c.batch, keys.evalViews);
      const valLoss = await byolEvalLoss(byol, testImages, augments.byol, c.batch, keys.evalViews);
      await e.check({ 'the BYOL loss on the held-out images': heldOutLoss, 'the BYOL loss on the test images': valLoss });
      const ev = await monitor();
      ctx.encoderProbe = { epoch: e.epoch + 1, probe: ev.probe };
      ctx.io.log(
        `${e.label}: loss ${e.trainLoss.toFixed(4)} (held out ${heldOutLoss.toFixed(4)}, test ${valLoss.toFixed(4)}), ` +
          `linear probe ${pct(ev.probe.accuracy)}%, kNN ${pct(ev.knn)}%, ${e.imagesPerSecond.toFixed(1)} images/s`,
      );
      let finetuned: ClassifierEvaluation | null = null;
      if (curvePointAfter(e.epoch + 1, b.epochs, steps * c.batch, c.finetune.curveEvery)) {
        // A point of the fine-tuned arm's gain curve. Run before this epoch's checkpoint: a run stopped or
        // killed during it resumes at this BYOL epoch and draws the same point.
        const encoder = await encodeCheckpoint({ model: byol.online.encoder });
        const end = await runPhase(await finetuneSpec(ctx, null, encoder, { from: e.epoch + 1 }), ctx, 0);
        if (end.stopped) return 'stopped';
        finetuned = end.result;
        byol.train(true);
      }
      return {
        phase: 'byol',
        epoch: e.epoch + 1,
        images: (e.epoch + 1) * steps * c.batch,
        trainLoss: e.trainLoss,
        heldOutLoss,
        valLoss,
        knnAccuracy: ev.knn,
        probeAccuracy: ev.probe.accuracy,
        probeLoss: ev.probe.loss,
        ...(finetuned ? { finetuneAccuracy: finetuned.accuracy, finetuneLoss: finetuned.loss } : {}),
        lr: rate,
        tau,
        imagesPerSecond: e.imagesPerSecond,
        seconds: e.seconds,
      };
    },
    async finish() {
      // The pretrained encoder alone, with torchvision's names (loads into resnet18 with fc = Identity); the
      // settings in its metadata let `npm run embed` rebuild the run's splits and random encoder.
      await ctx.io.saveCheckpoint('byol-encoder.safetensors', await encodeCheckpoint({ model: byol.online.encoder, metadata: { 'byol.config': JSON.stringify(c) } }));
    },
    dispose() {
      training.dispose();
    },
  };
}
