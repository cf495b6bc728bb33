/**
 * Differentiable network ops: convolution, batch norm, pooling, losses and heads. Each runs its forward
 * kernel and records its backward rule (built from the kernels' gradient launchers) next to it, as ops.ts
 * does. Activations are NCHW. The float64 references live in nn-reference.ts.
 */
import {
  conv2dBackwardBias,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  conv2dBatchNormEval as conv2dBatchNormEvalKernel,
  conv2dForward,
  type Conv2dOptions,
  type ConvBatchNormEval,
} from '../kernels/conv2d.js';
import { batchNormBackward, batchNormForward, type BatchNormForwardOptions } from '../kernels/batchnorm.js';
import {
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
  type MaxPool2dOptions,
} from '../kernels/pool.js';
import {
  accuracyKernel,
  byolLossBackward,
  byolLossForward,
  crossEntropyBackward,
  crossEntropyForward,
  l2NormalizeBackward,
  l2NormalizeForward,
  type ByolPairing,
} from '../kernels/loss.js';
import { mean, square, sub } from './ops.js';
import { isGradEnabled, record, writableInto } from './tape.js';
import { shapeString, type Tensor } from '../tensor/tensor.js';

export type { Conv2dOptions, MaxPool2dOptions };

// ---------------------------------------------------------------------------------------------------------
// Convolution

/** conv2d(x [N, C_in, H, W], w [C_out, C_in, KH, KW], bias [C_out] | null) → [N, C_out, H_out, W_out]. */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  const out = conv2dForward(x, w, bias, options);
  const xShape = x.shape;
  const wShape = w.shape;
  const inputs = bias ? [x, w, bias] : [x, w];
  const needX = x.requiresGrad;
  const needW = w.requiresGrad;
  return record(
    'conv2d',
    inputs,
    out,
    (g, [xs, ws], into) => {
      // Adds into a gradient already waiting for x where the kernel can (a ResNet block's shortcut).
      const dx = needX ? conv2dBackwardInput(g, ws, xShape, options, into[0] ?? null) : null;
      // The weight's and bias's gradients go straight into their zeroed gradients where offered.
      const dw = needW ? conv2dBackwardFilter(g, xs, wShape, options, writableInto(into[1], wShape)) : null;
      const db = bias?.requiresGrad ? conv2dBackwardBias(g, writableInto(into[2], bias.shape)) : null;
      return bias ? [dx, dw, db] : [dx, dw];
    },
    [x, w],
  );
}

// ---------------------------------------------------------------------------------------------------------
// Batch norm

/** The options of {@link batchNorm}. */
export type BatchNormOptions = Omit<BatchNormForwardOptions, 'residual' | 'relu'>;

/** The options of {@link batchNormAct}: batch norm's, and what follows it in the same kernels. */
export interface BatchNormActOptions extends BatchNormOptions {
  /** Added after the normalization, before the ReLU (a ResNet block's shortcut): same shape as x. */
  residual?: Tensor | null;
  /** ReLU after the normalization and the residual add. */
  relu?: boolean;
}

function checkBatchNormShapes(op: string, x: Tensor, gamma: Tensor, beta: Tensor, options: BatchNormActOptions): void {
  const c = x.shape[1];
  const perChannel = [gamma, beta, options.runningMean, options.runningVar].filter((t): t is Tensor => !!t);
  const r = options.residual;
  if ((x.rank !== 2 && x.rank !== 4) || perChannel.some((t) => t.rank !== 1 || t.shape[0] !== c) || (r && r.shape.join() !== x.shape.join())) {
    throw new Error(
      `${op}: expects x [N, C] or [N, C, H, W], per-channel tensors [C] and a residual shaped as x; got x ${shapeString(x.shape)}, ` +
        `gamma ${shapeString(gamma.shape)}, beta ${shapeString(beta.shape)}` +
        (options.runningMean ? `, running stats ${shapeString(options.runningMean.shape)}` : '') +
        (r ? `, residual ${shapeString(r.shape)}` : ''),
    );
  }
}

/**
 * Batch norm over [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d) with per-channel gamma and beta.
 * Training mode normalizes with batch statistics and updates options.runningMean / runningVar in place
 * (momentum 0.1, unbiased variance, as PyTorch); eval mode uses the running statistics. With `groups` G,
 * the N samples form G consecutive groups, each normalized with its own statistics (the running
 * statistics updated once per group, in order), as G separate calls would.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, options: BatchNormOptions): Tensor {
  return batchNormAct(x, gamma, beta, { ...options, residual: null, relu: false }, 'batchNorm');
}

/**
 * act(batchNorm(conv2d(x, w) + bias)) with the batch norm in eval mode (running statistics), as one kernel:
 * the convolution's epilogue does the batch norm and the ReLU (the bits of conv2d then batchNormAct). Inference only: null while gradients are recorded, or where the kernel does not run
 * (kernels/conv2d.ts, conv2dBatchNormEval); the caller then runs conv2d and batchNormAct.
 */
export function conv2dBatchNormEval(x: Tensor, w: Tensor, bias: Tensor | null, options: Conv2dOptions, bn: ConvBatchNormEval): Tensor | null {
  if (isGradEnabled()) return null;
  return conv2dBatchNormEvalKernel(x, w, bias, options, bn);
}

/**
 * act(batchNorm(x) + residual) as one differentiable op, act = ReLU when options.relu: one forward kernel,
 * and a backward that masks dy with the saved output's sign inside the batch-norm reductions and writes the
 * residual's gradient from the same kernel. The results are batchNorm's, then add, then relu's, up to
 * float32 rounding.
 */
export function batchNormAct(x: Tensor, gamma: Tensor, beta: Tensor, options: BatchNormActOptions, op = 'batchNormAct'): Tensor {
  // Shapes first, so a mistake costs no GPU work.
  checkBatchNormShapes(op, x, gamma, beta, options);
  const residual = options.residual ?? null;
  const relu = options.relu ?? false;
  const { y, stats, groups } = batchNormForward(x, gamma, beta, options);
  const training = options.training;
  const inputs = residual ? [x, gamma, beta, residual] : [x, gamma, beta];
  const out = record(
    op,
    inputs,
    y,
    (g, [xs, gs, st, ys], into) => {
      const gradInto = { gamma: writableInto(into[1], gamma.shape), beta: writableInto(into[2], beta.shape) };
      const r = batchNormBackward(g, xs, relu ? ys : null, gs, { stats: st, groups }, { training, relu, residual: !!residual, gradInto });
      return residual ? [r.dx, r.dgamma, r.dbeta, r.dresidual] : [r.dx, r.dgamma, r.dbeta];
    },
    relu ? [x, gamma, stats, y] : [x, gamma, stats],
  );
  stats.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Pooling

/** Max pooling over NCHW (e.g. { kernel: 3, stride: 2, padding: 1 } for ResNet's stem). */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  const { y, argmax } = maxPool2dForward(x, options);
  const xShape = x.shape;
  const out = record('maxPool2d', [x], y, (g, [am]) => [maxPool2dBackward(g, am, xShape, options)], [argmax]);
  argmax.dispose();
  return out;
}

/** Global average pooling [N, C, H, W] → [N, C]. */
export function globalAvgPool(x: Tensor): Tensor {
  const out = globalAvgPoolForward(x);
  const xShape = x.shape;
  return record('globalAvgPool', [x], out, (g) => [globalAvgPoolBackward(g, xShape)]);
}

// ---------------------------------------------------------------------------------------------------------
// Losses and heads

/**
 * Mean softmax cross-entropy of logits [N, K] against int32 class indices [N] (a scalar, shape []).
 * The labels get no gradient. A label outside [0, K) makes the loss NaN.
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const { loss, lse } = crossEntropyForward(logits, labels);
  const out = record(
    'crossEntropy',
    [logits],
    loss,
    (g, [ls, lb, l]) => [crossEntropyBackward(g, ls, lb, l)],
    [logits, labels, lse],
  );
  lse.dispose();
  return out;
}

/** Top-1 accuracy of logits [N, K] against int32 labels [N]: the fraction correct, shape [1], on the GPU. */
export function accuracy(logits: Tensor, labels: Tensor): Tensor {
  return accuracyKernel(logits, labels);
}

/** x / max(‖x‖₂, eps) along `axis`, as torch.nn.functional.normalize (eps 1e-12). */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) throw new RangeError(`l2Normalize: axis ${axis} does not exist in shape ${shapeString(x.shape)}`);
  const { y, norm } = l2NormalizeForward(x, axis, eps);
  const out = record('l2Normalize', [x], y, (g, [xs, ns]) => [l2NormalizeBackward(g, xs, ns, axis, eps)], [x, norm]);
  norm.dispose();
  return out;
}

/**
 * BYOL's regression loss 2 − 2·cos(p, z) per row of p, z [N, D]: the batch mean (shape []) by default, or
 * one value per row (shape [N]) with mean = false. Fused: one kernel forward, one backward for both inputs
 * (detach z to keep the target network out of the graph).
 */
export function byolLoss(p: Tensor, z: Tensor, mean = true, eps = 1e-12): Tensor {
  return byolLossPaired(p, z, mean, eps, {});
}

/**
 * BYOL's symmetric loss of two views stacked along N: with p = [q(v1); q(v2)] and z = [z'(v1); z'(v2)]
 * (N = 2B), L(p₁, z₂) + L(p₂, z₁), each term the mean of 2 − 2·cos over its B rows (a scalar, shape []):
 * what byolLoss(p1, z2) + byolLoss(p2, z1) computes, in the same two kernels as one byolLoss.
 */
export function byolLossSymmetric(p: Tensor, z: Tensor, eps = 1e-12): Tensor {
  const N = p.shape[0];
  if (p.rank !== 2 || N % 2 !== 0) throw new Error(`byolLossSymmetric: expects two views stacked along N, [2B, D]; got ${shapeString(p.shape)}`);
  return byolLossPaired(p, z, true, eps, { shift: N / 2, scale: 2 / N });
}

function byolLossPaired(p: Tensor, z: Tensor, mean: boolean, eps: number, pair: ByolPairing): Tensor {
  const out = byolLossForward(p, z, mean, eps, pair);
  return record(
    'byolLoss',
    [p, z],
    out,
    (g, [ps, zs]) => {
      const [dp, dz] = byolLossBackward(g, ps, zs, mean, eps, pair);
      return [dp, dz];
    },
    [p, z],
  );
}

/** Mean squared error mean((a − b)²), composed from differentiable ops. */
export function mse(a: Tensor, b: Tensor): Tensor {
  const d = sub(a, b);
  const sq = square(d);
  const out = mean(sq);
  d.dispose();
  sq.dispose();
  return out;
}
