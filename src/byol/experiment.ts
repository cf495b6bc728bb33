/**
 * The semi-supervised experiment, end to end and resumable:
 *   1. supervised baseline: ResNet-18 from scratch on the labeled split only (src/byol/classifier-phase.ts);
 *   2. BYOL pretraining on the unlabeled pool, with the BYOL loss on a held-out part of the pool and on the
 *      test split, and the kNN monitor of the encoder after every epoch and before the first
 *      (src/byol/byol-phase.ts);
 *   3. fine-tuning: a copy of the online encoder with fc → Linear(512, classes), trained with the same recipe
 *      as the baseline (fully, or frozen as a linear probe).
 *
 * Every random choice is keyed by the seed: initializations by (seed, phase), loader orders by (seed, phase,
 * epoch), augmentations by (seed, phase, step, sample) (phaseKeys in src/byol/experiment-state.ts). Each phase
 * runs through one loop (runPhase in src/byol/phase.ts), which writes the whole state (models, optimizer,
 * metrics so far) as one checkpoint after every epoch, so a run killed at any point resumes at the last
 * finished epoch and then produces the metrics an uninterrupted run would. This file sequences the phases and
 * resumes them.
 *
 * Environment-free: files, progress bars and logging come through ExperimentIO (src/cli/train-byol.ts gives
 * the Node one; the demo page its own).
 */
import { encodeCheckpoint } from '../nn/checkpoint.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../nn/optim.js';
import { ByolAugment, IDENTITY_VIEW } from './augment.js';
import { byolSpec, byolViews } from './byol-phase.js';
import { CLASSIFIER_VIEW, finetuneSpec, supervisedSpec } from './classifier-phase.js';
import type { ExperimentConfig } from './config.js';
import { resumeAdvice } from './divergence.js';
import type { ExperimentData } from './experiment-data.js';
import { PHASES, RESUME_CHECKPOINT, readExperimentState, stateMetadata, type ExperimentState, type Phase } from './experiment-state.js';
import { runPhase, type ExperimentIO, type PhaseContext, type PhaseSpec } from './phase.js';

export { ExperimentError, NonFiniteLossError, PHASES, readExperimentState, type ExperimentState, type MetricRecord, type Phase } from './experiment-state.js';
export { prepareData, type ExperimentData } from './experiment-data.js';
export type { ExperimentIO, ProgressEvent } from './phase.js';

/** How a run ended: its state, how long it took, and whether it was asked to stop before the end. */
export interface ExperimentResult {
  state: ExperimentState;
  durationSeconds: number;
  stopped: boolean;
}

/** One run of the experiment on prepared data; {@link Experiment.run} runs or resumes it. */
export class Experiment {
  private state!: ExperimentState;
  /** The bytes of the last checkpoint written: the source of the next phase (fine-tuning reads BYOL's). */
  private lastCheckpoint: Uint8Array | null = null;
  /** What the phases work with: this run's settings, data, IO and augmentations, and its record. */
  private readonly context: PhaseContext;

  constructor(
    readonly config: ExperimentConfig,
    readonly data: ExperimentData,
    readonly io: ExperimentIO,
  ) {
    const size = config.imageSize;
    this.context = {
      config,
      data,
      io,
      augments: {
        eval: new ByolAugment({ size, views: [IDENTITY_VIEW] }, data.stats),
        train: new ByolAugment({ size, views: [CLASSIFIER_VIEW] }, data.stats),
        byol: new ByolAugment({ size, views: byolViews(config) }, data.stats),
      },
      advice: (phase) => resumeAdvice(this.config, phase, this.state),
      recorded: (phase, epoch) => this.state.metrics.some((m) => m.phase === phase && m.epoch === epoch),
      record: (r) => void this.state.metrics.push(r),
      checkpoint: (model, optimizer, phase, epochsDone) => this.checkpoint(model, optimizer, phase, epochsDone),
      encoderProbe: null,
    };
  }

  /**
   * Runs (or resumes, with `resume`) every phase; returns the final state. A classifier phase of zero epochs
   * (finetune.epochs 0, as on the demo page) trains nothing, so it builds no network, fits no probe and writes
   * no checkpoint: the last one written resumes the run as well.
   */
  async run(resume = false): Promise<ExperimentResult> {
    const started = Date.now();
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
      if (phase !== 'byol' && this.config.finetune.epochs === 0) continue;
      const restore = i === at ? carry : null;
      const spec: PhaseSpec<unknown> =
        phase === 'supervised' ? await supervisedSpec(this.context, restore) : phase === 'byol' ? await byolSpec(this.context, restore) : await finetuneSpec(this.context, restore, carry);
      const end = await runPhase(spec, this.context, i === at ? this.state.epochsDone : 0);
      if (end.stopped) return { state: this.state, durationSeconds: (Date.now() - started) / 1000, stopped: true };
      carry = this.lastCheckpoint;
    }
    return { state: this.state, durationSeconds: (Date.now() - started) / 1000, stopped: false };
  }

  /** Writes the resume checkpoint: `model` and `optimizer` after `epochsDone` epochs of `phase`, then the metrics. */
  private async checkpoint(model: Module, optimizer: Optimizer, phase: Phase, epochsDone: number): Promise<void> {
    this.state = { ...this.state, phase, epochsDone };
    const bytes = await encodeCheckpoint({ model, optimizer, metadata: stateMetadata(this.state) });
    await this.io.saveCheckpoint(RESUME_CHECKPOINT, bytes);
    this.lastCheckpoint = bytes;
    await this.io.metrics(this.state.metrics);
  }

  /** The state of the resume checkpoint `bytes`, checked against this run's settings; names changed learning rates. */
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
}
