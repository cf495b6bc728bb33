/**
 * Launchers of the kernels over flat parameter buffers: fill (zeroing gradients), the EMA update, and the
 * optimizer steps (SGD, AdamW, LARS's three passes). Each takes whole flat buffers: one dispatch covers
 * every parameter of a model. Lengths are multiples of 64 floats (see flat.ts), so the shaders read vec4s.
 *
 * Two ways to walk the buffers ({@link optimPlan} chooses, from the adapter's capabilities and the `optim`
 * overrides of withKernelOverrides, src/gpu/overrides.ts): one vec4 per invocation, its parameter's flags
 * looked up per vec4 in a chunk table; or one workgroup per block of one parameter (a block table, see
 * {@link UpdateTable}), reading the flags (and LARS's trust ratio) once and looping over the block. On
 * lavapipe every storage access of a varying address is a loop over the lanes with a bounds check per
 * component, and every invocation costs a pass through the shader's preamble; the blocks save the per-vec4
 * table (and ratio) loads and most invocations.
 */
import emaWgsl from '../../shaders/ema.wgsl';
import sgdWgsl from '../../shaders/optim_sgd.wgsl';
import adamwWgsl from '../../shaders/optim_adamw.wgsl';
import optimEntriesWgsl from '../../shaders/optim_entries.wgsl';
import larsNormsCommonWgsl from '../../shaders/optim_lars_norms_common.wgsl';
import larsNormsWgsl from '../../shaders/optim_lars_norms.wgsl';
import larsNormsSgWgsl from '../../shaders/optim_lars_norms_sg.wgsl';
import larsRatiosWgsl from '../../shaders/optim_lars_ratios.wgsl';
import larsUpdateWgsl from '../../shaders/optim_lars_update.wgsl';
import type { AdapterCaps } from '../gpu/device.js';
import { declareOverrides, overridesOf } from '../gpu/overrides.js';
import { grid } from '../gpu/runtime.js';
import { clearTensor } from '../kernels/creation.js';
import { defineKernel } from '../kernels/define.js';
import type { StepValue } from '../gpu/step-encoder.js';
import { getRuntime } from '../tensor/engine.js';
import { subgroupTilesPreferred } from '../kernels/subgroups.js';
import type { Tensor } from '../tensor/tensor.js';

const WG = 256;
const V4 = 'read array<vec4<f32>>';
const V4_OUT = 'read_write array<vec4<f32>>';
const EMA = defineKernel({
  name: 'ema',
  params: { n4: 'u32', tau: 'step f32', one_minus_tau: 'step f32' },
  storage: { online: V4, tgt: V4_OUT },
  constants: { WG: 256 },
  code: emaWgsl,
});
const SGD = defineKernel({
  name: 'optim_sgd',
  params: { n4: 'u32', first: 'step u32', nesterov: 'u32', n_blocks: 'u32', lr: 'step f32', momentum: 'f32', dampening: 'f32', wd: 'f32' },
  storage: { table: 'read array<u32>', g: V4, w: V4_OUT, buf: V4_OUT },
  constants: { WG: 256 },
  code: [sgdWgsl, optimEntriesWgsl],
});
const ADAMW = defineKernel({
  name: 'optim_adamw',
  params: {
    n4: 'u32', n_blocks: 'u32',
    lr: 'step f32', wd: 'f32', beta1: 'f32', beta2: 'f32', eps: 'f32', step_size: 'step f32', bc2_sqrt: 'step f32',
  },
  storage: { table: 'read array<u32>', g: V4, w: V4_OUT, m: V4_OUT, v: V4_OUT },
  constants: { WG: 256 },
  code: [adamwWgsl, optimEntriesWgsl],
});
/** LARS's norms pass, as a workgroup tree or (LARS_NORMS_SG) one subgroup per block. */
const LARS_NORMS_DECL = {
  params: { n_blocks: 'u32', wd: 'f32' },
  storage: { blocks: 'read array<vec4<u32>>', w: V4, g: V4, partials: 'read_write array<vec2<f32>>' },
} as const;
const LARS_NORMS = defineKernel({
  name: 'optim_lars_norms',
  ...LARS_NORMS_DECL,
  constants: { WG: 256 },
  code: [larsNormsCommonWgsl, larsNormsWgsl],
});
const LARS_NORMS_SG = defineKernel({
  name: 'optim_lars_norms_sg',
  directives: ['enable subgroups'],
  ...LARS_NORMS_DECL,
  constants: { WG: 8 },
  code: [larsNormsCommonWgsl, larsNormsSgWgsl],
});

/**
 * What a test or a measurement may force in the optimizer plan (`withKernelOverrides({ optim: {...} }, fn)`);
 * a knob left unset is chosen by adapter.
 */
export interface OptimOverrides {
  /**
   * LARS's norms pass: one subgroup per block without barriers ('sg'; by default on software adapters with
   * subgroups, where a barrier switches coroutines per invocation), or a workgroup tree ('tree', elsewhere).
   */
  larsNorms?: 'sg' | 'tree';
  /**
   * How the updates walk the flat buffers: 'blocks' (one workgroup per block of one parameter; the EMA
   * update: a fixed grid looping over the buffer) or 'vec4' (one vec4 per invocation). By default blocks on
   * software adapters, vec4 on GPUs (where one vec4 per invocation is the usual coalesced form; the blocks
   * are unmeasured there).
   */
  layout?: 'blocks' | 'vec4';
}

declare module '../gpu/overrides.js' {
  interface KernelOverrides {
    /** Overrides of the optimizer and EMA updates' plan (optimPlan). */
    optim?: OptimOverrides;
  }
}
declareOverrides('optim', { larsNorms: true, layout: true });

/** How the optimizer and EMA updates run (the same for every buffer: the choice depends on the adapter alone). */
export interface OptimPlan {
  /** How the updates walk the flat buffers (see OptimOverrides.layout). */
  layout: 'blocks' | 'vec4';
  /** LARS's norms pass (see OptimOverrides.larsNorms). */
  larsNorms: 'sg' | 'tree';
}

/** The plan of the updates on an adapter with `caps`, under overrides `o`. */
export function optimPlan(caps: AdapterCaps, o: OptimOverrides = {}): OptimPlan {
  return {
    layout: o.layout ?? (caps.software ? 'blocks' : 'vec4'),
    larsNorms: o.larsNorms ?? (subgroupTilesPreferred(caps) ? 'sg' : 'tree'),
  };
}

const LARS_RATIOS = defineKernel({
  name: 'optim_lars_ratios',
  params: { n_segs: 'u32', eta: 'f32' },
  storage: { segs: 'read array<vec4<u32>>', partials: 'read array<vec2<f32>>', ratio: 'read_write array<f32>' },
  constants: { WG: 64 },
  code: larsRatiosWgsl,
});
const LARS_UPDATE = defineKernel({
  name: 'optim_lars_update',
  params: { n4: 'u32', n_blocks: 'u32', lr: 'step f32', momentum: 'f32', wd: 'f32' },
  storage: { table: 'read array<u32>', ratio: 'read array<f32>', g: V4, w: V4_OUT, mu: V4_OUT },
  constants: { WG: 256 },
  code: larsUpdateWgsl,
});

/** Flags per parameter, in the chunk table's top byte and in LARS's block and segment tables. */
export const FLAG_FROZEN = 1;
export const FLAG_NO_DECAY = 2;
export const FLAG_NO_ADAPT = 4;

/** The plan of the updates on this runtime's adapter, under the overrides in force. */
function currentPlan(): OptimPlan {
  return optimPlan(getRuntime().caps, overridesOf('optim'));
}

/** Whether the updates run in blocks (optimPlan's layout). */
export function optimBlocks(): boolean {
  return currentPlan().layout === 'blocks';
}

/** Workgroup size of the block kernels: one subgroup on lavapipe (8 lanes), no barriers anyway. */
const BLOCK_WG = 8;
/** Workgroups of the strided EMA kernel: a few per core, each looping over the buffer. */
const EMA_STRIDED_GROUPS = 64;
const EMA_STRIDED_WG = 64;

/**
 * The per-parameter flags an update reads, in one of two forms: 'chunks', one word per 64 floats (the
 * parameter's index | flags << 24); 'blocks', four words per block of at most 1024 vec4s of one parameter
 * (first vec4, vec4 count, flags, parameter index).
 */
export interface UpdateTable {
  /** Which form `table` has. */
  layout: 'chunks' | 'blocks';
  /** The words, uint32. */
  table: Tensor;
  /** Blocks in `table` (0 for chunks). */
  numBlocks: number;
}

/** The workgroups and entry point of an update over `n4` vec4s with `t`. */
function walk(t: UpdateTable, n4: number): { entry: string; constants: { WG: number }; workgroups: [number, number, number] } {
  return t.layout === 'blocks'
    ? { entry: 'main_blocks', constants: { WG: BLOCK_WG }, workgroups: grid(t.numBlocks) }
    : { entry: 'main', constants: { WG }, workgroups: grid(Math.ceil(n4 / WG)) };
}

function vec4Count(op: string, ...ts: Tensor[]): number {
  const n = ts[0].size;
  for (const t of ts) {
    t.assertAlive(op);
    if (t.size !== n || t.dtype !== 'float32') throw new Error(`${op}: flat buffers must be float32 of one length, got ${ts.map((x) => `${x.dtype}[${x.size}]`).join(', ')}`);
  }
  if (n % 4 !== 0) throw new Error(`${op}: flat length ${n} is not a multiple of 4`);
  return n / 4;
}

/**
 * Zeroes a flat float32 buffer (zeroGrad, optimizer and flat-buffer init) with the encoder's clear: on
 * lavapipe the fill shader it replaces was a noticeable share of a BYOL step for zeroGrad alone (figures:
 * bench/RESULTS.md, "Other changes measured this session (lavapipe, ours alone, interleaved A/B in one
 * process)").
 */
export function zeroFlat(t: Tensor, op = 'zeroGrad'): void {
  vec4Count(op, t);
  clearTensor(t, op);
}

/** target ← τ·target + (1 − τ)·online over equal-length flat buffers (one dispatch). */
export function emaKernel(target: Tensor, online: Tensor, tau: StepValue, oneMinusTau: StepValue): void {
  const n4 = vec4Count('emaUpdate', target, online);
  if (n4 === 0) return;
  const strided = optimBlocks();
  EMA.dispatch({
    op: 'emaUpdate',
    entry: strided ? 'main_strided' : 'main',
    constants: { WG: strided ? EMA_STRIDED_WG : WG },
    params: { n4, tau, one_minus_tau: oneMinusTau },
    storage: { online: online.binding('emaUpdate'), tgt: target.binding('emaUpdate') },
    workgroups: strided ? [Math.min(EMA_STRIDED_GROUPS, Math.ceil(n4 / EMA_STRIDED_WG))] : grid(Math.ceil(n4 / WG)),
  });
}

export interface SgdKernelArgs {
  lr: StepValue;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** 1 on the first step (the momentum buffer starts as the gradient), else 0. */
  first: StepValue;
}

export function sgdKernel(t: UpdateTable, w: Tensor, g: Tensor, buf: Tensor, a: SgdKernelArgs): void {
  const n4 = vec4Count('sgd.step', w, g, buf);
  if (n4 === 0) return;
  const op = 'sgd.step';
  SGD.dispatch({
    op,
    ...walk(t, n4),
    params: {
      n4, first: a.first, nesterov: a.nesterov ? 1 : 0, n_blocks: t.numBlocks,
      lr: a.lr, momentum: a.momentum, dampening: a.dampening, wd: a.weightDecay,
    },
    storage: { table: t.table.binding(op), g: g.binding(op), w: w.binding(op), buf: buf.binding(op) },
  });
}

export interface AdamwKernelArgs {
  lr: StepValue;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 − β1^t) and sqrt(1 − β2^t) for the 1-based step count t after this step. */
  lrOverBc1: StepValue;
  sqrtBc2: StepValue;
}

export function adamwKernel(t: UpdateTable, w: Tensor, g: Tensor, m: Tensor, v: Tensor, a: AdamwKernelArgs): void {
  const n4 = vec4Count('adamw.step', w, g, m, v);
  if (n4 === 0) return;
  const op = 'adamw.step';
  ADAMW.dispatch({
    op,
    ...walk(t, n4),
    params: {
      n4, n_blocks: t.numBlocks,
      lr: a.lr, wd: a.weightDecay, beta1: a.beta1, beta2: a.beta2, eps: a.eps, step_size: a.lrOverBc1, bc2_sqrt: a.sqrtBc2,
    },
    storage: { table: t.table.binding(op), g: g.binding(op), w: w.binding(op), m: m.binding(op), v: v.binding(op) },
  });
}

export interface LarsTables {
  /** The update's table (chunks or blocks, as optimBlocks chooses). */
  update: UpdateTable;
  /** The block table (the norms pass reads it whatever the update's layout). */
  blocks: UpdateTable;
  /** Per parameter: (first block, block count, flags, 0). */
  segs: Tensor;
  numSegs: number;
  /** Scratch: [numBlocks · 2] partial sums, [numSegs] trust ratios. */
  partials: Tensor;
  ratios: Tensor;
}

export interface LarsKernelArgs {
  lr: StepValue;
  momentum: number;
  weightDecay: number;
  eta: number;
}

/** LARS's three passes: per-block partial norms, per-parameter trust ratios, the update. */
export function larsKernel(t: LarsTables, w: Tensor, g: Tensor, mu: Tensor, a: LarsKernelArgs): void {
  const n4 = vec4Count('lars.step', w, g, mu);
  if (n4 === 0) return;
  const sg = currentPlan().larsNorms === 'sg';
  const norms = 'lars.norms';
  (sg ? LARS_NORMS_SG : LARS_NORMS).dispatch({
    op: norms,
    constants: { WG: sg ? 8 : WG },
    params: { n_blocks: t.blocks.numBlocks, wd: a.weightDecay },
    storage: { blocks: t.blocks.table.binding(norms), w: w.binding(norms), g: g.binding(norms), partials: t.partials.binding(norms) },
    workgroups: grid(t.blocks.numBlocks),
  });
  const ratios = 'lars.ratios';
  LARS_RATIOS.dispatch({
    op: ratios,
    constants: { WG: 64 },
    params: { n_segs: t.numSegs, eta: a.eta },
    storage: { segs: t.segs.binding(ratios), partials: t.partials.binding(ratios), ratio: t.ratios.binding(ratios) },
    workgroups: [Math.ceil(t.numSegs / 64)],
  });
  const update = 'lars.update';
  LARS_UPDATE.dispatch({
    op: update,
    ...walk(t.update, n4),
    params: { n4, n_blocks: t.update.numBlocks, lr: a.lr, momentum: a.momentum, wd: a.weightDecay },
    storage: {
      table: t.update.table.binding(update),
      ratio: t.ratios.binding(update),
      g: g.binding(update),
      w: w.binding(update),
      mu: mu.binding(update),
    },
  });
}
