/**
 * Optimizers as GPU kernels over a model's flat parameter and gradient buffers (see flat.ts): each keeps
 * its state (momentum, Adam moments) in flat buffers with the same layout, and a step is one dispatch
 * (SGD, AdamW) or three (LARS: per-block partial norms, per-parameter trust ratios, the update).
 *
 * Per-parameter behaviour (frozen: skipped; excluded from weight decay; excluded from LARS adaptation) is a
 * flag in a table, one word per 64-float chunk or four per block of one parameter (as the kernel choice
 * optimBlocks wants; see kernels.ts), rebuilt only when a flag changes.
 */
import { fromArray, type Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/engine.js';
import { flatOf, FlatParameters, type FlatSegment } from './flat.js';
import {
  adamwKernel,
  zeroFlat,
  FLAG_FROZEN,
  FLAG_NO_ADAPT,
  FLAG_NO_DECAY,
  larsKernel,
  optimBlocks,
  sgdKernel,
  type LarsTables,
  type UpdateTable,
} from './kernels.js';
import type { Module, Parameter } from './module.js';
import { empty } from '../tensor/tensor.js';
import { perStep, StepValue, stepScalar, valueOf, type Scalar } from '../capture/capture.js';

/** vec4s per block of the block table (4096 floats). */
const BLOCK4 = 1024;

/** Chooses parameters by name and parameter (e.g. biases and batch-norm weights: p.shape.length === 1). */
export type ParamFilter = (name: string, p: Parameter) => boolean;

/** Biases and batch-norm parameters: every one-dimensional parameter (as the common LARS implementations filter). */
export const isBiasOrNorm: ParamFilter = (_name, p) => p.shape.length === 1;

/** One parameter's state in one optimizer slot, read back for a checkpoint. */
export interface OptimizerStateTensor {
  /** `<parameter name>.<slot>`, e.g. `layer1.0.conv1.weight.momentum_buffer`. */
  name: string;
  /** The parameter's shape. */
  shape: readonly number[];
  /** The values. */
  data: Float32Array;
}

/**
 * An optimizer over a model's flat parameter buffer ({@link flattenParameters}): one dispatch per step for
 * every parameter. Subclasses: {@link SGD}, {@link AdamW}, {@link LARS}.
 */
export abstract class Optimizer {
  /** The flat buffers it updates. */
  readonly flat: FlatParameters;
  /** Steps taken so far. */
  stepCount = 0;
  /** 'SGD', 'AdamW' or 'LARS' (recorded in checkpoints). */
  abstract readonly kind: string;
  /** @internal */
  protected readonly slots = new Map<string, Tensor>();
  /** The chunk and block tables, each with the flags it was built for. */
  private tables: Partial<Record<UpdateTable['layout'], { t: UpdateTable; key: string }>> = {};

  /** The learning rate step() uses when it is not given one; a replayed step reads it afresh. */
  protected readonly lrValue: StepValue;

  constructor(
    model: Module | FlatParameters,
    /** The initial learning rate (see `lr`). */
    lr: number,
    /** Parameters excluded from weight decay (null: none). */
    protected readonly noDecay: ParamFilter | null,
    /** Parameters excluded from LARS's trust-ratio adaptation (null: none). */
    protected readonly noAdapt: ParamFilter | null,
  ) {
    this.flat = model instanceof FlatParameters ? model : flatOf(model, 'optimizer');
    if (!(lr >= 0)) throw new RangeError(`optimizer: learning rate must be ≥ 0, got ${lr}`);
    this.lrValue = new StepValue(lr);
  }

  /** The learning rate step() uses when it is not given one. */
  get lr(): number {
    return this.lrValue.value;
  }

  /** Sets the learning rate of the following steps (replayed ones included). */
  set lr(v: number) {
    this.lrValue.value = v;
  }

  /**
   * The rate of this step: the one given (a captured step's value, or a number in eager code), else this.lr
   * (a StepValue the optimizer holds, so setting `lr` between replays reaches them).
   */
  protected rate(lr: Scalar | undefined): StepValue {
    if (lr === undefined) return this.lrValue;
    const v = valueOf(lr);
    if (!(v >= 0)) throw new RangeError(`${this.kind}.step: learning rate must be ≥ 0, got ${v}`);
    return stepScalar(lr, `${this.kind}.step: lr`);
  }

  /** @internal */
  protected addSlot(name: string): Tensor {
    const t = keep(empty([this.flat.length], 'float32', `optim.${name}`));
    zeroFlat(t, 'optim.init');
    this.slots.set(name, t);
    return t;
  }

  /** @internal */
  protected flagsOf(s: FlatSegment): number {
    let f = 0;
    if (!s.param.requiresGrad) f |= FLAG_FROZEN;
    if (this.noDecay?.(s.name, s.param)) f |= FLAG_NO_DECAY;
    if (this.noAdapt?.(s.name, s.param)) f |= FLAG_NO_ADAPT;
    return f;
  }

  /** @internal */
  protected currentFlags(): number[] {
    return this.flat.segments.map((s) => this.flagsOf(s));
  }

  /**
   * The flag table of the update's layout (or the one asked for), rebuilt when a flag changed: per 64-float
   * chunk, parameter index | flags << 24; per block of at most 1024 vec4s of one parameter, (first vec4,
   * vec4 count, flags, parameter index).
   * @internal
   */
  protected updateTable(flags: number[], layout: UpdateTable['layout'] = optimBlocks() ? 'blocks' : 'chunks'): UpdateTable {
    const key = flags.join(',');
    const have = this.tables[layout];
    if (have && have.key === key) return have.t;
    have?.t.table.dispose();
    const segs = this.flat.segments;
    let words: Uint32Array;
    let numBlocks = 0;
    if (layout === 'chunks') {
      const chunks = this.flat.length / 64;
      words = new Uint32Array(chunks);
      for (let i = 0; i < segs.length; i++) {
        const start = segs[i].offset / 64;
        const end = i + 1 < segs.length ? segs[i + 1].offset / 64 : chunks;
        words.fill(((flags[i] << 24) | i) >>> 0, start, end);
      }
    } else {
      const blocks: number[] = [];
      segs.forEach((s, i) => {
        const first4 = s.offset / 4;
        const len4 = Math.ceil(s.size / 4);
        for (let k = 0; k < len4; k += BLOCK4) blocks.push(first4 + k, Math.min(BLOCK4, len4 - k), flags[i], i);
      });
      numBlocks = blocks.length / 4;
      words = Uint32Array.from(blocks.length ? blocks : [0, 0, 0, 0]);
    }
    const t: UpdateTable = { layout, table: keep(fromArray(words, [words.length], 'uint32')), numBlocks };
    this.tables[layout] = { t, key };
    return t;
  }

  /** Zeroes the gradients (one dispatch). */
  zeroGrad(): void {
    this.flat.zeroGrad();
  }

  /**
   * One update with learning rate `lr` (default: this.lr). In a captured step pass the step's StepValue (or
   * nothing): a plain number would be baked into the record.
   */
  abstract step(lr?: Scalar): void;

  /** Hyperparameters, for checkpoints. */
  abstract hyperparameters(): Record<string, number | boolean | string>;

  /** The state's flat buffers (momentum, Adam moments) by slot name, laid out as `flat`; read them, never dispose them. */
  stateBuffers(): ReadonlyMap<string, Tensor> {
    return this.slots;
  }

  /** The state per parameter and slot, read back to the CPU (for checkpoints). */
  async stateTensors(): Promise<OptimizerStateTensor[]> {
    const out: OptimizerStateTensor[] = [];
    for (const [slot, t] of this.slots) {
      const all = new Float32Array((await t.data()).buffer);
      for (const s of this.flat.segments) out.push({ name: `${s.name}.${slot}`, shape: s.shape, data: all.slice(s.offset, s.offset + s.size) });
    }
    return out;
  }

  /** Restores the state from `<parameter>.<slot>` tensors; every slot of every parameter must be given. */
  loadStateTensors(get: (name: string) => Float32Array | undefined, stepCount: number): void {
    for (const [slot, t] of this.slots) {
      const full = new Float32Array(this.flat.length);
      for (const s of this.flat.segments) {
        const d = get(`${s.name}.${slot}`);
        if (!d) throw new Error(`optimizer state: missing '${s.name}.${slot}' for ${this.kind}`);
        if (d.length !== s.size) throw new Error(`optimizer state: '${s.name}.${slot}' has ${d.length} values, expected ${s.size}`);
        full.set(d, s.offset);
      }
      const tmp = fromArray(full, [this.flat.length]);
      t.storage.runtime.copy(tmp.storage.buffer, 0, t.storage.buffer, t.byteOffset, full.byteLength, 'optim.load');
      tmp.dispose();
    }
    this.stepCount = stepCount;
  }

  /** Frees the optimizer's state buffers. */
  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
    for (const { t } of Object.values(this.tables)) t.table.dispose();
    this.tables = {};
  }
}

/** Options of {@link SGD}, as torch.optim.SGD's. */
export interface SgdOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor. Default 0. */
  momentum?: number;
  /** Dampening of the momentum. Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum and zero dampening). Default false. */
  nesterov?: boolean;
  /** Parameters without weight decay (default: none, as torch with one parameter group). */
  noDecay?: ParamFilter | null;
}

/** torch.optim.SGD (momentum, dampening, Nesterov, weight decay), one dispatch per step. */
export class SGD extends Optimizer {
  readonly kind = 'SGD';
  /** Momentum factor. */
  readonly momentum: number;
  /** Dampening of the momentum. */
  readonly dampening: number;
  /** L2 penalty added to the gradient. */
  readonly weightDecay: number;
  /** Whether the momentum is Nesterov's. */
  readonly nesterov: boolean;
  private readonly buf: Tensor;

  constructor(model: Module | FlatParameters, options: SgdOptions) {
    super(model, options.lr, options.noDecay ?? null, null);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
    this.buf = this.addSlot('momentum_buffer');
  }

  private readonly first = new StepValue(1);

  step(lr?: Scalar): void {
    const rate = this.rate(lr);
    const table = this.updateTable(this.currentFlags());
    perStep(() => {
      this.first.value = this.stepCount === 0 ? 1 : 0;
      this.stepCount++;
    });
    sgdKernel(table, this.flat.params, this.flat.grads, this.buf, {
      lr: rate,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      first: this.first,
    });
  }

  hyperparameters(): Record<string, number | boolean> {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weight_decay: this.weightDecay, nesterov: this.nesterov };
  }
}

/** Options of {@link AdamW}, as torch.optim.AdamW's. */
export interface AdamwOptions {
  /** Learning rate. Default 0.001. */
  lr?: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay. Default 0.01. */
  weightDecay?: number;
  /** Parameters without weight decay (default: none). */
  noDecay?: ParamFilter | null;
}

/** torch.optim.AdamW (bias-corrected, decoupled weight decay, amsgrad off), one dispatch per step. */
export class AdamW extends Optimizer {
  readonly kind = 'AdamW';
  /** Decay rate of the first moment estimate. */
  readonly beta1: number;
  /** Decay rate of the second moment estimate. */
  readonly beta2: number;
  /** Added to the denominator. */
  readonly eps: number;
  /** Decoupled weight decay. */
  readonly weightDecay: number;
  private readonly m: Tensor;
  private readonly v: Tensor;

  constructor(model: Module | FlatParameters, options: AdamwOptions = {}) {
    super(model, options.lr ?? 1e-3, options.noDecay ?? null, null);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 1e-2;
    this.m = this.addSlot('exp_avg');
    this.v = this.addSlot('exp_avg_sq');
  }

  private readonly lrOverBc1 = new StepValue(0);
  private readonly sqrtBc2 = new StepValue(0);

  step(lr?: Scalar): void {
    const rate = this.rate(lr);
    const table = this.updateTable(this.currentFlags());
    perStep(() => {
      this.stepCount++;
      this.lrOverBc1.value = rate.value / (1 - this.beta1 ** this.stepCount);
      this.sqrtBc2.value = Math.sqrt(1 - this.beta2 ** this.stepCount);
    });
    adamwKernel(table, this.flat.params, this.flat.grads, this.m, this.v, {
      lr: rate,
      weightDecay: this.weightDecay,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      lrOverBc1: this.lrOverBc1,
      sqrtBc2: this.sqrtBc2,
    });
  }

  hyperparameters(): Record<string, number> {
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weight_decay: this.weightDecay };
  }
}

/** Options of {@link LARS}. */
export interface LarsOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor. Default 0.9. */
  momentum?: number;
  /** Weight decay, added to the gradient before the trust ratio. Default 0. */
  weightDecay?: number;
  /** Trust coefficient η (default 0.001). */
  eta?: number;
  /** Parameters without weight decay; default biases and batch-norm parameters (every 1-D parameter). */
  noDecay?: ParamFilter | null;
  /** Parameters without the trust-ratio adaptation; default the same as noDecay's default. */
  noAdapt?: ParamFilter | null;
}

/**
 * LARS as the BYOL paper uses it, with the semantics of the common PyTorch implementations (Barlow Twins' /
 * VICReg's `LARS` class, `weight_decay_filter` and `lars_adaptation_filter` both excluding 1-D parameters).
 * Per parameter w with gradient g, exactly:
 *   u = g + wd·w                                  (w excluded from weight decay: u = g)
 *   q = η·‖w‖ / ‖u‖ if ‖w‖ > 0 and ‖u‖ > 0, else 1  (w excluded from adaptation: q = 1)
 *   μ = momentum·μ + q·u                          (μ starts at zero, so the first μ is q·u)
 *   w = w − lr·μ
 * with ‖·‖ the Euclidean norm over the whole parameter tensor. Frozen parameters are skipped. The norms
 * come from a segmented reduction: blocks of at most 4096 floats of one parameter each (one workgroup per
 * block), then one thread per parameter sums its blocks and writes q, then the elementwise update.
 */
export class LARS extends Optimizer {
  readonly kind = 'LARS';
  /** Momentum factor. */
  readonly momentum: number;
  /** Weight decay. */
  readonly weightDecay: number;
  /** Trust coefficient η. */
  readonly eta: number;
  private readonly mu: Tensor;
  /** Per parameter: its blocks (segs) and the scratch of the norms (partials, ratios), for one set of flags. */
  private segTables: { key: string; segs: Tensor; numSegs: number; partials: Tensor; ratios: Tensor } | null = null;

  constructor(model: Module | FlatParameters, options: LarsOptions) {
    super(
      model,
      options.lr,
      options.noDecay === undefined ? isBiasOrNorm : options.noDecay,
      options.noAdapt === undefined ? isBiasOrNorm : options.noAdapt,
    );
    this.momentum = options.momentum ?? 0.9;
    this.weightDecay = options.weightDecay ?? 0;
    this.eta = options.eta ?? 0.001;
    this.mu = this.addSlot('mu');
  }

  private larsTables(flags: number[]): LarsTables {
    const blocks = this.updateTable(flags, 'blocks');
    const update = optimBlocks() ? blocks : this.updateTable(flags, 'chunks');
    const key = flags.join(',');
    if (!this.segTables || this.segTables.key !== key) {
      if (this.segTables) for (const t of [this.segTables.segs, this.segTables.partials, this.segTables.ratios]) t.dispose();
      // Each parameter's blocks are consecutive in the block table, in segment order.
      const segs: number[] = [];
      let firstBlock = 0;
      this.flat.segments.forEach((s, i) => {
        const count = Math.ceil(Math.ceil(s.size / 4) / BLOCK4);
        segs.push(firstBlock, count, flags[i], 0);
        firstBlock += count;
      });
      const numSegs = segs.length / 4;
      this.segTables = {
        key,
        segs: keep(fromArray(Uint32Array.from(segs.length ? segs : [0, 0, 0, 0]), undefined, 'uint32')),
        numSegs,
        partials: keep(empty([Math.max(1, blocks.numBlocks) * 2], 'float32', 'lars.partials')),
        ratios: keep(empty([Math.max(1, numSegs)], 'float32', 'lars.ratios')),
      };
    }
    const { segs, numSegs, partials, ratios } = this.segTables;
    return { update, blocks, segs, numSegs, partials, ratios };
  }

  step(lr?: Scalar): void {
    const rate = this.rate(lr);
    const tables = this.larsTables(this.currentFlags());
    larsKernel(tables, this.flat.params, this.flat.grads, this.mu, { lr: rate, momentum: this.momentum, weightDecay: this.weightDecay, eta: this.eta });
    perStep(() => {
      this.stepCount++;
    });
  }

  hyperparameters(): Record<string, number> {
    return { lr: this.lr, momentum: this.momentum, weight_decay: this.weightDecay, eta: this.eta };
  }

  override dispose(): void {
    if (this.segTables) for (const t of [this.segTables.segs, this.segTables.partials, this.segTables.ratios]) t.dispose();
    this.segTables = null;
    super.dispose();
  }
}

/** The optimizers an experiment names in its settings. */
export type OptimizerName = 'lars' | 'adamw' | 'sgd';

/**
 * The optimizer `kind` over `model`: LARS and SGD (Nesterov) with `momentum`, AdamW with its default betas;
 * `weightDecay` is each one's own kind (coupled for SGD and LARS, decoupled for AdamW).
 */
export function makeOptimizer(kind: OptimizerName, model: Module | FlatParameters, lr: number, weightDecay: number, momentum = 0.9): Optimizer {
  switch (kind) {
    case 'lars':
      return new LARS(model, { lr, momentum, weightDecay });
    case 'adamw':
      return new AdamW(model, { lr, weightDecay });
    case 'sgd':
      return new SGD(model, { lr, momentum, weightDecay, nesterov: true });
    default:
      throw new Error(`unknown optimizer '${kind as string}': use lars, adamw or sgd`);
  }
}
