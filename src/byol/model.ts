/**
 * The BYOL model (Grill et al., arXiv 2006.07733): an online network (encoder → projector → predictor) and a
 * target network (encoder → projector) that follows the online one as an exponential moving average and
 * receives no gradients. The loss is symmetric: the online prediction of each view regresses the target
 * projection of the other view, each term 2 − 2·cos(p, z) averaged over the batch.
 */
import { noGrad } from '../autograd/tape.js';
import { byolLossSymmetric } from '../autograd/nn.js';
import { Generator } from '../kernels/creation.js';
import { setBatchNormGroups } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { resnet18, type ResNet } from '../nn/resnet.js';
import { MLPHead } from '../nn/mlp.js';
import { emaUpdate, flattenParameters } from '../nn/flat.js';
import { getRuntime } from '../tensor/engine.js';
import { empty, shapeString, type Tensor } from '../tensor/tensor.js';
import type { Scalar } from '../capture/capture.js';
import type { ExperimentConfig } from './config.js';

/** encoder → projector (→ predictor, online only). Registration order makes the target a prefix of the online. */
export class ByolNetwork extends Module {
  constructor(
    readonly encoder: ResNet,
    readonly projector: MLPHead,
    readonly predictor: MLPHead | null,
  ) {
    super();
    this.registerModule('encoder', encoder);
    this.registerModule('projector', projector);
    if (predictor) this.registerModule('predictor', predictor);
  }

  /** The online prediction q(g(f(x))), or the target projection g(f(x)) without a predictor. */
  forward(x: Tensor): Tensor {
    const y = this.encoder.forward(x);
    const z = this.projector.forward(y);
    y.dispose();
    if (!this.predictor) return z;
    const p = this.predictor.forward(z);
    z.dispose();
    return p;
  }
}

export class Byol {
  private constructor(
    readonly online: ByolNetwork,
    readonly target: ByolNetwork,
  ) {}

  /** A fresh model: the online network initialized from `seed`, the target a copy of its encoder and projector. */
  static create(config: Pick<ExperimentConfig, 'stem' | 'width' | 'byol'>, seed: number): Byol {
    const gen = new Generator(seed);
    const encoder = resnet18({ numClasses: null, smallStem: config.stem === 'small', width: config.width, generator: gen });
    const dim = encoder.featureDim;
    const b = config.byol;
    const projector = new MLPHead({ inFeatures: dim, hidden: b.projectorHidden, outFeatures: b.projectionDim, generator: gen });
    const predictor = new MLPHead({ inFeatures: b.projectionDim, hidden: b.predictorHidden, outFeatures: b.projectionDim, generator: gen });
    const online = new ByolNetwork(encoder, projector, predictor);
    flattenParameters(online);
    const target = new ByolNetwork(encoder.deepCopy(), projector.deepCopy(), null);
    target.requiresGrad(false);
    flattenParameters(target);
    return new Byol(online, target);
  }

  /**
   * The symmetric loss of two views of one batch: L(q(v1), z'(v2)) + L(q(v2), z'(v1)). Records the online
   * network on the tape; the target runs without gradients. Both views go through each network in one
   * pass (lossStacked).
   */
  loss(v1: Tensor, v2: Tensor): Tensor {
    const x = stackViews(v1, v2);
    const total = this.lossStacked(x);
    x.dispose();
    return total;
  }

  /**
   * loss() of two views stacked along N ([2B, C, H, W], view 1's samples first): each network runs once over
   * the 2B samples with batch norm in two groups (each view normalized with its own statistics, the running
   * statistics updated for view 1, then view 2), so the result is that of one pass per view and network, up
   * to float32 summation order, in half the dispatches, and every online parameter receives one gradient.
   */
  lossStacked(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[0] % 2 !== 0) throw new Error(`Byol.lossStacked: expects two views stacked along N, [2B, ...]; got ${shapeString(x.shape)}`);
    const restore = [setBatchNormGroups(this.online, 2), setBatchNormGroups(this.target, 2)];
    try {
      const p = this.online.forward(x);
      const z = noGrad(() => this.target.forward(x));
      const total = byolLossSymmetric(p, z);
      p.dispose();
      z.dispose();
      return total;
    } finally {
      for (const r of restore) r();
    }
  }

  /** ξ ← τ·ξ + (1 − τ)·θ over the target's parameters: one dispatch (τ may be a captured step's value). */
  updateTarget(tau: Scalar): void {
    emaUpdate(this.target, this.online, tau);
  }

  train(on = true): void {
    this.online.train(on);
    this.target.train(on);
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
  }
}

/**
 * v1 and v2 [B, ...] stacked along N into one [2B, ...] tensor: a view of their storage when v2 already follows
 * v1 there (the augmentation writes its views so), else two buffer copies (no kernel).
 */
export function stackViews(v1: Tensor, v2: Tensor): Tensor {
  if (v1.dtype !== 'float32' || v2.dtype !== 'float32' || v1.rank < 1 || v1.shape.join() !== v2.shape.join()) {
    throw new Error(`stackViews: the two views must be float32 tensors of one shape, got ${shapeString(v1.shape)} ${v1.dtype} and ${shapeString(v2.shape)} ${v2.dtype}`);
  }
  v1.assertAlive('stackViews');
  v2.assertAlive('stackViews');
  const stacked = [2 * v1.shape[0], ...v1.shape.slice(1)];
  if (v1.storage === v2.storage && v2.byteOffset === v1.byteOffset + v1.byteLength) return v1.view(stacked);
  const out = empty(stacked, 'float32', 'byol.views');
  if (v1.size === 0) return out;
  const rt = getRuntime();
  rt.copy(v1.storage.buffer, v1.byteOffset, out.storage.buffer, out.byteOffset, v1.byteLength, 'byol.views');
  rt.copy(v2.storage.buffer, v2.byteOffset, out.storage.buffer, out.byteOffset + v1.byteLength, v2.byteLength, 'byol.views');
  return out;
}

/** Holds online and target under one root, so a checkpoint carries both with prefixed names. */
export class ByolState extends Module {
  constructor(byol: Byol) {
    super();
    this.registerModule('online', byol.online);
    this.registerModule('target', byol.target);
  }

  forward(): Tensor {
    throw new Error('ByolState only groups the networks for checkpoints');
  }
}
