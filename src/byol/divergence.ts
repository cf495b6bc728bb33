/**
 * When an epoch counts as finished: its weights, batch-norm statistics, optimizer state and evaluation
 * losses are all finite. BYOL's loss compares L2-normalized vectors, so it can stay finite while the weights
 * grow without bound and the running variances overflow; an epoch saved in that state could never be
 * resumed from, whatever the learning rate. The experiment checks the weights after each epoch's last step,
 * before evaluating them, and the evaluation losses before recording or saving the epoch; it stops with the
 * advice below, keeping the previous checkpoint.
 */
import { nonFiniteTensors } from '../nn/finite.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../nn/optim.js';
import { presetConfig, type ExperimentConfig } from './config.js';

/** How many tensor names a message lists before "and N more". */
const LISTED = 4;

/**
 * What is not finite, in words (null when everything is): the tensors of `model` and `optimizer` holding
 * NaN or ±Infinity, and each of `losses` (named as a sentence would name them) that is not a finite number.
 */
export async function findDivergence(model: Module | null, optimizer: Optimizer | null, losses: Readonly<Record<string, number>> = {}): Promise<string | null> {
  const parts: string[] = [];
  if (model) {
    const bad = await nonFiniteTensors(model, optimizer);
    if (bad.length) {
      const names = bad.slice(0, LISTED).map((t) => `${t.name} (${t.count})`);
      const more = bad.length > LISTED ? ` and ${bad.length - LISTED} more` : '';
      parts.push(`${bad.length} tensor${bad.length > 1 ? 's hold' : ' holds'} NaN or infinite values: ${names.join(', ')}${more}`);
    }
  }
  for (const [what, v] of Object.entries(losses)) if (!Number.isFinite(v)) parts.push(`${what} is ${v}`);
  return parts.length ? parts.join('; ') : null;
}

/** A learning rate to try after a divergence: the preset's own when the run's is above it, else a tenth. */
export function smallerRate(current: number, presetDefault: number): number {
  return Number((current > presetDefault ? presetDefault : current / 10).toPrecision(3));
}

/**
 * The end of a divergence message: what the checkpoint keeps (`kept`: its phase and finished epochs) and the
 * command line that continues from it with a smaller learning rate for `phase`.
 */
export function resumeAdvice(config: ExperimentConfig, phase: 'supervised' | 'byol' | 'finetune', kept: { phase: string; epochsDone: number }): string {
  const preset = presetConfig(config.preset);
  const [flag, rate] =
    phase === 'byol' ? ['--lr', smallerRate(config.byol.lrPer256, preset.byol.lrPer256)] : ['--finetune-lr', smallerRate(config.finetune.lr, preset.finetune.lr)];
  const total = kept.phase === 'byol' ? config.byol.epochs : config.finetune.epochs;
  const saved =
    kept.epochsDone > 0
      ? `the checkpoint keeps ${kept.phase} epoch ${kept.epochsDone}/${total}, the last finished one`
      : kept.phase === 'supervised'
        ? 'no epoch had finished yet'
        : `the checkpoint keeps the end of ${kept.phase}`;
  return `Training stopped; nothing of this epoch was saved, and ${saved}. To continue with a smaller learning rate, run the same command with --resume ${flag} ${rate}.`;
}
