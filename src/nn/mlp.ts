/**
 * The MLP head BYOL uses for its projector and predictor: Linear → BatchNorm1d → ReLU → Linear
 * (512 → 4096 → 256 by default). A Sequential, so the state-dict names are `0.weight`, `1.running_mean`,
 * `3.bias`, ... as for torch's nn.Sequential(Linear, BatchNorm1d, ReLU, Linear).
 */
import { Generator } from '../kernels/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { BatchNorm1d, Linear, ReLU, Sequential } from './layers.js';

/** Sizes and initialization of {@link MLPHead}. */
export interface MlpOptions {
  /** Input features. Default 512. */
  inFeatures?: number;
  /** Hidden features. Default 4096. */
  hidden?: number;
  /** Output features. Default 256. */
  outFeatures?: number;
  /** Draws the initialization; default a Generator with seed 0. */
  generator?: Generator;
}

export class MLPHead extends Sequential {
  /** Input features. */
  readonly inFeatures: number;
  /** Hidden features. */
  readonly hidden: number;
  /** Output features. */
  readonly outFeatures: number;

  constructor(options: MlpOptions = {}) {
    const gen = options.generator ?? new Generator(0);
    const inF = options.inFeatures ?? 512;
    const hidden = options.hidden ?? 4096;
    const outF = options.outFeatures ?? 256;
    super(new Linear(inF, hidden, { generator: gen }), new BatchNorm1d(hidden), new ReLU(), new Linear(hidden, outF, { generator: gen }));
    this.inFeatures = inF;
    this.hidden = hidden;
    this.outFeatures = outF;
  }

  /** Linear → BatchNorm1d + ReLU as one op (BatchNorm1d.forwardAct) → Linear. */
  override forward(x: Tensor): Tensor {
    const h = (this.at(0) as Linear).forward(x);
    const a = (this.at(1) as BatchNorm1d).forwardAct(h, { relu: true });
    h.dispose();
    const out = (this.at(3) as Linear).forward(a);
    a.dispose();
    return out;
  }
}
