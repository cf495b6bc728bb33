/**
 * BYOL's training step, written once for the experiment, the benchmark and the demo page: the two augmented
 * views of a packed uint8 batch, the symmetric loss of the online network against the target, backward, the
 * optimizer step and the target's EMA update, as a captured step (recorded on its second call, replayed
 * after; src/tensor/capture.ts), or eager throughout with `replay: false`.
 */
import { backward } from '../autograd/tape.js';
import type { Optimizer } from '../nn/optim.js';
import { captureStep, type CapturedStep } from '../capture/capture.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ByolAugment, ImageShape } from './augment.js';
import type { Byol } from './model.js';

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
