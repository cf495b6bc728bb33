/**
 * The classifier phases, one recipe for both arms: the supervised baseline (ResNet-18 from scratch on the
 * labeled images only) and the fine-tuning of the pretrained encoder (fc → Linear(512, classes), fully, or
 * frozen as a linear probe). The gain curve's fine-tunings, at BYOL epochs before the last, are the fine-tuning
 * spec run on that epoch's encoder without records or checkpoints.
 */
import { Generator } from '../kernels/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { classifierStep } from '../nn/train-step.js';
import { Linear } from '../nn/layers.js';
import { resnet18, type ResNet } from '../nn/resnet.js';
import { flattenParameters } from '../nn/flat.js';
import { makeOptimizer } from '../nn/optim.js';
import { warmupCosine } from '../nn/schedule.js';
import { encodeCheckpoint, loadCheckpoint, loadModelState } from '../nn/checkpoint.js';
import { decodeSafetensors } from '../nn/safetensors.js';
import { BatchLoader, type Batch } from '../data/loader.js';
import { uploadBatch } from '../data/gpu-batch.js';
import { IDENTITY_VIEW, type ViewConfig } from './augment.js';
import { evaluateClassifier, evaluateEncoder, recomputeBatchNorm, type ClassifierEvaluation } from './evaluation.js';
import { ExperimentError, phaseKeys, type MetricRecord } from './experiment-state.js';
import type { PhaseContext, PhaseSpec } from './phase.js';

/** The supervised recipe's training view: random resized crop and flip, no colour changes. */
export const CLASSIFIER_VIEW: ViewConfig = Object.freeze({ ...IDENTITY_VIEW, crop: { scale: [0.25, 1] as const, ratio: [3 / 4, 4 / 3] as const }, flipP: 0.5 });

/** Whether an arm of `epochs` epochs evaluates on the test images after epoch `epoch` (1-based). */
export function evaluatesAfter(epoch: number, epochs: number, evaluations: number): boolean {
  if (epoch >= epochs) return true;
  const every = Math.max(1, Math.ceil(epochs / Math.max(1, evaluations)));
  return epoch % every === 0;
}

/** The supervised baseline: `restore` is the phase's own checkpoint when it resumes. Gives back nothing. */
export function supervisedSpec(ctx: PhaseContext, restore: Uint8Array | null): Promise<PhaseSpec<ClassifierEvaluation | null>> {
  return classifierSpec(ctx, 'supervised', restore, null, null);
}

/**
 * The fine-tuning of the pretrained encoder: `restore` is the phase's own checkpoint when it resumes; otherwise
 * the encoder comes from `source`, the BYOL phase's checkpoint. With `curve`, a point of the gain curve: the
 * encoder of BYOL epoch `curve.from` (`source` holds it alone) fine-tuned with the fine-tuned arm's recipe and
 * draws, with no records and no checkpoints; it gives back its last epoch's test evaluation.
 */
export function finetuneSpec(
  ctx: PhaseContext,
  restore: Uint8Array | null,
  source: Uint8Array | null,
  curve: { from: number } | null = null,
): Promise<PhaseSpec<ClassifierEvaluation | null>> {
  return classifierSpec(ctx, 'finetune', restore, source, curve);
}

async function classifierSpec(
  ctx: PhaseContext,
  phase: 'supervised' | 'finetune',
  restore: Uint8Array | null,
  source: Uint8Array | null,
  curve: { from: number } | null,
): Promise<PhaseSpec<ClassifierEvaluation | null>> {
  const { config: c, data, augments } = ctx;
  const f = c.finetune;
  const epochs = f.epochs;
  if (curve && epochs === 0) throw new ExperimentError(`the gain curve's fine-tuning needs at least one epoch (finetune.epochs is ${epochs}); set finetune.curveEvery to 0`);
  const keys = phaseKeys(c.seed, phase);
  const gen = new Generator(keys.init);
  const frozen = phase === 'finetune' && f.mode === 'linear';
  let model: ResNet;
  if (phase === 'finetune') {
    // The encoder's weights come from the BYOL checkpoint (or, resuming, from this phase's own checkpoint),
    // so its initialization is overwritten; only fc draws from this phase's generator.
    model = resnet18({ numClasses: null, smallStem: c.stem === 'small', width: c.width, generator: new Generator(0) });
    model.setModule('fc', new Linear(model.featureDim, data.numClasses, { generator: gen }));
    if (!restore) {
      if (!source) throw new Error('fine-tuning needs the BYOL checkpoint');
      loadOnlineEncoder(model, source, curve ? '' : 'online.encoder.');
      if (f.headInit === 'probe') await probeHead(ctx, model, curve ? curve.from : c.byol.epochs);
    }
    if (frozen) {
      model.requiresGrad(false);
      model.fc.requiresGrad(true);
    }
  } else {
    model = resnet18({ numClasses: data.numClasses, smallStem: c.stem === 'small', width: c.width, generator: gen });
  }
  flattenParameters(model);
  const baseLr = phase === 'finetune' ? f.lr * f.pretrainedLrScale : f.lr;
  const opt = makeOptimizer(f.optimizer, model, baseLr, f.weightDecay, f.momentum);
  if (restore) loadCheckpoint(restore, { model, optimizer: opt }, 'checkpoint');
  const labeled = data.labeled;
  const steps = Math.ceil(labeled.length / c.batch);
  const totalSteps = epochs * steps;
  const perImage = labeled.channels * labeled.height * labeled.width;
  const name = curve ? `finetune from BYOL epoch ${curve.from}` : phase;
  const trainStep = classifierStep(model, opt, {
    name: `${phase} step`,
    prepare: (pixels, at) => {
      const shape = { n: Math.floor((pixels.size * 4) / perImage), c: labeled.channels, h: labeled.height, w: labeled.width };
      const [x] = augments.train.apply(pixels, shape, () => augments.train.drawBatch(shape, at.value, keys.views));
      return x!;
    },
  });
  let lr = 0;
  let last: ClassifierEvaluation | null = null;
  /** The test accuracy and loss, batch-norm statistics re-estimated first (a frozen encoder keeps BYOL's). */
  const test = async (): Promise<ClassifierEvaluation> => {
    if (!frozen) await recomputeBatchNorm(model, labeled, augments.eval, c.batch);
    return evaluateClassifier(model, data.test, augments.eval, c.batch);
  };
  const pct = (v: number): string => (100 * v).toFixed(2);
  return {
    phase,
    name,
    epochs,
    steps,
    model,
    optimizer: opt,
    saves: !curve,
    train() {
      model.train(true);
      if (frozen) {
        model.train(false);
        model.fc.train(true);
      }
    },
    async *batches(epoch: number): AsyncGenerator<Batch> {
      const loader = new BatchLoader(labeled, { batchSize: c.batch, seed: keys.order, shuffle: true, dropLast: false });
      for await (const b of loader.epoch(epoch)) if (b.indices.length >= 2) yield b; // batch norm needs two samples
    },
    step(batch: Batch, step: number): Tensor {
      lr = warmupCosine(step, { baseLr, warmupSteps: f.warmupEpochs * steps, totalSteps });
      const gb = uploadBatch(batch);
      return trainStep.run([gb.pixels, gb.labels], { lr, step });
    },
    async evaluate(e): Promise<MetricRecord | null> {
      const speed = `${e.imagesPerSecond.toFixed(1)} images/s`;
      if (curve) {
        if (e.epoch + 1 < epochs) return null;
        last = await test();
        await e.check({ 'the test loss': last.loss }, model);
        ctx.io.log(`${name}, ${epochs} epochs: train loss ${e.trainLoss.toFixed(4)}, test accuracy ${pct(last.accuracy)}% (loss ${last.loss.toFixed(3)}), ${speed}`);
        return null;
      }
      const timing = { lr, imagesPerSecond: e.imagesPerSecond, seconds: e.seconds };
      if (!evaluatesAfter(e.epoch + 1, epochs, f.evaluations)) {
        ctx.io.log(`${e.label}: train loss ${e.trainLoss.toFixed(4)}, ${speed}`);
        return { phase, epoch: e.epoch + 1, trainLoss: e.trainLoss, ...timing };
      }
      const ev = await test();
      await e.check({ 'the test loss': ev.loss }, model);
      ctx.io.log(`${e.label}: train loss ${e.trainLoss.toFixed(4)}, test accuracy ${pct(ev.accuracy)}% (loss ${ev.loss.toFixed(3)}), ${speed}`);
      return { phase, epoch: e.epoch + 1, trainLoss: e.trainLoss, testLoss: ev.loss, testAccuracy: ev.accuracy, ...timing };
    },
    async finish(): Promise<ClassifierEvaluation | null> {
      if (curve) return last;
      // The trained network alone, with torchvision's names (loads into resnet18 with fc = Linear(512, k)).
      await ctx.io.saveCheckpoint(`${phase === 'supervised' ? 'supervised' : 'finetuned'}-resnet18.safetensors`, await encodeCheckpoint({ model }));
      return null;
    },
    dispose() {
      trainStep.dispose();
      opt.dispose();
      model.dispose();
    },
  };
}

/** Loads the encoder of a checkpoint (its names under `prefix`) into a ResNet whose fc is left as it is. */
function loadOnlineEncoder(model: ResNet, bytes: Uint8Array, prefix: string): void {
  const { tensors } = decodeSafetensors(bytes, 'BYOL checkpoint');
  const encoder = new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const { missing, unexpected } = loadModelState(model, encoder, { strict: false });
  const absent = missing.filter((k) => !k.startsWith('fc.'));
  if (absent.length || unexpected.length) {
    throw new ExperimentError(`the BYOL checkpoint does not hold this encoder (missing ${absent.join(', ') || 'nothing'}; unexpected ${unexpected.join(', ') || 'nothing'})`);
  }
}

/**
 * Sets fc of a network holding the pretrained encoder (that of BYOL epoch `from`) to the linear probe of its
 * frozen features (fitted on the labeled images), so fine-tuning starts from a head that already reads the
 * features instead of a random one whose first gradients would scramble them. The features are taken with
 * batch-norm statistics re-estimated on the labeled images, as the fine-tuning's training steps will see them
 * (BYOL's running statistics describe its heavily augmented views). The BYOL phase's evaluation of epoch
 * `from` fitted this very probe (the same weights, statistics re-estimated the same way, the same features:
 * test/byol-train/probe-reuse.test.ts checks that the two agree bit for bit), so when the run still holds it,
 * it is taken instead of fitted again.
 */
async function probeHead(ctx: PhaseContext, model: ResNet, from: number): Promise<void> {
  const { config, data, augments } = ctx;
  await recomputeBatchNorm(model, data.labeled, augments.eval, config.batch);
  const held = ctx.encoderProbe?.epoch === from ? ctx.encoderProbe.probe : null;
  const probe = held ?? (await evaluateEncoder(model, data, augments.eval, config, { knn: false, batchNorm: 'as-is' })).probe;
  const fc = model.fc as Linear;
  const w = Float32Array.from(probe.weight);
  const b = Float32Array.from(probe.bias);
  loadModelState(
    model,
    new Map([
      ['fc.weight', { dtype: 'F32', shape: [...fc.weight.shape], data: w }],
      ['fc.bias', { dtype: 'F32', shape: [b.length], data: b }],
    ]),
    { strict: false },
  );
  ctx.io.log(`finetune: fc starts as the linear probe of the pretrained encoder (test accuracy ${(100 * probe.accuracy).toFixed(2)}%, λ ${probe.lambda})`);
}
