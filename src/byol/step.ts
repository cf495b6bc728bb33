/**
 * BYOL's training step, written once for the experiment, the benchmark and the demo page: the two augmented
 * views of a packed uint8 batch, the symmetric loss of the online network against the target, backward, the
 * optimizer step and the target's EMA update, as a captured step (recorded on its second call, replayed
 * after; src/capture/capture.ts), or eager throughout with `replay: false`. `byolTraining` assembles the whole
 * workload around it (model, optimizer, step) for every place that trains BYOL.
 */
import { backward } from '../autograd/tape.js';
import { makeOptimizer, type Optimizer } from '../nn/optim.js';
import { captureStep, type CapturedStep } from '../capture/capture.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ByolAugment, ImageShape } from './augment.js';
import type { ExperimentConfig } from './config.js';
import { Byol } from './model.js';

export interface ByolStepOptions {
  /** The seed of the augmentation draws (each step's draws are keyed by (seed, step, sample, view)). */
  seed: number;
  /** false: every call eager. Default true. */
  replay?: boolean;
  /** false: replays encode their commands on the step's path, not ahead (CaptureOptions.ahead). Default true. */
  ahead?: boolean;
}

/**
 * `run([pixels], { lr, tau, step })`: pixels are packed uint8 images of `image` (channels, height, width;
 * their count from the tensor's length); returns the loss, which the next replay overwrites.
 */
export function byolStep(
  byol: Byol,
  opt: Optimizer,
  augment: ByolAugment,
  image: Omit<ImageShape, 'n'>,
  options: ByolStepOptions,
): CapturedStep<Tensor> {
  const perImage = image.c * image.h * image.w;
  return captureStep(
    ([pixels], { lr, tau, step }) => {
      const n = Math.floor((pixels!.size * 4) / perImage);
      const [v1, v2] = augment.views(pixels!, { n, ...image }, step!, options.seed);
      opt.zeroGrad();
      const loss = byol.loss(v1, v2);
      backward(loss);
      opt.step(lr);
      byol.updateTarget(tau!);
      return loss;
    },
    { name: 'byol step', replay: options.replay, ahead: options.ahead, key: () => `${byol.online.modeKey()}/${byol.target.modeKey()}` },
  );
}

/** What {@link byolTraining} assembles around a configuration. */
export interface ByolTrainingOptions extends ByolStepOptions {
  /** The seed of the networks' initialization. */
  init: number;
  /** The augmentation of the step's two views (its owner disposes it). */
  augment: ByolAugment;
  /** The images' channels, height and width (their count comes from each batch). */
  image: Omit<ImageShape, 'n'>;
  /** The base learning rate; default the configuration's, `lrPer256 · batch / 256`. */
  lr?: number;
}

/** BYOL's training workload: the model, its optimizer, the captured step and the base learning rate. */
export interface ByolTraining {
  /** Online and target networks, in training mode. */
  byol: Byol;
  /** `config.byol.optimizer` over the online network. */
  opt: Optimizer;
  /** `run([pixels], { lr, tau, step })`, as {@link byolStep}. */
  step: CapturedStep<Tensor>;
  /** The base learning rate the optimizer was made with. */
  lr: number;
  /** Frees the step, the optimizer and the networks (not the augmentation). */
  dispose(): void;
}

/**
 * Assembles BYOL's training workload from a configuration, once for the experiment, the benchmark and the
 * demo page: `Byol.create(config, init)`, `config.byol.optimizer` at `lr` with the configuration's weight
 * decay, and {@link byolStep} over the augmentation.
 */
export function byolTraining(config: Pick<ExperimentConfig, 'stem' | 'width' | 'byol' | 'batch'>, options: ByolTrainingOptions): ByolTraining {
  const byol = Byol.create(config, options.init);
  byol.train(true);
  const lr = options.lr ?? (config.byol.lrPer256 * config.batch) / 256;
  const opt = makeOptimizer(config.byol.optimizer, byol.online, lr, config.byol.weightDecay);
  const step = byolStep(byol, opt, options.augment, options.image, options);
  return {
    byol,
    opt,
    step,
    lr,
    dispose: () => (step.dispose(), opt.dispose(), byol.dispose()),
  };
}
