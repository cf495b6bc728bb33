/**
 * Batch normalization over x [N, C] or [N, C, H, W] (statistics per channel over N, H, W), PyTorch's way:
 * training normalizes with the biased batch variance and updates running_var with the unbiased one
 * (running = (1 − momentum)·running + momentum·batch, momentum 0.1, eps 1e-5 by default), in place; eval
 * normalizes with the running statistics.
 *
 * Forward (training): per-plane partial statistics (one invocation per (n, c) plane, no barriers), then one
 * invocation per channel combining them (Chan's formula) into mean and invstd = 1/sqrt(var + eps); eval: a
 * tiny kernel reading the running statistics. Then one elementwise kernel (vec4 when HW % 4 == 0).
 * Backward: the same two-step reduction gives dbeta and dgamma, then one elementwise kernel (dx, vec4 when
 * HW % 4 == 0).
 * Software adapters run workgroup barriers and shared-memory tree reductions slowly; the earlier
 * one-workgroup-per-channel kernels (batchnorm_stats.wgsl MODE 0, batchnorm_backward_reduce.wgsl) remain for
 * devices where `batchNormTuning.reduce` is set to 'workgroup'.
 */
import statsWgsl from '../../shaders/batchnorm_stats.wgsl';
import applyWgsl from '../../shaders/batchnorm_apply.wgsl';
import backwardReduceWgsl from '../../shaders/batchnorm_backward_reduce.wgsl';
import backwardInputWgsl from '../../shaders/batchnorm_backward_input.wgsl';
import partialWgsl from '../../shaders/batchnorm_partial.wgsl';
import combineWgsl from '../../shaders/batchnorm_combine.wgsl';
import applyVec4Wgsl from '../../shaders/batchnorm_apply_vec4.wgsl';
import backwardInputVec4Wgsl from '../../shaders/batchnorm_backward_input_vec4.wgsl';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { assertFloat, Params, WG } from './util.js';

const STATS = { name: 'batchnorm_stats', code: statsWgsl };
const APPLY = { name: 'batchnorm_apply', code: applyWgsl };
const BACKWARD_REDUCE = { name: 'batchnorm_backward_reduce', code: backwardReduceWgsl };
const BACKWARD_INPUT = { name: 'batchnorm_backward_input', code: backwardInputWgsl };
const PARTIAL = { name: 'batchnorm_partial', code: partialWgsl };
const COMBINE = { name: 'batchnorm_combine', code: combineWgsl };
const APPLY_VEC4 = { name: 'batchnorm_apply_vec4', code: applyVec4Wgsl };
const BACKWARD_INPUT_VEC4 = { name: 'batchnorm_backward_input_vec4', code: backwardInputVec4Wgsl };
/** Workgroup size of the plane / channel / vec4 kernels. */
const SMALL_WG = 64;

/** Kernel choice, for tests and measurements. */
export const batchNormTuning = {
  /** 'planes': per-plane partials + per-channel combine; 'workgroup': one workgroup per channel. */
  reduce: 'planes' as 'planes' | 'workgroup',
  /** Whether the elementwise kernels may take the vec4 form when HW % 4 == 0. */
  vec4: true,
};

/**
 * The two-step training reduction: per-plane partials of x (MODE 0) or of dy and dy·(x − mean) (MODE 1),
 * then per-channel totals into outA and outB (see batchnorm_partial.wgsl and batchnorm_combine.wgsl).
 */
function planeReduce(
  op: string,
  mode: 0 | 1,
  x: Tensor,
  dy: Tensor | null,
  mean: Tensor | null,
  outA: Tensor,
  outB: Tensor,
  extra: { rm: Tensor; rv: Tensor; update: boolean; eps: number; momentum: number },
): void {
  const { N, C, HW } = dims(op, x);
  const planes = N * C;
  const vec4 = HW % 4 === 0;
  const partA = empty([N, C], 'float32', op);
  const partB = empty([N, C], 'float32', op);
  const rt = getRuntime();
  const d = dy ?? x;
  rt.dispatch({
    op: `${op}.partial`,
    shader: PARTIAL,
    constants: { WG: SMALL_WG, MODE: mode, VEC4: vec4 },
    uniforms: new Params().u32(N, C, HW, planes).build(),
    storage: [x.binding(op), x.binding(op), d.binding(op), d.binding(op), (mean ?? outA).binding(op), partA.binding(op), partB.binding(op)],
    workgroups: grid(Math.ceil(planes / SMALL_WG)),
  });
  rt.dispatch({
    op: `${op}.combine`,
    shader: COMBINE,
    constants: { WG: SMALL_WG, MODE: mode, UPDATE: extra.update },
    uniforms: new Params().u32(N, C, HW, N * HW).f32(extra.eps, extra.momentum).build(),
    storage: [partA.binding(op), partB.binding(op), outA.binding(op), outB.binding(op), extra.rm.binding(op), extra.rv.binding(op)],
    workgroups: [Math.ceil(C / SMALL_WG), 1, 1],
  });
  partA.dispose();
  partB.dispose();
}

export interface BatchNormStats {
  /** Per-channel mean used for normalization [C]. */
  mean: Tensor;
  /** Per-channel 1/sqrt(var + eps) used for normalization [C]. */
  invstd: Tensor;
}

/** Mode, running statistics and constants of {@link batchNorm}. */
export interface BatchNormForwardOptions {
  /** Batch statistics and running-statistics updates (true), or the running statistics (false). */
  training: boolean;
  /** Updated in place in training mode; read in eval mode. */
  runningMean?: Tensor | null;
  /** As `runningMean`, for the (unbiased) variance. */
  runningVar?: Tensor | null;
  /** Weight of the new batch in the running statistics' update. Default 0.1, as PyTorch. */
  momentum?: number;
  /** Added to the variance before its square root. Default 1e-5. */
  eps?: number;
}

function dims(op: string, x: Tensor): { N: number; C: number; HW: number } {
  if (x.rank !== 2 && x.rank !== 4) {
    throw new Error(`${op}: input must be [N, C] or [N, C, H, W], got ${shapeString(x.shape)}`);
  }
  const [N, C] = x.shape;
  const HW = x.rank === 4 ? x.shape[2] * x.shape[3] : 1;
  return { N, C, HW };
}

function checkChannel(op: string, name: string, t: Tensor | null | undefined, C: number, x: Tensor): void {
  if (!t) return;
  assertFloat(op, t);
  if (t.rank !== 1 || t.shape[0] !== C) {
    throw new Error(`${op}: ${name} must be [${C}] for input ${shapeString(x.shape)}, got ${shapeString(t.shape)}`);
  }
}

/**
 * Per-channel mean and invstd: from the batch in training mode (updating running stats in place when
 * given), from the running stats in eval mode.
 */
export function batchNormStats(x: Tensor, options: BatchNormForwardOptions): BatchNormStats {
  const op = options.training ? 'batchNorm.train' : 'batchNorm.eval';
  assertFloat(op, x);
  const { N, C, HW } = dims(op, x);
  const { runningMean, runningVar, training } = options;
  checkChannel(op, 'runningMean', runningMean, C, x);
  checkChannel(op, 'runningVar', runningVar, C, x);
  if (!runningMean !== !runningVar) throw new Error(`${op}: give both runningMean and runningVar, or neither`);
  const count = N * HW;
  if (training && count <= 1) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got input ${shapeString(x.shape)}`);
  }
  if (!training && !runningMean) throw new Error(`${op}: eval mode needs runningMean and runningVar`);
  const mean = empty([C], 'float32', 'batchNorm.mean');
  const invstd = empty([C], 'float32', 'batchNorm.invstd');
  if (C === 0) return { mean, invstd };
  const update = training && !!runningMean;
  const dummies: Tensor[] = [];
  const rm = runningMean ?? (dummies.push(empty([C], 'float32', op)), dummies[dummies.length - 1]);
  const rv = runningVar ?? (dummies.push(empty([C], 'float32', op)), dummies[dummies.length - 1]);
  if (training && batchNormTuning.reduce === 'planes') {
    planeReduce(op, 0, x, null, null, mean, invstd, {
      rm,
      rv,
      update,
      eps: options.eps ?? 1e-5,
      momentum: options.momentum ?? 0.1,
    });
    for (const d of dummies) d.dispose();
    return { mean, invstd };
  }
  getRuntime().dispatch({
    op,
    shader: STATS,
    constants: { WG, MODE: training ? 0 : 1, UPDATE: update },
    uniforms: new Params()
      .u32(N, C, HW, count)
      .f32(options.eps ?? 1e-5, options.momentum ?? 0.1)
      .build(),
    storage: [x.binding(op), mean.binding(op), invstd.binding(op), rm.binding(op), rv.binding(op)],
    workgroups: training ? [C, 1, 1] : [Math.ceil(C / WG), 1, 1],
  });
  for (const d of dummies) d.dispose();
  return { mean, invstd };
}

/** y = (x − mean)·invstd·gamma + beta per channel. */
export function batchNormApply(x: Tensor, stats: BatchNormStats, gamma: Tensor, beta: Tensor, op = 'batchNorm.apply'): Tensor {
  assertFloat(op, x, gamma, beta);
  const { C, HW } = dims(op, x);
  checkChannel(op, 'gamma', gamma, C, x);
  checkChannel(op, 'beta', beta, C, x);
  const y = empty(x.shape, 'float32', op);
  if (x.size === 0) return y;
  if (batchNormTuning.vec4 && HW % 4 === 0) {
    const total4 = x.size / 4;
    getRuntime().dispatch({
      op,
      shader: APPLY_VEC4,
      constants: { WG: SMALL_WG },
      uniforms: new Params().u32(total4, C, HW / 4, 0).build(),
      storage: [x.binding(op), stats.mean.binding(op), stats.invstd.binding(op), gamma.binding(op), beta.binding(op), y.binding(op)],
      workgroups: grid(Math.ceil(total4 / SMALL_WG)),
    });
    return y;
  }
  getRuntime().dispatch({
    op,
    shader: APPLY,
    constants: { WG },
    uniforms: new Params().u32(x.size, C, HW, 0).build(),
    storage: [x.binding(op), stats.mean.binding(op), stats.invstd.binding(op), gamma.binding(op), beta.binding(op), y.binding(op)],
    workgroups: grid(Math.ceil(x.size / WG)),
  });
  return y;
}

/**
 * Batch norm forward: the normalized output and the statistics its backward needs. Training mode updates
 * runningMean and runningVar in place when they are given.
 */
export function batchNormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  options: BatchNormForwardOptions,
): { y: Tensor } & BatchNormStats {
  const stats = batchNormStats(x, options);
  const y = batchNormApply(x, stats, gamma, beta, options.training ? 'batchNorm.train' : 'batchNorm.eval');
  return { y, ...stats };
}

/**
 * Batch norm backward: [dx, dgamma, dbeta] from dy, the input x, gamma and the forward's statistics.
 * `training` says whether the statistics came from the batch (then dx includes their dependence on x).
 */
export function batchNormBackward(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor,
  stats: BatchNormStats,
  training: boolean,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const op = 'batchNorm.backward';
  assertFloat(op, dy, x, gamma);
  const { N, C, HW } = dims(op, x);
  if (dy.shape.join() !== x.shape.join()) throw new Error(`${op}: dy ${shapeString(dy.shape)} must match x ${shapeString(x.shape)}`);
  checkChannel(op, 'gamma', gamma, C, x);
  const dgamma = empty([C], 'float32', op);
  const dbeta = empty([C], 'float32', op);
  const dx = empty(x.shape, 'float32', op);
  if (x.size === 0) return { dx, dgamma, dbeta };
  const count = N * HW;
  const uniforms = new Params().u32(N, C, HW, count, x.size).build();
  const rt = getRuntime();
  if (batchNormTuning.reduce === 'planes') {
    // dgamma = invstd · Σ dy·(x − mean), dbeta = Σ dy; the combine step reads invstd from its 'running mean' slot.
    planeReduce(op, 1, x, dy, stats.mean, dgamma, dbeta, { rm: stats.invstd, rv: stats.mean, update: false, eps: 0, momentum: 0 });
  } else rt.dispatch({
    op: `${op}.reduce`,
    shader: BACKWARD_REDUCE,
    constants: { WG },
    uniforms,
    storage: [dy.binding(op), x.binding(op), stats.mean.binding(op), stats.invstd.binding(op), dgamma.binding(op), dbeta.binding(op)],
    workgroups: [C, 1, 1],
  });
  const vec4 = batchNormTuning.vec4 && HW % 4 === 0;
  rt.dispatch({
    op: `${op}.input`,
    shader: vec4 ? BACKWARD_INPUT_VEC4 : BACKWARD_INPUT,
    constants: { WG: vec4 ? SMALL_WG : WG, TRAINING: training },
    uniforms,
    storage: [
      dy.binding(op),
      x.binding(op),
      stats.mean.binding(op),
      stats.invstd.binding(op),
      gamma.binding(op),
      dgamma.binding(op),
      dbeta.binding(op),
      dx.binding(op),
    ],
    workgroups: grid(vec4 ? Math.ceil(x.size / 4 / SMALL_WG) : Math.ceil(x.size / WG)),
  });
  return { dx, dgamma, dbeta };
}
