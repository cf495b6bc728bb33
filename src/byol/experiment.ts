/**
 * The semi-supervised experiment, end to end and resumable:
 *   1. supervised baseline: ResNet-18 from scratch on the labeled split only;
 *   2. BYOL pretraining on the unlabeled pool, with the BYOL loss on a held-out part of the pool and on the
 *      test split, and the kNN monitor of the encoder after every epoch (and before the first);
 *   3. fine-tuning: a copy of the online encoder with fc → Linear(512, classes), trained with the same recipe
 *      as the baseline (fully, or frozen as a linear probe).
 *
 * Every random choice is keyed by the seed: initializations by (seed, phase), loader orders by (seed, phase,
 * epoch), augmentations by (seed, phase, step, sample). After every epoch the whole state (models, optimizer,
 * metrics so far) is written as one checkpoint, so a run killed at any point resumes at the last finished
 * epoch and then produces the metrics an uninterrupted run would.
 *
 * Environment-free: files, progress bars and logging come through ExperimentIO (src/cli/train-byol.ts gives
 * the Node one; the demo page its own).
 */
import { concatKernel } from '../kernels/copy.js';
import { Generator } from '../kernels/creation.js';
import { getRuntime, scope, keep } from '../tensor/engine.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { classifierStep } from '../nn/train-step.js';
import { byolStep } from './step.js';
import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { resnet18, type ResNet } from '../nn/resnet.js';
import { flattenParameters } from '../nn/flat.js';
import { AdamW, LARS, SGD, type Optimizer } from '../nn/optim.js';
import { warmupCosine, byolTau } from '../nn/schedule.js';
import { encodeCheckpoint, loadCheckpoint, loadModelState } from '../nn/checkpoint.js';
import { decodeSafetensors } from '../nn/safetensors.js';
import type { ImageDataset } from '../data/dataset.js';
import { BatchLoader, type Batch } from '../data/loader.js';
import { uploadBatch } from '../data/gpu-batch.js';
import { ByolAugment, BYOL_VIEW_1, BYOL_VIEW_2, IDENTITY_VIEW, type ViewConfig } from './augment.js';
import { Byol, ByolState } from './model.js';
import type { ExperimentConfig } from './config.js';
import { findDivergence, resumeAdvice } from './divergence.js';
import { byolEvalLoss, evaluateClassifier, evaluateEncoder, recomputeBatchNorm } from './evaluation.js';
import { byolLossImages, type ExperimentData } from './experiment-data.js';
import { ExperimentError, NonFiniteLossError, PHASES, RESUME_CHECKPOINT, phaseKeys, readExperimentState, stateMetadata, type ExperimentState, type MetricRecord, type Phase } from './experiment-state.js';

export { ExperimentError, NonFiniteLossError, PHASES, readExperimentState, type ExperimentState, type MetricRecord, type Phase } from './experiment-state.js';
export { prepareData, type ExperimentData } from './experiment-data.js';

export interface ProgressEvent {
  phase: Phase;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  imagesPerSecond: number;
}

export interface ExperimentIO {
  /** Where a file of the run is, for messages (a path in Node); default: its name. */
  where?(name: string): string;
  log(line: string): void;
  progress?(e: ProgressEvent): void;
  /** Writes the resume checkpoint atomically (a temporary file, then rename). */
  saveCheckpoint(name: string, bytes: Uint8Array): Promise<void>;
  loadCheckpoint(name: string): Promise<Uint8Array | null>;
  /** Called after every epoch with every record so far. */
  metrics(records: readonly MetricRecord[]): Promise<void>;
  /** Asked between steps: stop after the current step (the demo's pause button). */
  shouldStop?(): boolean;
}

export interface ExperimentResult {
  state: ExperimentState;
  durationSeconds: number;
  stopped: boolean;
}

/** The supervised recipe's training view: random resized crop and flip, no colour changes. */
export const CLASSIFIER_VIEW: ViewConfig = Object.freeze({ ...IDENTITY_VIEW, crop: { scale: [0.25, 1] as const, ratio: [3 / 4, 4 / 3] as const }, flipP: 0.5 });

/** BYOL's two views (the paper's τ and τ′) with the config's crop scale and blur. */
export function byolViews(config: Pick<ExperimentConfig, 'byol'>): ViewConfig[] {
  const { cropMinScale, blur } = config.byol;
  return [BYOL_VIEW_1, BYOL_VIEW_2].map((v) => ({
    ...v,
    crop: { ratio: v.crop?.ratio ?? ([3 / 4, 4 / 3] as const), scale: [cropMinScale, 1] as const },
    blur: blur ? v.blur : { ...v.blur, p: 0 },
  }));
}

/** Whether an arm of `epochs` epochs evaluates on the test images after epoch `epoch` (1-based). */
export function evaluatesAfter(epoch: number, epochs: number, evaluations: number): boolean {
  if (epoch >= epochs) return true;
  const every = Math.max(1, Math.ceil(epochs / Math.max(1, evaluations)));
  return epoch % every === 0;
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

function shapeOf(ds: ImageDataset, n: number): { n: number; c: number; h: number; w: number } {
  return { n, c: ds.channels, h: ds.height, w: ds.width };
}

async function* batches(ds: ImageDataset, batch: number, seed: number, epoch: number, shuffle: boolean): AsyncGenerator<Batch> {
  const loader = new BatchLoader(ds, { batchSize: batch, seed, shuffle, dropLast: false });
  for await (const b of loader.epoch(epoch)) yield b;
}

function makeOptimizer(kind: string, model: Module, lr: number, weightDecay: number, momentum = 0.9): Optimizer {
  switch (kind) {
    case 'lars':
      return new LARS(model, { lr, momentum, weightDecay });
    case 'adamw':
      return new AdamW(model, { lr, weightDecay });
    case 'sgd':
      return new SGD(model, { lr, momentum, weightDecay, nesterov: true });
    default:
      throw new Error(`unknown optimizer '${kind}': use lars, adamw or sgd`);
  }
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

export class Experiment {
  private state!: ExperimentState;
  private readonly evalPrep: ByolAugment;
  private readonly trainPrep: ByolAugment;
  private readonly byolAug: ByolAugment;
  private started = 0;

  constructor(
    readonly config: ExperimentConfig,
    readonly data: ExperimentData,
    readonly io: ExperimentIO,
  ) {
    const size = config.imageSize;
    this.evalPrep = new ByolAugment({ size, views: [IDENTITY_VIEW] }, data.stats);
    this.trainPrep = new ByolAugment({ size, views: [CLASSIFIER_VIEW] }, data.stats);
    this.byolAug = new ByolAugment({ size, views: byolViews(config) }, data.stats);
  }

  /** Runs (or resumes, with `resume`) every phase; returns the final state. */
  async run(resume = false): Promise<ExperimentResult> {
    this.started = Date.now();
    let bytes: Uint8Array | null = null;
    if (resume) {
      bytes = await this.io.loadCheckpoint(RESUME_CHECKPOINT);
      if (bytes) {
        this.state = this.readState(bytes);
        this.io.log(`resuming: ${this.state.phase} has ${this.state.epochsDone} finished epoch(s)`);
      } else this.io.log('no checkpoint to resume from: starting from the beginning');
    }
    if (!bytes) this.state = { version: 1, config: this.config, phase: 'supervised', epochsDone: 0, metrics: [] };
    const at = PHASES.indexOf(this.state.phase);
    let carry: Uint8Array | null = bytes;
    for (let i = at; i < PHASES.length; i++) {
      const phase = PHASES[i];
      const startEpoch = i === at ? this.state.epochsDone : 0;
      const restore = i === at ? carry : null;
      const stopped =
        phase === 'supervised'
          ? (await this.classifierPhase('supervised', startEpoch, restore, null)) === true
          : phase === 'byol'
            ? await this.byolPhase(startEpoch, restore)
            : (await this.classifierPhase('finetune', startEpoch, restore, carry)) === true;
      if (stopped) return { state: this.state, durationSeconds: (Date.now() - this.started) / 1000, stopped: true };
      carry = this.lastCheckpoint;
    }
    return { state: this.state, durationSeconds: (Date.now() - this.started) / 1000, stopped: false };
  }

  private lastCheckpoint: Uint8Array | null = null;

  private readState(bytes: Uint8Array): ExperimentState {
    const file = this.io.where?.(RESUME_CHECKPOINT) ?? RESUME_CHECKPOINT;
    const s = readExperimentState(bytes, this.config, file);
    for (const [what, before, now] of [
      ['BYOL learning rate', s.config.byol.lrPer256, this.config.byol.lrPer256],
      ['fine-tuning learning rate', s.config.finetune.lr, this.config.finetune.lr],
    ] as const) {
      if (before !== now) this.io.log(`resuming with a new ${what}: ${before} → ${now}`);
    }
    return { ...s, config: this.config };
  }

  private async checkpoint(model: Module, optimizer: Optimizer, phase: Phase, epochsDone: number): Promise<void> {
    this.state = { ...this.state, phase, epochsDone };
    const bytes = await encodeCheckpoint({ model, optimizer, metadata: stateMetadata(this.state) });
    await this.io.saveCheckpoint(RESUME_CHECKPOINT, bytes);
    this.lastCheckpoint = bytes;
    await this.io.metrics(this.state.metrics);
  }

  private record(r: MetricRecord): void {
    this.state.metrics.push(r);
  }

  /**
   * The supervised baseline, or fine-tuning of the pretrained encoder (from `source`, a BYOL checkpoint). With
   * `curve`, a fine-tuning of the encoder of BYOL epoch `curve.from` (`source` holds it alone) for the gain
   * curve: the fine-tuned arm's recipe and draws, no records and no checkpoints; its last evaluation is
   * returned instead.
   */
  private async classifierPhase(
    phase: 'supervised' | 'finetune',
    startEpoch: number,
    restore: Uint8Array | null,
    source: Uint8Array | null,
    curve: { from: number } | null = null,
  ): Promise<boolean | { accuracy: number; loss: number }> {
    const c = this.config;
    const f = c.finetune;
    const epochs = f.epochs;
    const gen = new Generator(phaseKeys(c.seed, phase).init);
    let model: ResNet;
    if (phase === 'finetune') {
      // The encoder's weights come from the BYOL checkpoint (or, resuming, from this phase's own checkpoint),
      // so its initialization is overwritten; only fc draws from this phase's generator.
      model = resnet18({ numClasses: null, smallStem: c.stem === 'small', width: c.width, generator: new Generator(0) });
      model.setModule('fc', new Linear(model.featureDim, this.data.numClasses, { generator: gen }));
      if (!restore) {
        if (!source) throw new Error('fine-tuning needs the BYOL checkpoint');
        loadOnlineEncoder(model, source, curve ? '' : 'online.encoder.');
        if (f.headInit === 'probe') await this.probeHead(model);
      }
      if (f.mode === 'linear') {
        model.requiresGrad(false);
        model.fc.requiresGrad(true);
      }
    } else {
      model = resnet18({ numClasses: this.data.numClasses, smallStem: c.stem === 'small', width: c.width, generator: gen });
    }
    flattenParameters(model);
    const baseLr = phase === 'finetune' ? f.lr * f.pretrainedLrScale : f.lr;
    const opt = new SGD(model, { lr: baseLr, momentum: f.momentum, weightDecay: f.weightDecay, nesterov: true });
    if (restore) loadCheckpoint(restore, { model, optimizer: opt }, 'checkpoint');
    const steps = Math.ceil(this.data.labeled.length / c.batch);
    const totalSteps = epochs * steps;
    const labeled = this.data.labeled;
    const prepSeed = phaseKeys(c.seed, phase).views;
    const perImage = labeled.channels * labeled.height * labeled.width;
    const name = curve ? `finetune from BYOL epoch ${curve.from}` : phase;
    let last: { accuracy: number; loss: number } | null = null;
    const trainStep = classifierStep(model, opt, {
      name: `${phase} step`,
      prepare: (pixels, at) => {
        const shape = shapeOf(labeled, Math.floor((pixels.size * 4) / perImage));
        const [x] = this.trainPrep.apply(pixels, shape, () => this.trainPrep.drawBatch(shape, at.value, prepSeed));
        return x!;
      },
    });
    try {
      for (let epoch = startEpoch; epoch < epochs; epoch++) {
        model.train(true);
        if (f.mode === 'linear' && phase === 'finetune') {
          model.train(false);
          model.fc.train(true);
        }
        const t0 = Date.now();
        let seen = 0;
        const losses = new LossTracker(`${name} epoch ${epoch + 1}/${epochs}`, epoch * steps, steps, this.advice(phase));
        let step = epoch * steps;
        let lr = 0;
        for await (const b of batches(this.data.labeled, c.batch, phaseKeys(c.seed, phase).order, epoch, true)) {
          if (b.indices.length < 2) continue; // batch norm needs two samples
          lr = warmupCosine(step, { baseLr, warmupSteps: f.warmupEpochs * steps, totalSteps });
          const loss = scope(() => {
            const gb = uploadBatch(b);
            return trainStep.run([gb.pixels, gb.labels], { lr, step });
          });
          await losses.push(loss, step);
          seen += b.indices.length;
          step++;
          await getRuntime().sync();
          this.io.progress?.({ phase, epoch: epoch + 1, epochs, step: step - epoch * steps, steps, imagesPerSecond: seen / ((Date.now() - t0) / 1000) });
          if (this.io.shouldStop?.()) {
            losses.dispose();
            return true;
          }
        }
        const trainLoss = await losses.mean();
        const seconds = (Date.now() - t0) / 1000;
        await this.assertFinite(phase, `${name} epoch ${epoch + 1}/${epochs}`, steps, model, opt);
        if (curve) {
          if (epoch + 1 < epochs) continue;
          if (f.mode !== 'linear') await recomputeBatchNorm(model, this.data.labeled, this.evalPrep, c.batch);
          last = await evaluateClassifier(model, this.data.test, this.evalPrep, c.batch);
          await this.assertFinite(phase, `${name} epoch ${epoch + 1}/${epochs}`, steps, model, null, { 'the test loss': last.loss });
          this.io.log(`${name}, ${epochs} epochs: train loss ${trainLoss.toFixed(4)}, test accuracy ${(100 * last.accuracy).toFixed(2)}% (loss ${last.loss.toFixed(3)}), ${(seen / seconds).toFixed(1)} images/s`);
          continue;
        }
        if (evaluatesAfter(epoch + 1, epochs, f.evaluations)) {
          if (!(f.mode === 'linear' && phase === 'finetune')) await recomputeBatchNorm(model, this.data.labeled, this.evalPrep, c.batch);
          const ev = await evaluateClassifier(model, this.data.test, this.evalPrep, c.batch);
          await this.assertFinite(phase, `${phase} epoch ${epoch + 1}/${epochs}`, steps, model, null, { 'the test loss': ev.loss });
          this.record({ phase, epoch: epoch + 1, trainLoss, testLoss: ev.loss, testAccuracy: ev.accuracy, lr, imagesPerSecond: seen / seconds, seconds });
          this.io.log(
            `${phase} epoch ${epoch + 1}/${epochs}: train loss ${trainLoss.toFixed(4)}, test accuracy ${(100 * ev.accuracy).toFixed(2)}% (loss ${ev.loss.toFixed(3)}), ${(seen / seconds).toFixed(1)} images/s`,
          );
        } else {
          this.record({ phase, epoch: epoch + 1, trainLoss, lr, imagesPerSecond: seen / seconds, seconds });
          this.io.log(`${phase} epoch ${epoch + 1}/${epochs}: train loss ${trainLoss.toFixed(4)}, ${(seen / seconds).toFixed(1)} images/s`);
        }
        await this.checkpoint(model, opt, phase, epoch + 1);
      }
      if (curve) {
        if (!last) throw new ExperimentError(`the gain curve's fine-tuning needs at least one epoch (finetune.epochs is ${epochs}); set finetune.curveEvery to 0`);
        return last;
      }
      if (epochs === 0 || startEpoch >= epochs) await this.checkpoint(model, opt, phase, epochs);
      // The trained network alone, with torchvision's names (loads into resnet18 with fc = Linear(512, k)).
      await this.io.saveCheckpoint(`${phase === 'supervised' ? 'supervised' : 'finetuned'}-resnet18.safetensors`, await encodeCheckpoint({ model }));
    } finally {
      trainStep.dispose();
      opt.dispose();
      model.dispose();
    }
    return false;
  }

  /**
   * Sets fc of a network holding the pretrained encoder to the linear probe of its frozen features (fitted on
   * the labeled images), so fine-tuning starts from a head that already reads the features instead of a random
   * one whose first gradients would scramble them. The features are taken with batch-norm statistics
   * re-estimated on the labeled images, as the fine-tuning's training steps will see them (BYOL's running
   * statistics describe its heavily augmented views).
   */
  private async probeHead(model: ResNet): Promise<void> {
    await recomputeBatchNorm(model, this.data.labeled, this.evalPrep, this.config.batch);
    const { probe } = await evaluateEncoder(model, this.data, this.evalPrep, this.config, { knn: false, batchNorm: 'as-is' });
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
    this.io.log(`finetune: fc starts as the linear probe of the pretrained encoder (test accuracy ${(100 * probe.accuracy).toFixed(2)}%, λ ${probe.lambda})`);
  }

  /** BYOL pretraining. Epoch 0's record is the random encoder's linear probe and kNN accuracy. */
  private async byolPhase(startEpoch: number, restore: Uint8Array | null): Promise<boolean> {
    const c = this.config;
    const b = c.byol;
    const byol = Byol.create(c, phaseKeys(c.seed, 'byol').init);
    const lr = (b.lrPer256 * c.batch) / 256;
    const opt = makeOptimizer(b.optimizer, byol.online, lr, b.weightDecay);
    const state = new ByolState(byol);
    if (restore) loadCheckpoint(restore, { model: state, optimizer: opt }, 'checkpoint');
    const steps = Math.floor(this.data.pool.length / c.batch);
    const totalSteps = b.epochs * steps;
    const pool = this.data.pool;
    const trainStep = byolStep(byol, opt, this.byolAug, { c: pool.channels, h: pool.height, w: pool.width }, { seed: phaseKeys(c.seed, 'byol').views });
    try {
      if (startEpoch === 0 && !this.state.metrics.some((m) => m.phase === 'byol' && m.epoch === 0)) {
        const ev = await evaluateEncoder(byol.online.encoder, this.data, this.evalPrep, c);
        this.record({ phase: 'byol', epoch: 0, knnAccuracy: ev.knn, probeAccuracy: ev.probe.accuracy, probeLoss: ev.probe.loss });
        this.io.log(`byol: the random encoder: linear probe ${(100 * ev.probe.accuracy).toFixed(2)}%, kNN ${(100 * ev.knn).toFixed(2)}%`);
      }
      for (let epoch = startEpoch; epoch < b.epochs; epoch++) {
        byol.train(true);
        const t0 = Date.now();
        let seen = 0;
        let step = epoch * steps;
        const losses = new LossTracker(`byol epoch ${epoch + 1}/${b.epochs}`, epoch * steps, steps, this.advice('byol'));
        let rate = 0;
        let tau = 0;
        const loader = new BatchLoader(this.data.pool, { batchSize: c.batch, seed: phaseKeys(c.seed, 'byol').order, shuffle: true, dropLast: true });
        for await (const batch of loader.epoch(epoch)) {
          rate = warmupCosine(step, { baseLr: lr, warmupSteps: b.warmupEpochs * steps, totalSteps });
          tau = b.tauConstant ? b.tauBase : byolTau(step, totalSteps, b.tauBase);
          const loss = scope(() => {
            const gb = uploadBatch(batch);
            return trainStep.run([gb.pixels], { lr: rate, tau, step });
          });
          await losses.push(loss, step);
          seen += batch.indices.length;
          step++;
          await getRuntime().sync();
          this.io.progress?.({ phase: 'byol', epoch: epoch + 1, epochs: b.epochs, step: step - epoch * steps, steps, imagesPerSecond: seen / ((Date.now() - t0) / 1000) });
          if (this.io.shouldStop?.()) {
            losses.dispose();
            return true;
          }
        }
        const trainLoss = await losses.mean();
        const seconds = (Date.now() - t0) / 1000;
        await this.assertFinite('byol', `byol epoch ${epoch + 1}/${b.epochs}`, steps, state, opt);
        const heldOutLoss = await byolEvalLoss(byol, this.data.heldOut, this.byolAug, c.batch, phaseKeys(c.seed, 'byol').evalViews);
        const valLoss = await byolEvalLoss(byol, byolLossImages(this.data.test), this.byolAug, c.batch, phaseKeys(c.seed, 'byol').evalViews);
        await this.assertFinite('byol', `byol epoch ${epoch + 1}/${b.epochs}`, steps, null, null, {
          'the BYOL loss on the held-out images': heldOutLoss,
          'the BYOL loss on the test images': valLoss,
        });
        const ev = await evaluateEncoder(byol.online.encoder, this.data, this.evalPrep, c);
        this.io.log(
          `byol epoch ${epoch + 1}/${b.epochs}: loss ${trainLoss.toFixed(4)} (held out ${heldOutLoss.toFixed(4)}, test ${valLoss.toFixed(4)}), ` +
            `linear probe ${(100 * ev.probe.accuracy).toFixed(2)}%, kNN ${(100 * ev.knn).toFixed(2)}%, ${(seen / seconds).toFixed(1)} images/s`,
        );
        let finetuned: { accuracy: number; loss: number } | null = null;
        if (curvePointAfter(epoch + 1, b.epochs, steps * c.batch, c.finetune.curveEvery)) {
          // A point of the fine-tuned arm's gain curve. Run before this epoch's checkpoint: a run stopped or
          // killed during it resumes at this BYOL epoch and draws the same point.
          const encoder = await encodeCheckpoint({ model: byol.online.encoder });
          const r = await this.classifierPhase('finetune', 0, null, encoder, { from: epoch + 1 });
          if (r === true) {
            losses.dispose();
            return true;
          }
          if (r !== false) finetuned = r;
          byol.train(true);
        }
        this.record({
          phase: 'byol',
          epoch: epoch + 1,
          images: (epoch + 1) * steps * c.batch,
          trainLoss,
          heldOutLoss,
          valLoss,
          knnAccuracy: ev.knn,
          probeAccuracy: ev.probe.accuracy,
          probeLoss: ev.probe.loss,
          ...(finetuned ? { finetuneAccuracy: finetuned.accuracy, finetuneLoss: finetuned.loss } : {}),
          lr: rate,
          tau,
          imagesPerSecond: seen / seconds,
          seconds,
        });
        await this.checkpoint(state, opt, 'byol', epoch + 1);
      }
      if (b.epochs === 0 || startEpoch >= b.epochs) await this.checkpoint(state, opt, 'byol', b.epochs);
      // The pretrained encoder alone, with torchvision's names (loads into resnet18 with fc = Identity); the
      // settings in its metadata let `npm run embed` rebuild the run's splits and random encoder.
      await this.io.saveCheckpoint('byol-encoder.safetensors', await encodeCheckpoint({ model: byol.online.encoder, metadata: { 'byol.config': JSON.stringify(c) } }));
    } finally {
      trainStep.dispose();
      opt.dispose();
      byol.dispose();
    }
    return false;
  }

  /** The end of every divergence message of `phase`: what the checkpoint keeps and how to continue. */
  private advice(phase: Phase): string {
    return resumeAdvice(this.config, phase, this.state);
  }

  /**
   * Stops the run, before this epoch is recorded or saved, when `model` or `optimizer` holds NaN or
   * ±Infinity or one of `losses` is not finite (`epoch` as the progress lines name it, `steps` per epoch).
   */
  private async assertFinite(phase: Phase, epoch: string, steps: number, model: Module | null, optimizer: Optimizer | null, losses: Record<string, number> = {}): Promise<void> {
    const problem = await findDivergence(model, optimizer, losses);
    if (problem) {
      throw new NonFiniteLossError(`${epoch}: training diverged by step ${steps}/${steps}, though its loss stayed finite: ${problem}. ${this.advice(phase)}`);
    }
  }
}

/**
 * Collects per-step loss tensors and reads them back in groups (every `every` steps), so the loop does not
 * wait on the GPU each step; stops the run at the first non-finite value, naming its step.
 */
class LossTracker {
  private pending: { loss: Tensor; step: number }[] = [];
  private sum = 0;
  private count = 0;

  constructor(
    /** The epoch as the progress lines name it ("byol epoch 2/3"). */
    private readonly what: string,
    /** The global step of the epoch's first step, and the steps per epoch: errors count steps as the progress lines do. */
    private readonly firstStep: number,
    private readonly steps: number,
    /** What the checkpoint keeps and how to continue, for the error. */
    private readonly advice: string,
    private readonly every = 8,
  ) {}

  async push(loss: Tensor, step: number): Promise<void> {
    // A replayed step's loss lives in a buffer the next replay overwrites: keep a copy (a buffer copy, no dispatch).
    const own = keep(empty([1], 'float32', 'loss'));
    getRuntime().copy(loss.storage.buffer, loss.byteOffset, own.storage.buffer, 0, 4, 'loss.keep');
    loss.dispose();
    this.pending.push({ loss: own, step });
    if (this.pending.length >= this.every) await this.drain();
  }

  private async drain(): Promise<void> {
    if (!this.pending.length) return;
    const items = this.pending;
    this.pending = [];
    const flat = items.map((p) => p.loss.view([1]));
    const all = concatKernel(flat, 0);
    const values = (await all.data()) as Float32Array;
    for (const t of [all, ...flat, ...items.map((p) => p.loss)]) t.dispose();
    values.forEach((v, k) => {
      if (!Number.isFinite(v)) {
        throw new NonFiniteLossError(
          `${this.what}: the loss became ${v} at step ${items[k].step - this.firstStep + 1}/${this.steps}. Likely causes: a learning rate too high ` +
            `for this batch size, an unstable optimizer setting, or corrupt input images. ${this.advice}`,
        );
      }
      this.sum += v;
      this.count++;
    });
  }

  /** The mean over every step pushed; reads back what is pending. */
  async mean(): Promise<number> {
    await this.drain();
    return this.count ? this.sum / this.count : NaN;
  }

  dispose(): void {
    for (const p of this.pending) p.loss.dispose();
    this.pending = [];
  }
}
