/**
 * The BYOL model (Grill et al., arXiv 2006.07733): an online network (encoder → projector → predictor) and a
 * target network (encoder → projector) that follows the online one as an exponential moving average and
 * receives no gradients. The loss is symmetric: the online prediction of each view regresses the target
 * projection of the other view, each term 2 − 2·cos(p, z) averaged over the batch.
 */
import { noGrad } from '../autograd/tape.js';
import { add } from '../autograd/ops.js';
import { byolLoss } from '../autograd/nn.js';
import { Generator } from '../kernels/creation.js';
import { Module } from '../nn/module.js';
import { resnet18, type ResNet } from '../nn/resnet.js';
import { MLPHead } from '../nn/mlp.js';
import { emaUpdate, flattenParameters } from '../nn/flat.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Scalar } from '../tensor/capture.js';
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
   * network on the tape; the target runs without gradients.
   */
  loss(v1: Tensor, v2: Tensor): Tensor {
    const p1 = this.online.forward(v1);
    const p2 = this.online.forward(v2);
    const [z1, z2] = noGrad(() => [this.target.forward(v1), this.target.forward(v2)]);
    const l1 = byolLoss(p1, z2);
    const l2 = byolLoss(p2, z1);
    const total = add(l1, l2);
    for (const t of [p1, p2, z1, z2, l1, l2]) t.dispose();
    return total;
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
