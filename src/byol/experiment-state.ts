/**
 * The experiment's record: its phases and the keys of their random draws, the metrics of every epoch, and the
 * state a resume checkpoint carries, checked whole before a run continues from it.
 */
import { SafetensorsError, decodeSafetensors } from '../nn/safetensors.js';
import { deriveSeed } from '../data/prng.js';
import { settingDifferences, type ExperimentConfig } from './config.js';

/** One of the experiment's phases. */
export type Phase = 'supervised' | 'byol' | 'finetune';
/** The experiment's phases, in the order a run takes them. */
export const PHASES: readonly Phase[] = ['supervised', 'byol', 'finetune'];

/** The keys of a phase's random draws (see {@link phaseKeys}). */
export interface PhaseKeys {
  /** The initialization of the phase's networks (its generator's seed). */
  init: number;
  /** The loader's shuffles: epoch e's order is keyed by (order, e). */
  order: number;
  /** The training views: keyed by (views, step, sample). */
  views: number;
  /** BYOL's evaluation loss: the views of its k-th batch are keyed by (evalViews, k, sample). */
  evalViews: number;
}

/**
 * The keys of `phase`'s random draws under `seed`: (seed, phase's place in {@link PHASES} + 1), then 7 for the
 * loader, 11 for the training views and 13 for the views of BYOL's evaluation loss. The experiment, the demo
 * page's previews and the pictures of the random encoder all draw with these.
 */
export function phaseKeys(seed: number, phase: Phase): PhaseKeys {
  const p = PHASES.indexOf(phase) + 1;
  return { init: deriveSeed(seed, p), order: deriveSeed(seed, p, 7), views: deriveSeed(seed, p, 11), evalViews: deriveSeed(seed, p, 13) };
}

/** One line of metrics.jsonl: one epoch of one phase (epoch 0 of 'byol' is the random arm: see randomDraws). */
export interface MetricRecord {
  phase: Phase;
  epoch: number;
  trainLoss?: number;
  testLoss?: number;
  testAccuracy?: number;
  heldOutLoss?: number;
  valLoss?: number;
  knnAccuracy?: number;
  /** Linear probe of the frozen encoder (src/byol/probe.ts): test accuracy and mean test cross-entropy. */
  probeAccuracy?: number;
  probeLoss?: number;
  /** BYOL: images pretraining has seen by the end of this epoch. */
  images?: number;
  /**
   * BYOL, at the gain curve's points (finetune.curveEvery): test accuracy and cross-entropy of this epoch's
   * encoder fine-tuned with the fine-tuned arm's recipe (its last epoch).
   */
  finetuneAccuracy?: number;
  finetuneLoss?: number;
  /**
   * BYOL's epoch 0 (the random arm): each random encoder's own kNN accuracy, probe accuracy and probe loss;
   * knnAccuracy, probeAccuracy and probeLoss are their means (config.randomDraws).
   */
  randomDraws?: { knnAccuracy: number[]; probeAccuracy: number[]; probeLoss: number[] };
  lr?: number;
  tau?: number;
  imagesPerSecond?: number;
  seconds?: number;
}

/** What the experiment persists after every epoch, inside the checkpoint's metadata. */
export interface ExperimentState {
  version: 1;
  config: ExperimentConfig;
  /** The phase the checkpoint's models belong to, and how many of its epochs are finished. */
  phase: Phase;
  epochsDone: number;
  metrics: MetricRecord[];
}

/** A problem with the run's settings, data or checkpoint that the user can fix; the message says how. */
export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/**
 * Raised when the loss becomes NaN or infinite, or an epoch ends with weights, batch-norm statistics,
 * optimizer state or evaluation losses that are not finite; the last checkpoint is the last finished epoch's.
 */
export class NonFiniteLossError extends ExperimentError {
  override name = 'NonFiniteLossError';
}

/** The resume checkpoint's file name. */
export const RESUME_CHECKPOINT = 'checkpoint.safetensors';

/** The metadata key of the state in a resume checkpoint. */
const STATE_KEY = 'byol.state';

/** The metadata that carries `state` in a resume checkpoint. */
export function stateMetadata(state: ExperimentState): Record<string, string> {
  return { [STATE_KEY]: JSON.stringify(state) };
}

/**
 * The phase and finished epochs a checkpoint's bytes record, read as they are written, without checking them
 * against a config (the demo page's view of its in-memory checkpoints); null for a file that holds no
 * experiment state, such as a phase's network.
 */
export function savedProgress(bytes: Uint8Array): { phase: Phase; epochsDone: number } | null {
  const raw = decodeSafetensors(bytes, 'checkpoint').metadata[STATE_KEY];
  if (!raw) return null;
  const { phase, epochsDone } = JSON.parse(raw) as ExperimentState;
  return { phase, epochsDone };
}

const STATE_ADVICE = 'resume with the checkpoint of another run, or start afresh in another --out folder';

/**
 * The experiment state in a resume checkpoint's bytes, checked whole before anything runs from it: the file
 * decodes, the state is JSON of version 1, its phase is one of {@link PHASES}, its finished epochs lie
 * between 0 and the phase's epochs in `config`, and its metrics are records of known phases and epochs, none
 * twice and none past the state's epoch. Any problem is an `ExperimentError` naming `file` and what is wrong.
 */
export function readExperimentState(bytes: Uint8Array, config: ExperimentConfig, file: string): ExperimentState {
  let raw: string | undefined;
  try {
    raw = decodeSafetensors(bytes, file).metadata[STATE_KEY];
  } catch (e) {
    if (e instanceof SafetensorsError) throw new ExperimentError(`${file} is not a readable checkpoint (${e.message}); ${STATE_ADVICE}`);
    throw e;
  }
  if (!raw) throw new ExperimentError(`${file} holds no experiment state (was it written by another program?); ${STATE_ADVICE}`);
  let s: ExperimentState;
  try {
    s = JSON.parse(raw) as ExperimentState;
  } catch (e) {
    throw new ExperimentError(`${file}: its experiment state is not valid JSON (${(e as Error).message}); ${STATE_ADVICE}`);
  }
  const bad = (what: string): ExperimentError => new ExperimentError(`${file}: its experiment state ${what}; ${STATE_ADVICE}`);
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad('is not a JSON object');
  if (s.version !== 1) throw bad(`has version ${JSON.stringify(s.version)}, not 1`);
  if (typeof s.config !== 'object' || s.config === null || Array.isArray(s.config)) throw bad('holds no settings');
  // Learning rates may change on resume (the way out of a diverged run); anything else would make the
  // checkpoint's models and splits mean something else.
  const free = new Set(['preset', 'byol.lrPer256', 'finetune.lr']);
  const diff = settingDifferences(s.config, config).filter((d) => !free.has(d.path));
  if (diff.length) {
    const named = diff.map((d) => `${d.path}: ${JSON.stringify(d.before)} in the checkpoint, ${JSON.stringify(d.now)} now`);
    throw new ExperimentError(
      `the checkpoint was written with other settings (${named.join('; ')}); resume with the same flags (only --lr and --finetune-lr may change), or start afresh in another --out folder`,
    );
  }
  if (!PHASES.includes(s.phase)) throw bad(`names the phase ${JSON.stringify(s.phase)}, not one of ${PHASES.join(', ')}`);
  const epochsOf = (phase: Phase): number => (phase === 'byol' ? config.byol.epochs : config.finetune.epochs);
  if (!Number.isInteger(s.epochsDone) || s.epochsDone < 0 || s.epochsDone > epochsOf(s.phase)) {
    throw bad(`says ${JSON.stringify(s.epochsDone)} epochs of ${s.phase} are done, not a whole number from 0 to ${epochsOf(s.phase)}`);
  }
  if (!Array.isArray(s.metrics)) throw bad('holds no list of metrics');
  const seen = new Set<string>();
  const at = PHASES.indexOf(s.phase);
  for (const [k, r] of s.metrics.entries()) {
    const where = `metrics record ${k + 1}`;
    if (typeof r !== 'object' || r === null || !PHASES.includes(r.phase) || !Number.isInteger(r.epoch) || r.epoch < 0 || r.epoch > epochsOf(r.phase)) {
      throw bad(`has a ${where} of no known phase and epoch (${JSON.stringify(r).slice(0, 80)})`);
    }
    const p = PHASES.indexOf(r.phase);
    if (p > at || (p === at && r.epoch > s.epochsDone)) throw bad(`has a ${where} for ${r.phase} epoch ${r.epoch}, past the ${s.epochsDone} finished epoch(s) of ${s.phase}`);
    const key = `${r.phase}/${r.epoch}`;
    if (seen.has(key)) throw bad(`records ${r.phase} epoch ${r.epoch} twice`);
    seen.add(key);
  }
  return s;
}
