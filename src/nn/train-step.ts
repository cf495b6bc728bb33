/**
 * The training step of a classifier, written once for every loop that trains one (the experiment's
 * supervised and fine-tuning arms, the benchmark, the demo page), as a captured step: recorded on its second
 * call and replayed after (src/tensor/capture.ts), or eager throughout with `replay: false`.
 */
import { crossEntropy } from '../autograd/nn.js';
import { backward } from '../autograd/tape.js';
import { captureStep, type CapturedStep, type StepValue } from '../capture/capture.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';
import type { Optimizer } from './optim.js';

/** Options of {@link classifierStep}. */
export interface ClassifierStepOptions {
  /** Turns the step's first input into the network's input (e.g. an augmentation of packed pixels). */
  prepare?: (input: Tensor, step: StepValue) => Tensor;
  /** false: every call eager. Default true. */
  replay?: boolean;
  /** false: replays encode their commands on the step's path, not ahead (CaptureOptions.ahead). Default true. */
  ahead?: boolean;
  /** A name for errors and profiles. Default 'classifier step'. */
  name?: string;
}

/**
 * A classifier's training step, captured (see {@link captureStep}): zeroGrad, forward, cross-entropy,
 * backward, optimizer step. `run([input, labels], { lr, step })` returns the loss (overwritten by the next
 * replay: read or copy it first); `lr` goes to the optimizer (its own rate when omitted), `step` to `prepare`.
 */
export function classifierStep(model: Module, opt: Optimizer, options: ClassifierStepOptions = {}): CapturedStep<Tensor> {
  const { prepare } = options;
  return captureStep(
    ([input, labels], { lr, step }) => {
      const x = prepare ? prepare(input!, step!) : input!;
      opt.zeroGrad();
      const logits = model.forward(x);
      const loss = crossEntropy(logits, labels!);
      logits.dispose();
      backward(loss);
      opt.step(lr);
      return loss;
    },
    { name: options.name ?? 'classifier step', replay: options.replay, ahead: options.ahead, key: () => model.modeKey() },
  );
}
