/**
 * Losses and heads: softmax cross-entropy over class indices (fused, log-sum-exp with the row max taken
 * out), top-1 accuracy, L2 normalization along an axis, and BYOL's regression loss 2 − 2·cos(p, z) — each
 * with its backward kernel where it has one. Upstream gradients of scalar losses are read on the GPU, so
 * nothing is read back during a training step.
 */
import ceWgsl from '../../shaders/loss_ce.wgsl';
import ceBackwardWgsl from '../../shaders/loss_ce_backward.wgsl';
import accuracyWgsl from '../../shaders/loss_accuracy.wgsl';
import normalizeWgsl from '../../shaders/loss_normalize.wgsl';
import normalizeBackwardWgsl from '../../shaders/loss_normalize_backward.wgsl';
import byolWgsl from '../../shaders/loss_byol.wgsl';
import byolBackwardWgsl from '../../shaders/loss_byol_backward.wgsl';
import { grid } from '../gpu/runtime.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { reduceKernel } from './reduce.js';
import { defineKernel } from './define.js';
import { assertFloat, normalizeAxes, WG } from './util.js';

const F32 = 'read array<f32>';
const OUT = 'read_write array<f32>';
const LABELS = 'read array<i32>';
const CE = defineKernel({
  name: 'loss_ce',
  params: { N: 'u32', K: 'u32' },
  storage: { logits: F32, labels: LABELS, loss: OUT, lse: OUT },
  constants: { WG: 64 },
  code: ceWgsl,
});
const CE_BACKWARD = defineKernel({
  name: 'loss_ce_backward',
  params: { N: 'u32', K: 'u32', total: 'u32' },
  storage: { logits: F32, labels: LABELS, lse: F32, upstream: F32, dx: OUT },
  constants: { WG: 256 },
  code: ceBackwardWgsl,
});
const ACCURACY = defineKernel({
  name: 'loss_accuracy',
  params: { N: 'u32', K: 'u32' },
  storage: { logits: F32, labels: LABELS, out: OUT },
  constants: { WG: 256 },
  code: accuracyWgsl,
});
/** The lines along the normalized axis: their count, length D and stride (`inner`). */
const LINES = { lines: 'u32', D: 'u32', inner: 'u32', eps: 'f32' } as const;
const NORMALIZE = defineKernel({
  name: 'loss_normalize',
  params: LINES,
  storage: { x: F32, y: OUT, norm: OUT },
  constants: { WG: 64 },
  code: normalizeWgsl,
});
const NORMALIZE_BACKWARD = defineKernel({
  name: 'loss_normalize_backward',
  params: LINES,
  storage: { g: F32, x: F32, norm: F32, dx: OUT },
  constants: { WG: 64 },
  code: normalizeBackwardWgsl,
});
/** N rows of length D, row i of p paired with row (i + shift) mod N of z; scale: the batch mean's weight (backward). */
const PAIRS = { N: 'u32', D: 'u32', eps: 'f32', shift: 'u32', scale: 'f32' } as const;
const BYOL = defineKernel({
  name: 'loss_byol',
  params: PAIRS,
  storage: { pred: F32, proj: F32, loss: OUT },
  constants: { WG: 64 },
  code: byolWgsl,
});
const BYOL_BACKWARD = defineKernel({
  name: 'loss_byol_backward',
  params: PAIRS,
  storage: { pred: F32, proj: F32, upstream: F32, dpred: OUT, dproj: OUT },
  constants: { WG: 64, MEAN: true },
  code: byolBackwardWgsl,
});
const ROW_WG = 64;

function checkLogits(op: string, logits: Tensor, labels: Tensor): [number, number] {
  assertFloat(op, logits);
  labels.assertAlive(op);
  if (logits.rank !== 2) throw new Error(`${op}: logits must be [N, classes], got ${shapeString(logits.shape)}`);
  if (labels.dtype !== 'int32') throw new TypeError(`${op}: labels must be an int32 tensor of class indices, got ${labels.dtype}`);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`${op}: labels ${shapeString(labels.shape)} must be [${logits.shape[0]}] for logits ${shapeString(logits.shape)}`);
  }
  if (logits.shape[1] === 0) throw new Error(`${op}: logits ${shapeString(logits.shape)} have no classes`);
  return [logits.shape[0], logits.shape[1]];
}

/**
 * Mean softmax cross-entropy of logits [N, K] against int32 labels [N]: a scalar (shape []), and the
 * per-row log-sum-exp [N] that the backward pass needs. A label outside [0, K) makes the loss NaN.
 */
export function crossEntropyForward(logits: Tensor, labels: Tensor): { loss: Tensor; lse: Tensor } {
  const op = 'crossEntropy';
  const [N, K] = checkLogits(op, logits, labels);
  if (N === 0) throw new Error(`${op}: empty batch ${shapeString(logits.shape)}`);
  const rows = empty([N], 'float32', op);
  const lse = empty([N], 'float32', op);
  CE.dispatch({
    op,
    constants: { WG: ROW_WG },
    params: { N, K },
    storage: { logits: logits.binding(op), labels: labels.binding(op), loss: rows.binding(op), lse: lse.binding(op) },
    workgroups: grid(Math.ceil(N / ROW_WG)),
  });
  const loss = reduceKernel('sum', rows, [0], false, 1 / N, op);
  rows.dispose();
  return { loss, lse };
}

/** d(mean cross-entropy)/d logits = g·(softmax − onehot)/N, with g the 1-element upstream gradient. */
export function crossEntropyBackward(g: Tensor, logits: Tensor, labels: Tensor, lse: Tensor): Tensor {
  const op = 'crossEntropy.backward';
  const [N, K] = checkLogits(op, logits, labels);
  assertFloat(op, g, lse);
  if (g.size !== 1) throw new Error(`${op}: the upstream gradient must have one element, got ${shapeString(g.shape)}`);
  const dx = empty(logits.shape, 'float32', op);
  CE_BACKWARD.dispatch({
    op,
    constants: { WG },
    params: { N, K, total: N * K },
    storage: { logits: logits.binding(op), labels: labels.binding(op), lse: lse.binding(op), upstream: g.binding(op), dx: dx.binding(op) },
    workgroups: grid(Math.ceil((N * K) / WG)),
  });
  return dx;
}

/** Top-1 accuracy: the fraction of rows of logits [N, K] whose (first) argmax equals the label; shape [1]. */
export function accuracyKernel(logits: Tensor, labels: Tensor): Tensor {
  const op = 'accuracy';
  const [N, K] = checkLogits(op, logits, labels);
  const out = empty([1], 'float32', op);
  ACCURACY.dispatch({
    op,
    constants: { WG },
    params: { N, K },
    storage: { logits: logits.binding(op), labels: labels.binding(op), out: out.binding(op) },
    workgroups: [1, 1, 1],
  });
  return out;
}

function lineGeometry(shape: readonly number[], axis: number): { lines: number; D: number; inner: number } {
  const D = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return { lines: outer * inner, D, inner };
}

/** x / max(‖x‖₂, eps) along `axis` (torch.nn.functional.normalize), and the norms (shape of x without axis). */
export function l2NormalizeForward(x: Tensor, axis = -1, eps = 1e-12): { y: Tensor; norm: Tensor } {
  const op = 'l2Normalize';
  assertFloat(op, x);
  const [ax] = normalizeAxes(op, axis, x.rank);
  const { lines, D, inner } = lineGeometry(x.shape, ax);
  const y = empty(x.shape, 'float32', op);
  const norm = empty(x.shape.filter((_, i) => i !== ax), 'float32', op);
  if (lines === 0 || D === 0) return { y, norm };
  NORMALIZE.dispatch({
    op,
    constants: { WG: ROW_WG },
    params: { lines, D, inner, eps },
    storage: { x: x.binding(op), y: y.binding(op), norm: norm.binding(op) },
    workgroups: grid(Math.ceil(lines / ROW_WG)),
  });
  return { y, norm };
}

export function l2NormalizeBackward(g: Tensor, x: Tensor, norm: Tensor, axis = -1, eps = 1e-12): Tensor {
  const op = 'l2Normalize.backward';
  assertFloat(op, g, x, norm);
  const [ax] = normalizeAxes(op, axis, x.rank);
  const { lines, D, inner } = lineGeometry(x.shape, ax);
  const dx = empty(x.shape, 'float32', op);
  if (lines === 0 || D === 0) return dx;
  NORMALIZE_BACKWARD.dispatch({
    op,
    constants: { WG: ROW_WG },
    params: { lines, D, inner, eps },
    storage: { g: g.binding(op), x: x.binding(op), norm: norm.binding(op), dx: dx.binding(op) },
    workgroups: grid(Math.ceil(lines / ROW_WG)),
  });
  return dx;
}

function checkPair(op: string, p: Tensor, z: Tensor): [number, number] {
  assertFloat(op, p, z);
  if (p.rank !== 2 || p.shape.join() !== z.shape.join()) {
    throw new Error(`${op}: predictions ${shapeString(p.shape)} and targets ${shapeString(z.shape)} must both be [N, D]`);
  }
  return [p.shape[0], p.shape[1]];
}

/**
 * How rows of p meet rows of z in the BYOL loss: row i of p with row (i + shift) mod N of z (default 0), and
 * the batch mean's factor (default 1/N).
 */
export interface ByolPairing {
  shift?: number;
  scale?: number;
}

function pairing(op: string, N: number, pair: ByolPairing): { shift: number; scale: number } {
  const shift = pair.shift ?? 0;
  if (!Number.isInteger(shift) || shift < 0 || shift >= Math.max(N, 1)) throw new RangeError(`${op}: row shift ${shift} must be an integer in [0, ${N})`);
  return { shift, scale: pair.scale ?? 1 / N };
}

/**
 * BYOL's loss 2 − 2·cos(p_i, z_{(i + shift) mod N}) per row of p, z [N, D]: shape [N], or their sum times
 * `scale` (the mean by default; shape []) when `mean`.
 */
export function byolLossForward(p: Tensor, z: Tensor, mean = true, eps = 1e-12, pair: ByolPairing = {}): Tensor {
  const op = 'byolLoss';
  const [N, D] = checkPair(op, p, z);
  if (N === 0) throw new Error(`${op}: empty batch ${shapeString(p.shape)}`);
  const { shift, scale } = pairing(op, N, pair);
  const rows = empty([N], 'float32', op);
  BYOL.dispatch({
    op,
    constants: { WG: ROW_WG },
    params: { N, D, eps, shift, scale },
    storage: { pred: p.binding(op), proj: z.binding(op), loss: rows.binding(op) },
    workgroups: grid(Math.ceil(N / ROW_WG)),
  });
  if (!mean) return rows;
  const loss = reduceKernel('sum', rows, [0], false, scale, op);
  rows.dispose();
  return loss;
}

/** [dp, dz] of the BYOL loss, g being the upstream gradient: 1 element when `mean`, else [N]. */
export function byolLossBackward(g: Tensor, p: Tensor, z: Tensor, mean = true, eps = 1e-12, pair: ByolPairing = {}): [Tensor, Tensor] {
  const op = 'byolLoss.backward';
  const [N, D] = checkPair(op, p, z);
  assertFloat(op, g);
  if (g.size !== (mean ? 1 : N)) throw new Error(`${op}: upstream gradient ${shapeString(g.shape)} does not match the loss`);
  const { shift, scale } = pairing(op, N, pair);
  const dp = empty(p.shape, 'float32', op);
  const dz = empty(z.shape, 'float32', op);
  BYOL_BACKWARD.dispatch({
    op,
    constants: { WG: ROW_WG, MEAN: mean },
    params: { N, D, eps, shift, scale },
    storage: { pred: p.binding(op), proj: z.binding(op), upstream: g.binding(op), dpred: dp.binding(op), dproj: dz.binding(op) },
    workgroups: grid(Math.ceil(N / ROW_WG)),
  });
  return [dp, dz];
}
