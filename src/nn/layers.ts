/**
 * Layers with PyTorch's parameter names, shapes and default initialization: Conv2d, BatchNorm2d,
 * BatchNorm1d, Linear, ReLU, MaxPool2d, AdaptiveAvgPool2d (output 1×1), Flatten, Identity, Sequential.
 * Activations are NCHW, as in PyTorch.
 */
import { add, flatten, matmul, relu, reshape } from '../autograd/ops.js';
import { batchNormAct, conv2d, conv2dBatchNormEval, globalAvgPool, maxPool2d } from '../autograd/nn.js';
import type { Generator } from '../kernels/creation.js';
import { shapeString, type Tensor } from '../tensor/tensor.js';
import { perStep } from '../capture/capture.js';
import { constant, defaultBias, defaultGenerator, fans, kaimingNormalFanOut, kaimingUniformDefault } from './init.js';
import { Counter, Module, type Parameter } from './module.js';

/** Options of {@link Conv2d}. */
export interface Conv2dConfig {
  /** Stride along H and W. Default 1. */
  stride?: number;
  /** Zero padding on each side. Default 0. */
  padding?: number;
  /** Whether there is a bias. Default true. */
  bias?: boolean;
  /** Draws the initialization. */
  generator?: Generator;
  /**
   * 'default': torch's Conv2d default (kaiming_uniform(a=√5) weight, uniform(±1/√fan_in) bias);
   * 'kaimingNormalFanOut': kaiming_normal_(mode='fan_out', nonlinearity='relu') weight, zero bias (torchvision's ResNet).
   */
  init?: 'default' | 'kaimingNormalFanOut';
}

/**
 * A 2-d convolution over [N, C, H, W] with a square kernel, as torch.nn.Conv2d (weight [out, in, k, k], bias
 * [out]).
 */
export class Conv2d extends Module {
  /** The kernel, [outChannels, inChannels, kernelSize, kernelSize]. */
  readonly weight: Parameter;
  /** The bias, [outChannels], or null. */
  readonly bias: Parameter | null;
  /** Stride along H and W. */
  readonly stride: number;
  /** Zero padding on each side. */
  readonly padding: number;

  constructor(
    /** Input channels. */
    readonly inChannels: number,
    /** Output channels. */
    readonly outChannels: number,
    /** Kernel height and width. */
    readonly kernelSize: number,
    config: Conv2dConfig = {},
  ) {
    super();
    const gen = config.generator ?? defaultGenerator();
    this.stride = config.stride ?? 1;
    this.padding = config.padding ?? 0;
    const shape = [outChannels, inChannels, kernelSize, kernelSize];
    const resnetInit = config.init === 'kaimingNormalFanOut';
    this.weight = this.registerParameter('weight', resnetInit ? kaimingNormalFanOut(shape, gen) : kaimingUniformDefault(shape, gen));
    this.bias =
      config.bias === false
        ? null
        : this.registerParameter('bias', resnetInit ? constant([outChannels], 0) : defaultBias(outChannels, fans(shape).fanIn, gen));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight.value, this.bias?.value ?? null, { stride: this.stride, padding: this.padding });
  }
}

/** Options of {@link BatchNorm1d} and {@link BatchNorm2d}. */
export interface BatchNormConfig {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Weight of a new batch in the running statistics. Default 0.1. */
  momentum?: number;
}

abstract class BatchNormBase extends Module {
  /** The scale γ, [numFeatures], initialized to 1. */
  readonly weight: Parameter;
  /** The shift β, [numFeatures], initialized to 0. */
  readonly bias: Parameter;
  /** The running mean, [numFeatures] (buffer `running_mean`). */
  readonly runningMean: Tensor;
  /** The running unbiased variance, [numFeatures] (buffer `running_var`). */
  readonly runningVar: Tensor;
  /** Batches seen in training mode (buffer `num_batches_tracked`). */
  readonly numBatchesTracked: Counter;
  /** Added to the variance. */
  readonly eps: number;
  /** Weight of a new batch in the running statistics; a precise re-estimate sets it per batch (1 / (k + 1)). */
  momentum: number;
  /** Groups along N normalized separately in training mode (see setBatchNormGroups); 1 is ordinary batch norm. */
  groups = 1;
  /** Rank of the input: 2 ([N, C]) or 4 ([N, C, H, W]). */
  protected abstract readonly rank: number;

  constructor(
    /** Channels (C). */
    readonly numFeatures: number,
    config: BatchNormConfig = {},
  ) {
    super();
    this.eps = config.eps ?? 1e-5;
    this.momentum = config.momentum ?? 0.1;
    this.weight = this.registerParameter('weight', constant([numFeatures], 1));
    this.bias = this.registerParameter('bias', constant([numFeatures], 0));
    this.runningMean = this.registerBuffer('running_mean', constant([numFeatures], 0));
    this.runningVar = this.registerBuffer('running_var', constant([numFeatures], 1));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', new Counter(0));
  }

  forward(x: Tensor): Tensor {
    return this.forwardAct(x);
  }

  /**
   * act(this(x) + residual), act = ReLU when `relu`, as one op (batchNormAct): what this layer followed by an
   * add and a ReLU computes, in one kernel each way.
   */
  forwardAct(x: Tensor, options: { residual?: Tensor | null; relu?: boolean } = {}): Tensor {
    if (x.rank !== this.rank || x.shape[1] !== this.numFeatures) {
      const want = this.rank === 4 ? `[N, ${this.numFeatures}, H, W]` : `[N, ${this.numFeatures}]`;
      throw new Error(`${this.constructor.name}: expected input ${want}, got ${shapeString(x.shape)}`);
    }
    if (this.training) {
      const counter = this.numBatchesTracked;
      const groups = this.groups;
      perStep(() => {
        counter.value += groups;
      });
    }
    return batchNormAct(x, this.weight.value, this.bias.value, {
      training: this.training,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      momentum: this.momentum,
      eps: this.eps,
      groups: this.groups,
      residual: options.residual ?? null,
      relu: options.relu ?? false,
    });
  }
}

/**
 * Sets `groups` on every batch-norm layer of `module`: in training mode each layer then splits its batch
 * into that many consecutive groups along N and normalizes each with its own statistics, updating the
 * running statistics (and num_batches_tracked) once per group in order, so one pass over G concatenated
 * batches computes what G passes would. Returns a function that restores each layer's previous setting.
 */
export function setBatchNormGroups(module: Module, groups: number): () => void {
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`setBatchNormGroups: groups must be a positive integer, got ${groups}`);
  const previous: [BatchNormBase, number][] = [];
  for (const [, m] of module.namedModules()) {
    if (m instanceof BatchNormBase) {
      previous.push([m, m.groups]);
      m.groups = groups;
    }
  }
  return () => {
    for (const [m, g] of previous) m.groups = g;
  };
}

/**
 * Batch norm over [N, C, H, W], as torch.nn.BatchNorm2d: batch statistics and running-statistics updates in
 * training mode, the running statistics in eval mode.
 */
export class BatchNorm2d extends BatchNormBase {
  protected readonly rank = 4;

  /**
   * act(this(conv(x))), act = ReLU when `relu`. In eval mode without gradients, one kernel: the convolution's
   * epilogue does the batch norm and the ReLU (conv2dBatchNormEval, the same bits); otherwise conv.forward,
   * then forwardAct. (A residual add stays in forwardAct: in the epilogue it cost about what it saved, see
   * bench/RESULTS.md, "Eval batch norm in the convolution's epilogue".)
   */
  afterConv(conv: Conv2d, x: Tensor, options: { relu?: boolean } = {}): Tensor {
    if (!this.training) {
      const fused = conv2dBatchNormEval(x, conv.weight.value, conv.bias?.value ?? null, { stride: conv.stride, padding: conv.padding }, {
        mean: this.runningMean,
        variance: this.runningVar,
        gamma: this.weight.value,
        beta: this.bias.value,
        eps: this.eps,
        relu: options.relu ?? false,
      });
      if (fused) return fused;
    }
    const c = conv.forward(x);
    const out = this.forwardAct(c, options);
    c.dispose();
    return out;
  }
}

/** Batch norm over [N, C], as torch.nn.BatchNorm1d. */
export class BatchNorm1d extends BatchNormBase {
  protected readonly rank = 2;
}

/** Options of {@link Linear}. */
export interface LinearConfig {
  /** Whether there is a bias. Default true. */
  bias?: boolean;
  /** Draws the initialization; default a Generator with seed 0. */
  generator?: Generator;
}

/** y = x·Wᵀ + b with W [out, in], as torch.nn.Linear. */
export class Linear extends Module {
  /** The weight, [outFeatures, inFeatures]. */
  readonly weight: Parameter;
  /** The bias, [outFeatures], or null. */
  readonly bias: Parameter | null;

  constructor(
    /** Input features. */
    readonly inFeatures: number,
    /** Output features. */
    readonly outFeatures: number,
    config: LinearConfig = {},
  ) {
    super();
    const gen = config.generator ?? defaultGenerator();
    this.weight = this.registerParameter('weight', kaimingUniformDefault([outFeatures, inFeatures], gen));
    this.bias = config.bias === false ? null : this.registerParameter('bias', defaultBias(outFeatures, inFeatures, gen));
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures}, ${this.outFeatures}): expected input [N, ${this.inFeatures}], got ${shapeString(x.shape)}`);
    }
    const y = matmul(x, this.weight.value, false, true);
    if (!this.bias) return y;
    const out = add(y, this.bias.value);
    y.dispose();
    return out;
  }
}

/** max(x, 0), as torch.nn.ReLU. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Max pooling over [N, C, H, W] with a square window, as torch.nn.MaxPool2d. */
export class MaxPool2d extends Module {
  constructor(
    /** Window height and width. */
    readonly kernelSize: number,
    /** Stride; default the window size. */
    readonly stride = kernelSize,
    /** Implicit −∞ padding on each side. */
    readonly padding = 0,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernel: this.kernelSize, stride: this.stride, padding: this.padding });
  }
}

/** Adaptive average pooling; only the 1×1 output (global average pooling) that ResNet needs: [N, C, H, W] → [N, C, 1, 1]. */
export class AdaptiveAvgPool2d extends Module {
  /** `outputSize` must be 1 (or [1, 1]). */
  constructor(
    /** The output's height and width: 1 (or [1, 1]). */
    readonly outputSize: number | readonly [number, number] = 1,
  ) {
    super();
    const [h, w] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
    if (h !== 1 || w !== 1) throw new Error(`AdaptiveAvgPool2d: only output size 1 (global average pooling) is supported, got ${JSON.stringify(outputSize)}`);
  }

  forward(x: Tensor): Tensor {
    const pooled = globalAvgPool(x);
    const out = reshape(pooled, [x.shape[0], x.shape[1], 1, 1]);
    pooled.dispose();
    return out;
  }
}

/** Flattens axes startDim.. into one (torch.nn.Flatten's default start_dim = 1). */
export class Flatten extends Module {
  /** Flattens from axis `startDim` on. */
  constructor(
    /** The first axis merged. */
    readonly startDim = 1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim);
  }
}

/** Returns its input (a view, so the caller may dispose input and output independently). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return reshape(x, [...x.shape]);
  }
}

/**
 * Children named '0', '1', ... run in order. Intermediate activations are disposed as soon as the next one
 * is made (the tape keeps what backward needs).
 */
export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  /** Number of layers. */
  get length(): number {
    return this._modules.size;
  }

  /** The layer at index `i`. */
  at(i: number): Module {
    const m = this._modules.get(String(i));
    if (!m) throw new RangeError(`Sequential.at: index ${i} is out of range (length ${this.length})`);
    return m;
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this._modules.values()) {
      const next = m.forward(h);
      if (h !== x) h.dispose();
      h = next;
    }
    return h === x ? reshape(x, [...x.shape]) : h;
  }
}
