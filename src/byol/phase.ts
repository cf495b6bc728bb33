/**
 * The loop every phase of the experiment runs ({@link runPhase}): its epochs and steps, the progress events and
 * the stop request between steps, the checks that an epoch ended finite, and the records and checkpoints of
 * finished epochs. What a phase trains and how it evaluates an epoch is its {@link PhaseSpec}
 * (src/byol/classifier-phase.ts, src/byol/byol-phase.ts).
 */
import { concatKernel } from '../kernels/copy.js';
import { getRuntime, scope, keep } from '../tensor/engine.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../nn/optim.js';
import type { Batch } from '../data/loader.js';
import type { ByolAugment } from './augment.js';
import type { ExperimentConfig } from './config.js';
import { findDivergence } from './divergence.js';
import type { ExperimentData } from './experiment-data.js';
import { NonFiniteLossError, type MetricRecord, type Phase } from './experiment-state.js';
import type { ProbeResult } from './probe.js';

/** Where a phase is: after step `step` of `steps` of epoch `epoch` of `epochs` (1-based). */
export interface ProgressEvent {
  phase: Phase;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  imagesPerSecond: number;
}

/** Files, progress and logging of a run, as its environment provides them (Node's command, the demo page). */
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

/** The augmentations of a run: the unaugmented images of every evaluation, the classifier's training view, BYOL's two views. */
export interface RunAugments {
  eval: ByolAugment;
  train: ByolAugment;
  byol: ByolAugment;
}

/** What a phase works with: the run's settings, data, IO and augmentations, and the run's record. */
export interface PhaseContext {
  readonly config: ExperimentConfig;
  readonly data: ExperimentData;
  readonly io: ExperimentIO;
  readonly augments: RunAugments;
  /** The end of every divergence message of `phase`: what the checkpoint keeps and how to continue. */
  advice(phase: Phase): string;
  /** Whether the run has a record of `phase`'s epoch `epoch`. */
  recorded(phase: Phase, epoch: number): boolean;
  /** Adds a record to the run's metrics (persisted with the next checkpoint). */
  record(r: MetricRecord): void;
  /** Writes the resume checkpoint: `model` and `optimizer` after `epochsDone` epochs of `phase`, and the metrics. */
  checkpoint(model: Module, optimizer: Optimizer, phase: Phase, epochsDone: number): Promise<void>;
  /**
   * The linear probe of the BYOL encoder as the BYOL phase's last evaluation fitted it, with the BYOL epoch
   * (1-based) after which it did; null before the first (and in a process that resumed after BYOL). A
   * fine-tuning of that epoch's encoder starts its head from it instead of fitting the same probe again.
   */
  encoderProbe: { epoch: number; probe: ProbeResult } | null;
}

/** An epoch after its last step, its weights and optimizer state checked finite: what its evaluation gets. */
export interface TrainedEpoch {
  /** The epoch, 0-based. */
  epoch: number;
  /** The epoch as progress lines and errors name it: "byol epoch 2/3". */
  label: string;
  /** The mean training loss of its steps. */
  trainLoss: number;
  seconds: number;
  imagesPerSecond: number;
  /**
   * Stops the run before the epoch is recorded or saved (a {@link NonFiniteLossError}, with the phase's advice)
   * when one of `losses` (named as a sentence would name them) is not finite or `model` holds NaN or ±Infinity.
   */
  check(losses: Record<string, number>, model?: Module | null): Promise<void>;
}

/** A phase as {@link runPhase} runs it. */
export interface PhaseSpec<R> {
  readonly phase: Phase;
  /** The phase as progress lines and errors name it: "byol", "finetune from BYOL epoch 2". */
  readonly name: string;
  readonly epochs: number;
  /** Steps per epoch, as progress events and errors count them. */
  readonly steps: number;
  /** What is checked finite after every epoch and saved in the checkpoint. */
  readonly model: Module;
  readonly optimizer: Optimizer;
  /** Whether finished epochs are recorded and checkpointed (not for the gain curve's fine-tunings). */
  readonly saves: boolean;
  /** Before the first epoch, which is `startEpoch` (0-based). */
  begin?(startEpoch: number): Promise<void>;
  /** Sets the networks' modes for an epoch's training. */
  train(): void;
  /** The batches of epoch `epoch` (0-based), one step each. */
  batches(epoch: number): AsyncIterable<Batch>;
  /** Global step `step` on `batch`, inside a scope: uploads it and returns the loss. */
  step(batch: Batch, step: number): Tensor;
  /** Evaluates and logs a trained epoch; returns its record (null: none), or 'stopped' when the run was asked to stop. */
  evaluate(epoch: TrainedEpoch): Promise<MetricRecord | null | 'stopped'>;
  /** After the last epoch: writes the phase's network, or returns what the phase gives back. */
  finish(): Promise<R>;
  /** Frees the phase's networks, optimizer and step. */
  dispose(): void;
}

/** How a phase ended: asked to stop between steps, or finished with its result. */
export type PhaseEnd<R> = { stopped: true } | { stopped: false; result: R };

/**
 * Runs `spec` from epoch `startEpoch` (0-based) to its last, then frees it. After every step: a progress event,
 * then the stop request (the epoch is left unsaved, to be trained again on resume). After every epoch: the loss,
 * the weights and optimizer state checked finite, the spec's evaluation, then (if the spec saves) the epoch's
 * record and the checkpoint. A phase with no epoch left to train still writes its checkpoint, so that the next
 * phase starts from it.
 */
export async function runPhase<R>(spec: PhaseSpec<R>, ctx: PhaseContext, startEpoch: number): Promise<PhaseEnd<R>> {
  const { phase, epochs, steps } = spec;
  try {
    await spec.begin?.(startEpoch);
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      spec.train();
      const label = `${spec.name} epoch ${epoch + 1}/${epochs}`;
      const t0 = Date.now();
      let seen = 0;
      let step = epoch * steps;
      const losses = new LossTracker(label, epoch * steps, steps, ctx.advice(phase));
      for await (const batch of spec.batches(epoch)) {
        const loss = scope(() => spec.step(batch, step));
        await losses.push(loss, step);
        seen += batch.indices.length;
        step++;
        await getRuntime().sync();
        ctx.io.progress?.({ phase, epoch: epoch + 1, epochs, step: step - epoch * steps, steps, imagesPerSecond: seen / ((Date.now() - t0) / 1000) });
        if (ctx.io.shouldStop?.()) {
          losses.dispose();
          return { stopped: true };
        }
      }
      const trainLoss = await losses.mean();
      const seconds = (Date.now() - t0) / 1000;
      const check = async (model: Module | null, optimizer: Optimizer | null, values: Record<string, number> = {}): Promise<void> => {
        const problem = await findDivergence(model, optimizer, values);
        if (problem) throw new NonFiniteLossError(`${label}: training diverged by step ${steps}/${steps}, though its loss stayed finite: ${problem}. ${ctx.advice(phase)}`);
      };
      await check(spec.model, spec.optimizer);
      const record = await spec.evaluate({ epoch, label, trainLoss, seconds, imagesPerSecond: seen / seconds, check: (values, model = null) => check(model, null, values) });
      if (record === 'stopped') return { stopped: true };
      if (record && spec.saves) {
        ctx.record(record);
        await ctx.checkpoint(spec.model, spec.optimizer, phase, epoch + 1);
      }
    }
    if (spec.saves && (epochs === 0 || startEpoch >= epochs)) await ctx.checkpoint(spec.model, spec.optimizer, phase, epochs);
    return { stopped: false, result: await spec.finish() };
  } finally {
    spec.dispose();
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
