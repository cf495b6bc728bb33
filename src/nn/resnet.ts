/**
 * ResNet-18 exactly as torchvision builds it (torchvision.models.resnet18): BasicBlock, [2, 2, 2, 2],
 * a 7×7/2 stem convolution and a 3×3/2 max pool, downsample = conv1x1 (stride 2) + BN named
 * `downsample.0` / `downsample.1`, global average pooling and `fc`. Parameter and buffer names, shapes and
 * state-dict order are torchvision's, so checkpoints map one to one.
 *
 * Options: the small-image stem (3×3/1 convolution, no max pool; `maxpool` stays as an Identity so the
 * names do not move, as CIFAR variants do with `model.maxpool = nn.Identity()`), `fc` as Linear(512, k) or
 * Identity (numClasses: null), and a base width other than 64 (narrow copies for tests; 64 is ResNet-18).
 *
 * Initialization as torchvision: convolutions kaiming_normal_(mode='fan_out', nonlinearity='relu'),
 * batch norm weight 1 and bias 0, fc with Linear's default; drawn from the given Generator.
 */
import { Generator } from '../kernels/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear, MaxPool2d, ReLU, Sequential } from './layers.js';
import { Module } from './module.js';

/**
 * ResNet's basic block: two 3×3 convolutions with batch norm, added to the input (through `downsample` when
 * the shape changes), then ReLU; torchvision's names.
 */
export class BasicBlock extends Module {
  /** Output channels per `planes` (1 for the basic block). */
  static readonly expansion = 1;
  /** The first 3×3 convolution (carries the stride). */
  readonly conv1: Conv2d;
  /** Batch norm after conv1. */
  readonly bn1: BatchNorm2d;
  /** ReLU, applied after bn1 and after the sum (registered as in torchvision). */
  readonly relu: ReLU;
  /** The second 3×3 convolution. */
  readonly conv2: Conv2d;
  /** Batch norm after conv2. */
  readonly bn2: BatchNorm2d;
  /** 1×1 convolution and batch norm on the shortcut when stride or width change, else null. */
  readonly downsample: Sequential | null;

  /** A block from `inplanes` to `planes` channels with this stride; `gen` draws the initialization. */
  constructor(inplanes: number, planes: number, stride: number, gen: Generator) {
    super();
    const init = 'kaimingNormalFanOut' as const;
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false, generator: gen, init }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false, generator: gen, init }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample =
      stride !== 1 || inplanes !== planes
        ? this.registerModule(
            'downsample',
            new Sequential(new Conv2d(inplanes, planes, 1, { stride, bias: false, generator: gen, init }), new BatchNorm2d(planes)),
          )
        : null;
  }

  /**
   * relu(bn2(conv2(relu(bn1(conv1(x))))) + identity), with each batch norm, its add and its ReLU fused into
   * one op (BatchNorm2d.forwardAct), and, where no residual follows, in eval mode without gradients into the
   * convolution before it (BatchNorm2d.afterConv); `relu` stays registered (it holds nothing) so the modules line up with
   * torchvision's.
   */
  forward(x: Tensor): Tensor {
    const r1 = this.bn1.afterConv(this.conv1, x, { relu: true });
    const c2 = this.conv2.forward(r1);
    r1.dispose();
    const identity = this.downsample ? this.shortcut(this.downsample, x) : x;
    const out = this.bn2.forwardAct(c2, { residual: identity, relu: true });
    c2.dispose();
    if (identity !== x) identity.dispose();
    return out;
  }

  /** downsample(x): its convolution and batch norm as one kernel where BatchNorm2d.afterConv can. */
  private shortcut(downsample: Sequential, x: Tensor): Tensor {
    const conv = downsample.length === 2 ? downsample.at(0) : null;
    const bn = downsample.length === 2 ? downsample.at(1) : null;
    if (conv instanceof Conv2d && bn instanceof BatchNorm2d) return bn.afterConv(conv, x);
    return downsample.forward(x);
  }
}

/** Options of {@link ResNet} and {@link resnet18}. */
export interface ResNetOptions {
  /** Classes of the `fc` layer (Linear(512, k)); null replaces fc by Identity (512-d features). Default 1000. */
  numClasses?: number | null;
  /** 3×3/1 stem convolution and no max pool, for 32×32–96×96 images. Default false (torchvision's 7×7/2 + max pool). */
  smallStem?: boolean;
  /** Base width (64 for ResNet-18; smaller only for tests). */
  width?: number;
  /** Draws the initialization; default a Generator with seed 0. */
  generator?: Generator;
  /** Blocks per stage; [2, 2, 2, 2] is ResNet-18. */
  layers?: readonly [number, number, number, number];
}

/**
 * A ResNet of basic blocks with torchvision's structure, names and initialization; {@link resnet18} makes
 * ResNet-18.
 */
export class ResNet extends Module {
  /** The stem convolution (7×7/2, or 3×3/1 with the small stem). */
  readonly conv1: Conv2d;
  /** Batch norm after the stem. */
  readonly bn1: BatchNorm2d;
  /** ReLU after the stem. */
  readonly relu: ReLU;
  /** 3×3/2 max pooling (Identity with the small stem). */
  readonly maxpool: MaxPool2d | Identity;
  /** Stage 1 (width w, stride 1). */
  readonly layer1: Sequential;
  /** Stage 2 (width 2w, stride 2). */
  readonly layer2: Sequential;
  /** Stage 3 (width 4w, stride 2). */
  readonly layer3: Sequential;
  /** Stage 4 (width 8w, stride 2). */
  readonly layer4: Sequential;
  /** Global average pooling. */
  readonly avgpool: AdaptiveAvgPool2d;
  /** The classifier, Linear(8w, numClasses), or Identity (features out). */
  fc: Module;
  /** Flattens the pooled [N, C, 1, 1] to [N, C] (not a registered module, as in torchvision). */
  readonly flatten = new Flatten(1);
  /** Width of the features before fc (512 for ResNet-18). */
  readonly featureDim: number;

  /** Builds the network; see {@link ResNetOptions}. */
  constructor(options: ResNetOptions = {}) {
    super();
    const gen = options.generator ?? new Generator(0);
    const w = options.width ?? 64;
    const blocks = options.layers ?? [2, 2, 2, 2];
    const init = 'kaimingNormalFanOut' as const;
    this.conv1 = this.registerModule(
      'conv1',
      options.smallStem
        ? new Conv2d(3, w, 3, { stride: 1, padding: 1, bias: false, generator: gen, init })
        : new Conv2d(3, w, 7, { stride: 2, padding: 3, bias: false, generator: gen, init }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(w));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', options.smallStem ? new Identity() : new MaxPool2d(3, 2, 1));
    let inplanes = w;
    const makeLayer = (planes: number, n: number, stride: number): Sequential => {
      const list: BasicBlock[] = [];
      for (let i = 0; i < n; i++) {
        list.push(new BasicBlock(inplanes, planes, i === 0 ? stride : 1, gen));
        inplanes = planes;
      }
      return new Sequential(...list);
    };
    this.layer1 = this.registerModule('layer1', makeLayer(w, blocks[0], 1));
    this.layer2 = this.registerModule('layer2', makeLayer(2 * w, blocks[1], 2));
    this.layer3 = this.registerModule('layer3', makeLayer(4 * w, blocks[2], 2));
    this.layer4 = this.registerModule('layer4', makeLayer(8 * w, blocks[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.featureDim = 8 * w;
    const k = options.numClasses === undefined ? 1000 : options.numClasses;
    this.fc = this.registerModule('fc', k === null ? new Identity() : new Linear(8 * w, k, { generator: gen }));
  }

  /** Features before fc: [N, 512]. */
  features(x: Tensor): Tensor {
    let h = x;
    const step = (m: Module): void => {
      const next = m.forward(h);
      if (h !== x) h.dispose();
      h = next;
    };
    // conv1, then bn1 + relu as one op (all three as one kernel in eval mode without gradients).
    h = this.bn1.afterConv(this.conv1, x, { relu: true });
    if (!(this.maxpool instanceof Identity)) step(this.maxpool);
    step(this.layer1);
    step(this.layer2);
    step(this.layer3);
    step(this.layer4);
    step(this.avgpool);
    step(this.flatten);
    return h;
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x);
    if (this.fc instanceof Identity) return f;
    const out = this.fc.forward(f);
    f.dispose();
    return out;
  }
}

/** torchvision's resnet18 (numClasses 1000 by default); see ResNetOptions for the small stem and fc. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet({ ...options, layers: [2, 2, 2, 2] });
}
