/**
 * Batch normalization over x [N, C] or [N, C, H, W] (statistics per channel over N, H, W), PyTorch's way:
 * training normalizes with the biased batch variance and updates running_var with the unbiased one
 * (running = (1 − momentum)·running + momentum·batch, momentum 0.1, eps 1e-5 by default), in place; eval
 * normalizes with the running statistics.
 *
 * Fused with what follows it in a ResNet or an MLP head: an optional residual add and an optional ReLU,
 *   y = act(bn(x) + residual),
 * whose backward takes the ReLU mask from the saved output's sign and writes the residual's gradient (the
 * masked dy) from the same kernel. And grouped: `groups` G splits N into G groups of N/G samples, each
 * normalized with its own statistics, the running statistics updated once per group in order, exactly as G
 * separate calls would (BYOL's two views in one pass).
 *
 * Two paths, chosen by batchNormPlan from the shape, the adapter's capabilities and the `batchNorm` overrides
 * (withKernelOverrides, src/gpu/overrides.ts), a pure function; the forward and backward encode its plan:
 * - 'channel': one dispatch per forward (statistics, running statistics and output) and one per backward
 *   (dgamma, dbeta, dx and the residual's gradient): one workgroup per channel whose lanes reduce with a
 *   subgroup sum (software adapters with subgroups: the workgroup is one subgroup of 8, no barriers) or a
 *   workgroup-memory tree (elsewhere), or one lane per channel when the planes are small
 *   (batchnorm_channel_forward.wgsl, batchnorm_channel_backward.wgsl).
 * - 'planes': per-plane partial sums (one invocation per (n, c), no barriers), a per-channel combine, then
 *   one elementwise kernel (vec4 when HW % 4 == 0): three dispatches each way, for large channels on
 *   hardware GPUs, where C workgroups would leave most of the device idle.
 */
import laneSgWgsl from '../../shaders/batchnorm_lanes_sg.wgsl';
import laneWgWgsl from '../../shaders/batchnorm_lanes_wg.wgsl';
import vScalarWgsl from '../../shaders/batchnorm_v_scalar.wgsl';
import vVec4Wgsl from '../../shaders/batchnorm_v_vec4.wgsl';
import channelForwardWgsl from '../../shaders/batchnorm_channel_forward.wgsl';
import channelBackwardWgsl from '../../shaders/batchnorm_channel_backward.wgsl';
import walkWgsl from '../../shaders/batchnorm_walk.wgsl';
import statsWgsl from '../../shaders/batchnorm_stats.wgsl';
import applyWgsl from '../../shaders/batchnorm_apply.wgsl';
import backwardInputWgsl from '../../shaders/batchnorm_backward_input.wgsl';
import partialWgsl from '../../shaders/batchnorm_partial.wgsl';
import combineWgsl from '../../shaders/batchnorm_combine.wgsl';
import applyVec4Wgsl from '../../shaders/batchnorm_apply_vec4.wgsl';
import backwardInputVec4Wgsl from '../../shaders/batchnorm_backward_input_vec4.wgsl';
import type { AdapterCaps } from '../gpu/device.js';
import { declareOverrides, overridesOf } from '../gpu/overrides.js';
import { grid } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import { defineKernel } from './define.js';
import { SUBGROUP_DIRECTIVES, subgroupTilesPreferred } from './subgroups.js';
import { assertFloat, WG } from './util.js';

const F32 = 'read array<f32>';
const V4 = 'read array<vec4<f32>>';
const OUT = 'read_write array<f32>';
const V4_OUT = 'read_write array<vec4<f32>>';
const STATS = defineKernel({
  name: 'batchnorm_stats',
  params: { C: 'u32', eps: 'f32' },
  storage: { running_mean: F32, running_var: F32, stats: OUT },
  constants: { WG: 64 },
  code: statsWgsl,
});
/** y on the 'planes' path, one value per invocation or (vec4) four (total and HW then count vec4s). */
const apply = (vec4: boolean) => {
  const V = vec4 ? V4 : F32;
  return defineKernel({
    name: vec4 ? 'batchnorm_apply_vec4' : 'batchnorm_apply',
    params: { total: 'u32', C: 'u32', HW: 'u32', G: 'u32', NG: 'u32' },
    storage: { x: V, stats: F32, gamma: F32, beta: F32, residual: V, y: vec4 ? V4_OUT : OUT },
    constants: { WG: vec4 ? 64 : 256, RELU: false, RESIDUAL: false },
    code: vec4 ? applyVec4Wgsl : applyWgsl,
  });
};
const APPLY = apply(false);
const APPLY_VEC4 = apply(true);
/** dx on the 'planes' path, one value per invocation or (vec4) four. */
const backwardInput = (vec4: boolean) => {
  const V = vec4 ? V4 : F32;
  const V_OUT = vec4 ? V4_OUT : OUT;
  return defineKernel({
    name: vec4 ? 'batchnorm_backward_input_vec4' : 'batchnorm_backward_input',
    params: { N: 'u32', C: 'u32', HW: 'u32', count: 'u32', total: 'u32', G: 'u32', NG: 'u32' },
    storage: { dy: V, x: V, y: V, stats: F32, gamma: F32, sums: F32, dx: V_OUT, dresidual: V_OUT },
    constants: { WG: vec4 ? 64 : 256, TRAINING: true, RELU: false, RESIDUAL: false },
    code: vec4 ? backwardInputVec4Wgsl : backwardInputWgsl,
  });
};
const BACKWARD_INPUT = backwardInput(false);
const BACKWARD_INPUT_VEC4 = backwardInput(true);
/** Per-plane partial sums ('planes' path); each input is bound as floats and as vec4s (VEC4 picks). */
const PARTIAL = defineKernel({
  name: 'batchnorm_partial',
  params: { N: 'u32', C: 'u32', HW: 'u32', planes: 'u32', NG: 'u32' },
  storage: { x: F32, x4: V4, dy: F32, dy4: V4, y: F32, y4: V4, stats: F32, part: OUT },
  constants: { WG: 64, MODE: 0, VEC4: false, RELU: false },
  code: partialWgsl,
});
const COMBINE = defineKernel({
  name: 'batchnorm_combine',
  params: { N: 'u32', C: 'u32', HW: 'u32', count: 'u32', G: 'u32', NG: 'u32', betaOffset: 'u32', eps: 'f32', momentum: 'f32' },
  storage: { part: F32, stats: OUT, sums: OUT, dgb: OUT, running_mean: OUT, running_var: OUT },
  constants: { WG: 64, MODE: 0, UPDATE: false },
  code: combineWgsl,
});
/** Workgroup size of the plane / channel / vec4 kernels. */
const SMALL_WG = 64;

/** A channel kernel's WGSL: the lane reduction (subgroup or workgroup memory), the element type, the body. */
function channelCode(body: string, subgroups: boolean, vec4: boolean): string[] {
  return [subgroups ? laneSgWgsl : laneWgWgsl, vec4 ? vVec4Wgsl : vScalarWgsl, body, walkWgsl];
}
const channelName = (dir: string, subgroups: boolean, vec4: boolean) => `batchnorm_channel_${dir}${subgroups ? '_sg' : ''}${vec4 ? '_vec4' : ''}`;
/** V: the element type (f32, or vec4<f32> when HW % 4 == 0). */
const V = 'read array<V>';
const V_OUT = 'read_write array<V>';
function channelForward(subgroups: boolean, vec4: boolean) {
  return defineKernel({
    name: channelName('forward', subgroups, vec4),
    directives: subgroups ? SUBGROUP_DIRECTIVES : [],
    params: { N: 'u32', C: 'u32', HWV: 'u32', G: 'u32', NG: 'u32', count: 'u32', eps: 'f32', momentum: 'f32' },
    storage: { x: V, residual: V, gamma: F32, beta: F32, y: V_OUT, stats: OUT, running_mean: OUT, running_var: OUT },
    constants: { WG: 8, PER_LANE: false, MODE: 0, UPDATE: false, RELU: false, RESIDUAL: false },
    code: channelCode(channelForwardWgsl, subgroups, vec4),
  });
}
function channelBackward(subgroups: boolean, vec4: boolean) {
  return defineKernel({
    name: channelName('backward', subgroups, vec4),
    directives: subgroups ? SUBGROUP_DIRECTIVES : [],
    params: { N: 'u32', C: 'u32', HWV: 'u32', G: 'u32', NG: 'u32', count: 'u32', betaOffset: 'u32' },
    storage: { dy: V, x: V, y: V, gamma: F32, stats: F32, dx: V_OUT, dresidual: V_OUT, dgb: OUT },
    constants: { WG: 8, PER_LANE: false, TRAINING: true, RELU: false, RESIDUAL: false },
    code: channelCode(channelBackwardWgsl, subgroups, vec4),
  });
}
/** The channel kernels, indexed [subgroups][vec4] (0 or 1 each). */
const CHANNEL_FORWARD = [0, 1].map((sg) => [0, 1].map((v4) => channelForward(!!sg, !!v4)));
const CHANNEL_BACKWARD = [0, 1].map((sg) => [0, 1].map((v4) => channelBackward(!!sg, !!v4)));

/**
 * What a test or a measurement may force in the batch-norm plan (`withKernelOverrides({ batchNorm: {...} }, fn)`);
 * a knob left unset is chosen by shape and adapter.
 */
export interface BatchNormOverrides {
  /** 'channel': one dispatch each way; 'planes': partials + combine + elementwise. */
  path?: 'channel' | 'planes';
  /** On the channel path: a workgroup per channel, or a lane per channel. */
  lanes?: 'workgroup' | 'lane';
  /** Whether the kernels may take four values of a channel at a time when HW % 4 == 0 (default true). */
  vec4?: boolean;
  /** The subgroup reduction on software adapters that have subgroups (default true; false: the workgroup-memory tree). */
  subgroups?: boolean;
}

declare module '../gpu/overrides.js' {
  interface KernelOverrides {
    /** Overrides of the batch-norm plan (batchNormPlan). */
    batchNorm?: BatchNormOverrides;
  }
}
declareOverrides('batchNorm', { path: true, lanes: true, vec4: true, subgroups: true });

/**
 * Values per channel (and group) up to which a hardware GPU takes the channel path: C workgroups then
 * stream at most 3 × 256 KiB each, about what one dispatch's host cost buys (not measured on hardware).
 */
const HW_CHANNEL_MAX_COUNT = 65536;

/** What batchNormPlan reads of a batch norm: x [N, C, H, W] (HW = H·W, 1 for [N, C]), `count` values per channel and group. */
export interface BatchNormShape {
  N: number;
  C: number;
  HW: number;
  count: number;
}

/** The launches of a batch norm's forward and backward: the path, and what its kernels are launched with. */
export type BatchNormPlan =
  | {
      path: 'channel';
      /** Four values of a plane at a time (HW % 4 == 0). */
      vec4: boolean;
      /** A lane per channel (else the workgroup), the subgroup sum (else a workgroup-memory tree), lanes per workgroup. */
      perLane: boolean;
      subgroups: boolean;
      wg: number;
      workgroups: [number, number, number];
    }
  | {
      path: 'planes';
      vec4: boolean;
      /** The per-plane partial sums, the per-channel combine (or eval's statistics), the elementwise kernel. */
      partialWorkgroups: [number, number, number];
      channelWorkgroups: [number, number, number];
      /** Values (vec4s with vec4) the elementwise kernel covers, its workgroup size and workgroups. */
      elements: number;
      elementWg: number;
      elementWorkgroups: [number, number, number];
    };

/**
 * The plan of a batch norm of shape `d` on an adapter with `caps`, under overrides `o`: the channel path for
 * C channels of `count` values per group, or the planes path. Measured on lavapipe (ResNet-18's shapes at
 * batch 64 and the MLP head's [64, 4096], forward + backward with ReLU and residual): the channel path faster
 * than the planes path everywhere; a lane per channel faster than a workgroup per channel for planes of ≤ 16
 * values, alike at 64, slower at 256; the workgroup-memory tree far slower than the subgroup sum (barriers),
 * so software adapters without subgroups take the lane form where it applies and the planes path elsewhere
 * (figures: bench/RESULTS.md, "Figures behind the kernel choices (moved from code comments, 2026-12-05)").
 */
export function batchNormPlan(d: BatchNormShape, caps: AdapterCaps, o: BatchNormOverrides = {}): BatchNormPlan {
  const { N, C, HW, count } = d;
  const vec4 = (o.vec4 ?? true) && HW % 4 === 0;
  const HWV = vec4 ? HW / 4 : HW;
  const software = caps.software;
  const sg = (o.subgroups ?? true) && subgroupTilesPreferred(caps);
  const perLane = o.lanes === undefined ? (software ? HWV <= 8 : HWV <= 1) : o.lanes === 'lane';
  let channel: boolean;
  if (o.path !== undefined) channel = o.path === 'channel';
  // Software adapters: a few workgroups per core is enough, and every dispatch costs host time.
  else if (software) channel = (sg || perLane) && (C >= 8 || count <= 4096);
  else channel = count <= HW_CHANNEL_MAX_COUNT;
  if (channel) {
    const wg = sg ? 8 : perLane ? SMALL_WG : WG;
    return { path: 'channel', vec4, perLane, subgroups: sg, wg, workgroups: grid(perLane ? Math.ceil(C / wg) : C) };
  }
  const elements = vec4 ? (N * C * HW) / 4 : N * C * HW;
  const elementWg = vec4 ? SMALL_WG : WG;
  return {
    path: 'planes',
    vec4,
    partialWorkgroups: grid(Math.ceil((N * C) / SMALL_WG)),
    channelWorkgroups: [Math.ceil(C / SMALL_WG), 1, 1],
    elements,
    elementWg,
    elementWorkgroups: grid(Math.ceil(elements / elementWg)),
  };
}

/** Statistics a batch-norm forward leaves for its backward. */
export interface BatchNormStats {
  /** [2, G, C]: the mean of each group and channel, then 1/sqrt(var + eps). */
  stats: Tensor;
  /** G, the groups along N (1 in eval mode, where every group has the running statistics). */
  groups: number;
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
  /** G groups of N/G consecutive samples, each normalized with its own statistics (default 1). */
  groups?: number;
  /** Added after the normalization, before the ReLU: same shape as x. */
  residual?: Tensor | null;
  /** ReLU after the normalization (and the residual add). */
  relu?: boolean;
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

function checkGroups(op: string, groups: number, N: number, x: Tensor): void {
  if (!Number.isInteger(groups) || groups < 1 || N % groups !== 0) {
    throw new Error(`${op}: groups must be a positive integer that divides the batch N = ${N} (input ${shapeString(x.shape)}), got ${groups}`);
  }
}

/** A scratch tensor of at least `n` floats (and 4, the size of a vec4 binding), disposed by the caller via `list`. */
function scratch(list: Tensor[], n: number): Tensor {
  const t = empty([Math.max(4, n)], 'float32', 'batchNorm.scratch');
  list.push(t);
  return t;
}

/** Checks the tensors dgamma and dbeta are to be written into: float32 [C] each. */
function checkInto(op: string, gamma: Tensor, beta: Tensor, C: number): true {
  assertFloat(op, gamma, beta);
  if (gamma.size !== C || beta.size !== C) throw new Error(`${op}: the tensors to write dgamma and dbeta into are ${shapeString(gamma.shape)} and ${shapeString(beta.shape)}, expected [${C}]`);
  return true;
}

/** Floats from the start of the [dgamma | dbeta] buffer to dbeta: C rounded up to the storage alignment. */
function betaOffset(C: number): number {
  const align = getRuntime().storageAlignment / 4;
  return Math.ceil(C / align) * align;
}

/**
 * Batch norm forward, fused with an optional residual add and ReLU: y = act(bn(x) + residual), and the
 * statistics the backward needs. Training mode updates runningMean and runningVar in place when given
 * (once per group, in order).
 */
export function batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, options: BatchNormForwardOptions): { y: Tensor } & BatchNormStats {
  const { training, runningMean, runningVar, residual } = options;
  const op = training ? 'batchNorm.train' : 'batchNorm.eval';
  assertFloat(op, x, gamma, beta);
  const { N, C, HW } = dims(op, x);
  checkChannel(op, 'gamma', gamma, C, x);
  checkChannel(op, 'beta', beta, C, x);
  checkChannel(op, 'runningMean', runningMean, C, x);
  checkChannel(op, 'runningVar', runningVar, C, x);
  if (!runningMean !== !runningVar) throw new Error(`${op}: give both runningMean and runningVar, or neither`);
  if (!training && !runningMean) throw new Error(`${op}: eval mode needs runningMean and runningVar`);
  if (residual) {
    assertFloat(op, residual);
    if (residual.shape.join() !== x.shape.join()) throw new Error(`${op}: residual ${shapeString(residual.shape)} must match x ${shapeString(x.shape)}`);
  }
  const groups = options.groups ?? 1;
  checkGroups(op, groups, N, x);
  const G = training ? groups : 1;
  const NG = N / G;
  const count = NG * HW;
  if (training && count <= 1) {
    const per = G > 1 ? ` per group (${G} groups)` : '';
    throw new Error(`${op}: expected more than 1 value per channel${per} when training, got input ${shapeString(x.shape)}`);
  }
  const relu = options.relu ?? false;
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const stats = empty([2, G, C], 'float32', 'batchNorm.stats');
  const y = empty(x.shape, 'float32', op);
  if (x.size === 0) return { y, stats, groups: G };
  const update = training && !!runningMean;
  // Unused writable slots get scratch buffers of their own: a buffer bound twice where one binding is
  // writable is a validation error.
  const dummies: Tensor[] = [];
  const dummy = (): Tensor => scratch(dummies, C);
  const rm = runningMean ?? dummy();
  const rv = runningVar ?? dummy();
  const plan = batchNormPlan({ N, C, HW, count }, getRuntime().caps, overridesOf('batchNorm'));
  const vec4 = plan.vec4;
  if (plan.path === 'channel') {
    const HWV = vec4 ? HW / 4 : HW;
    CHANNEL_FORWARD[+plan.subgroups]![+vec4]!.dispatch({
      op,
      constants: { WG: plan.wg, PER_LANE: plan.perLane, MODE: training ? 0 : 1, UPDATE: update, RELU: relu, RESIDUAL: !!residual },
      params: { N, C, HWV, G, NG, count, eps, momentum },
      storage: {
        x: x.binding(op),
        residual: (residual ?? x).binding(op),
        gamma: gamma.binding(op),
        beta: beta.binding(op),
        y: y.binding(op),
        stats: stats.binding(op),
        running_mean: rm.binding(op),
        running_var: rv.binding(op),
      },
      workgroups: plan.workgroups,
    });
  } else {
    if (training) {
      const planes = N * C;
      const part = empty([2, N, C], 'float32', op);
      const xb = x.binding(op);
      PARTIAL.dispatch({
        op: `${op}.partial`,
        constants: { WG: SMALL_WG, MODE: 0, VEC4: vec4 },
        params: { N, C, HW, planes, NG },
        storage: { x: xb, x4: xb, dy: xb, dy4: xb, y: xb, y4: xb, stats: stats.binding(op), part: part.binding(op) },
        workgroups: plan.partialWorkgroups,
      });
      COMBINE.dispatch({
        op: `${op}.combine`,
        constants: { WG: SMALL_WG, MODE: 0, UPDATE: update },
        params: { N, C, HW, count, G, NG, betaOffset: 0, eps, momentum },
        storage: {
          part: part.binding(op),
          stats: stats.binding(op),
          sums: dummy().binding(op),
          dgb: dummy().binding(op),
          running_mean: rm.binding(op),
          running_var: rv.binding(op),
        },
        workgroups: plan.channelWorkgroups,
      });
      part.dispose();
    } else {
      STATS.dispatch({
        op: `${op}.stats`,
        constants: { WG: SMALL_WG },
        params: { C, eps },
        storage: { running_mean: rm.binding(op), running_var: rv.binding(op), stats: stats.binding(op) },
        workgroups: plan.channelWorkgroups,
      });
    }
    (vec4 ? APPLY_VEC4 : APPLY).dispatch({
      op,
      constants: { WG: plan.elementWg, RELU: relu, RESIDUAL: !!residual },
      params: { total: plan.elements, C, HW: vec4 ? HW / 4 : HW, G, NG },
      storage: {
        x: x.binding(op),
        stats: stats.binding(op),
        gamma: gamma.binding(op),
        beta: beta.binding(op),
        residual: (residual ?? x).binding(op),
        y: y.binding(op),
      },
      workgroups: plan.elementWorkgroups,
    });
  }
  for (const d of dummies) d.dispose();
  return { y, stats, groups: G };
}

export interface BatchNormBackwardOptions {
  /** Whether the statistics came from the batch (then dx includes their dependence on x). */
  training: boolean;
  /** The forward had a ReLU: y (its output) gives the mask. */
  relu?: boolean;
  /** The forward had a residual: its gradient is returned as dresidual. */
  residual?: boolean;
  /**
   * Tensors to write dgamma and dbeta into (zeroed leaf gradients): used, and returned as dgamma and dbeta,
   * when dbeta's lies where the kernels put it relative to dgamma's (the next aligned offset of the same
   * buffer, as flattened parameters lay out a batch norm's weight and bias).
   */
  gradInto?: { gamma: Tensor | null; beta: Tensor | null };
}

/**
 * Batch norm backward: dx, dgamma, dbeta (and the residual's gradient when the forward had one) from dy,
 * the input x, the forward's output y (read only with relu), gamma and the forward's statistics.
 */
export function batchNormBackward(
  dy: Tensor,
  x: Tensor,
  y: Tensor | null,
  gamma: Tensor,
  saved: BatchNormStats,
  options: BatchNormBackwardOptions,
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dresidual: Tensor | null } {
  const op = 'batchNorm.backward';
  const relu = options.relu ?? false;
  const hasResidual = options.residual ?? false;
  const training = options.training;
  assertFloat(op, dy, x, gamma);
  const { N, C, HW } = dims(op, x);
  if (dy.shape.join() !== x.shape.join()) throw new Error(`${op}: dy ${shapeString(dy.shape)} must match x ${shapeString(x.shape)}`);
  if (relu && (!y || y.shape.join() !== x.shape.join())) throw new Error(`${op}: the ReLU mask needs the forward's output y of shape ${shapeString(x.shape)}`);
  checkChannel(op, 'gamma', gamma, C, x);
  const G = saved.groups;
  checkGroups(op, G, N, x);
  const { stats } = saved;
  if (stats.size !== 2 * G * C) throw new Error(`${op}: statistics ${shapeString(stats.shape)} do not match ${G} groups of ${C} channels`);
  const NG = N / G;
  const count = NG * HW;
  const off = betaOffset(C);
  const gi = options.gradInto;
  const inPlace =
    !!gi?.gamma && !!gi.beta && gi.gamma.storage === gi.beta.storage && gi.beta.byteOffset === gi.gamma.byteOffset + off * 4 && checkInto(op, gi.gamma, gi.beta, C);
  const dgb = inPlace ? gi!.gamma!.view([off + C]) : empty([off + C], 'float32', op);
  const dx = empty(x.shape, 'float32', op);
  const dresidual = hasResidual ? empty(x.shape, 'float32', op) : null;
  const finish = () => {
    const dgamma = inPlace ? gi!.gamma! : dgb.view([C], dgb.byteOffset);
    const dbeta = inPlace ? gi!.beta! : dgb.view([C], dgb.byteOffset + off * 4);
    dgb.dispose();
    return { dx, dgamma, dbeta, dresidual };
  };
  if (x.size === 0) return finish();
  const plan = batchNormPlan({ N, C, HW, count }, getRuntime().caps, overridesOf('batchNorm'));
  const vec4 = plan.vec4;
  const mask = y ?? x;
  const dummies: Tensor[] = [];
  const dres = dresidual ?? scratch(dummies, 4);
  if (plan.path === 'channel') {
    const HWV = vec4 ? HW / 4 : HW;
    CHANNEL_BACKWARD[+plan.subgroups]![+vec4]!.dispatch({
      op,
      constants: { WG: plan.wg, PER_LANE: plan.perLane, TRAINING: training, RELU: relu, RESIDUAL: hasResidual },
      params: { N, C, HWV, G, NG, count, betaOffset: off },
      storage: {
        dy: dy.binding(op),
        x: x.binding(op),
        y: mask.binding(op),
        gamma: gamma.binding(op),
        stats: stats.binding(op),
        dx: dx.binding(op),
        dresidual: dres.binding(op),
        dgb: dgb.binding(op),
      },
      workgroups: plan.workgroups,
    });
    for (const d of dummies) d.dispose();
    return finish();
  }
  const planes = N * C;
  const part = empty([2, N, C], 'float32', op);
  const sums = empty([2, G, C], 'float32', op);
  const [xb, dyb, yb] = [x.binding(op), dy.binding(op), mask.binding(op)];
  PARTIAL.dispatch({
    op: `${op}.partial`,
    constants: { WG: SMALL_WG, MODE: 1, VEC4: vec4, RELU: relu },
    params: { N, C, HW, planes, NG },
    storage: { x: xb, x4: xb, dy: dyb, dy4: dyb, y: yb, y4: yb, stats: stats.binding(op), part: part.binding(op) },
    workgroups: plan.partialWorkgroups,
  });
  COMBINE.dispatch({
    op: `${op}.combine`,
    constants: { WG: SMALL_WG, MODE: 1, UPDATE: false },
    params: { N, C, HW, count, G, NG, betaOffset: off, eps: 0, momentum: 0 },
    storage: {
      part: part.binding(op),
      stats: stats.binding(op),
      sums: sums.binding(op),
      dgb: dgb.binding(op),
      running_mean: scratch(dummies, 1).binding(op),
      running_var: scratch(dummies, 1).binding(op),
    },
    workgroups: plan.channelWorkgroups,
  });
  part.dispose();
  (vec4 ? BACKWARD_INPUT_VEC4 : BACKWARD_INPUT).dispatch({
    op: `${op}.input`,
    constants: { WG: plan.elementWg, TRAINING: training, RELU: relu, RESIDUAL: hasResidual },
    params: { N, C, HW, count, total: x.size, G, NG },
    storage: {
      dy: dy.binding(op),
      x: x.binding(op),
      y: mask.binding(op),
      stats: stats.binding(op),
      gamma: gamma.binding(op),
      sums: sums.binding(op),
      dx: dx.binding(op),
      dresidual: dres.binding(op),
    },
    workgroups: plan.elementWorkgroups,
  });
  sums.dispose();
  for (const d of dummies) d.dispose();
  return finish();
}
