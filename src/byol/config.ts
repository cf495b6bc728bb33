/**
 * The experiment's protocol: presets and every setting that shapes a run. The PyTorch reference
 * (scripts/byol_reference.py) reads the same resolved settings from summary.json, so both sides run one
 * protocol.
 */

import type { OptimizerName } from '../nn/optim.js';

export type { OptimizerName };

/**
 * Widths of ResNet-18's first stage that a run or a loaded encoder may have. Below 2, a stage's 1×1 shortcut
 * convolution holds fewer weights than the convolution kernels read at once (4 floats); above 256 the network
 * is over 16 times ResNet-18's parameters, more than any GPU here holds with a batch.
 */
export const WIDTH_LIMITS = { min: 2, max: 256 } as const;
export type PresetName = 'smoke' | 'quick' | 'cifar' | 'full';

export interface ExperimentConfig {
  preset: PresetName;
  /** 'fashion-mnist' | 'stl10' | 'cifar10' | 'folder:PATH'. */
  dataset: string;
  seed: number;
  /** Side of the square images the networks see (the augmentation resamples to it). */
  imageSize: number;
  /** ResNet-18's stem: torchvision's 7×7/2 + max pool ('imagenet'), or 3×3/1 without max pool ('small'). */
  stem: 'imagenet' | 'small';
  /** Labeled images per class for the semi-supervised split. */
  labelsPerClass: number;
  /** Unlabeled images used for BYOL pretraining (at most the pool's size; 0: the whole pool). */
  unlabeledImages: number;
  /** Unlabeled images held out of pretraining to report the BYOL loss on (taken from the pool). */
  heldOutImages: number;
  /** Test images used for every evaluation (0: the whole test split). */
  testImages: number;
  batch: number;
  /** BYOL pretraining. */
  byol: {
    epochs: number;
    optimizer: OptimizerName;
    /** Base learning rate per 256 images (scaled by batch/256, as the BYOL paper does). */
    lrPer256: number;
    weightDecay: number;
    warmupEpochs: number;
    tauBase: number;
    /** Keep τ at tauBase instead of the cosine schedule. */
    tauConstant: boolean;
    projectorHidden: number;
    projectionDim: number;
    predictorHidden: number;
    /** Smallest area fraction of the random resized crop (the paper's 0.08; small images may want more). */
    cropMinScale: number;
    /** Gaussian blur in the views (the paper's p = 1.0 and 0.1); off leaves 32×32 images their few details. */
    blur: boolean;
  };
  /** The supervised baseline and the fine-tuning of the pretrained encoder: the same recipe for both arms. */
  finetune: {
    epochs: number;
    /** 'full': every weight trains; 'linear': the encoder is frozen (a linear probe). */
    mode: 'full' | 'linear';
    /**
     * The optimizer of both classifier arms: 'sgd' (Nesterov, `momentum`) or 'adamw' (decoupled `weightDecay`);
     * 'lars' is BYOL's and not offered here.
     */
    optimizer: 'sgd' | 'adamw';
    lr: number;
    /** SGD's momentum (AdamW ignores it). */
    momentum: number;
    weightDecay: number;
    warmupEpochs: number;
    /** Test evaluations per arm, spread evenly over its epochs (the last epoch is always evaluated). */
    evaluations: number;
    /**
     * Learning-rate factor of the fine-tuning arm against the supervised arm's `lr`. Its head starts as the
     * linear probe of the pretrained features (`headInit`), so the encoder needs small steps only; large ones
     * would wreck what pretraining learned before the head has anything to pass back (linear probe, then
     * fine-tune: Kumar et al., "Fine-Tuning can Distort Pretrained Features", ICLR 2022).
     */
    pretrainedLrScale: number;
    /** 'probe': the fine-tuned arm's fc starts as the linear probe of the frozen encoder; 'random': a new fc. */
    headInit: 'probe' | 'random';
    /**
     * BYOL images between the fine-tunings that draw the fine-tuned arm's gain curve (gains.png): after each
     * BYOL epoch that passes a multiple of it, a copy of the encoder is fine-tuned with this recipe and
     * evaluated, besides the fine-tuned arm after the last epoch. 0: the last epoch only.
     */
    curveEvery: number;
  };
  /** The linear probe (src/byol/probe.ts): candidate L2 strengths, cross-validation folds, L-BFGS iterations. */
  probe: { lambdas: number[]; folds: number; maxIterations: number };
  /** k of the kNN monitor. */
  knnK: number;
  /**
   * Random encoders the random arm (linear probe and kNN before pretraining) is the mean of: the one BYOL starts
   * from, then further draws keyed by the seed (src/byol/inspect.ts's randomEncoder). One draw's probe varies
   * by about 1.2 points sd on the cifar preset (results/byol-cifar/random-encoders-2026-12-06), as much as the
   * seed-to-seed spread of the gains it is subtracted from; the mean of n draws varies √n times less.
   */
  randomDraws: number;
  /** Width of ResNet-18's first stage (64 is torchvision's; tests use less). */
  width: number;
}

const base: ExperimentConfig = {
  preset: 'quick',
  dataset: 'fashion-mnist',
  seed: 0,
  imageSize: 32,
  stem: 'imagenet',
  labelsPerClass: 50,
  unlabeledImages: 1536,
  heldOutImages: 256,
  testImages: 500,
  batch: 64,
  byol: {
    epochs: 2,
    optimizer: 'lars',
    lrPer256: 0.2,
    weightDecay: 1.5e-6,
    warmupEpochs: 0,
    tauBase: 0.996,
    tauConstant: false,
    projectorHidden: 4096,
    projectionDim: 256,
    predictorHidden: 4096,
    cropMinScale: 0.08,
    blur: true,
  },
  finetune: { epochs: 12, mode: 'full', optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1, evaluations: 4, pretrainedLrScale: 0.1, headInit: 'probe', curveEvery: 0 },
  probe: { lambdas: [1, 1e-1, 1e-2, 1e-3, 1e-4], folds: 3, maxIterations: 300 },
  knnK: 20,
  randomDraws: 8,
  width: 64,
};

export const PRESETS: Record<PresetName, ExperimentConfig> = {
  /** Seconds: proves the whole pipeline end to end (tests, a first look). */
  smoke: {
    ...base,
    preset: 'smoke',
    imageSize: 16,
    labelsPerClass: 2,
    unlabeledImages: 64,
    heldOutImages: 32,
    testImages: 64,
    batch: 16,
    byol: { ...base.byol, epochs: 1, projectorHidden: 256, predictorHidden: 256, projectionDim: 64 },
    finetune: { ...base.finetune, epochs: 1 },
    randomDraws: 2,
  },
  /**
   * The default: the whole protocol on Fashion-MNIST within 15 minutes on a 2-core machine without a GPU. BYOL
   * sees 15,360 images (5 epochs of a 3,072-image pool) with the cifar preset's BYOL settings: 3,072 images
   * with LARS (the preset until 2026-12-07) left the frozen encoder worse than random ones over five seeds
   * (results/byol-quick). The gain curve fine-tunes the encoder after BYOL's third epoch (9,216 images) and
   * after its last (the fine-tuned arm); the probe and kNN are evaluated after every epoch.
   */
  quick: {
    ...base,
    unlabeledImages: 3072,
    byol: { ...base.byol, epochs: 5, optimizer: 'adamw', lrPer256: 2e-3, warmupEpochs: 1, tauBase: 0.99, cropMinScale: 0.25, blur: false },
    finetune: { ...base.finetune, curveEvery: 9216 },
  },
  /**
   * Natural images where pretraining's benefit can be measured on a 2-core machine without a GPU: CIFAR-10
   * (the binary release, or a folder of its images), 32×32, at most 40 minutes per seed there. BYOL sees
   * 49,920 images (5 epochs of 156 batches of 64 from a 10,000-image pool); the gain curve fine-tunes the
   * encoder after every epoch (9,984 images). The BYOL settings were chosen on half of a 20,000-image part of
   * CIFAR-10's training split (results/byol-cifar lists those tried): AdamW at 2e-3 per 256 images, crops of
   * at least a quarter of the image and no blur (32×32 images have few details to spare). Both classifier arms
   * train with AdamW at 1e-3 for 20 epochs, the fine-tuned one at the same rate: chosen on 2,000 labeled
   * training images outside every split, where SGD held the fine-tuned arm below the supervised one.
   */
  cifar: {
    ...base,
    preset: 'cifar',
    dataset: 'cifar10',
    unlabeledImages: 10000,
    testImages: 2000,
    byol: { ...base.byol, epochs: 5, optimizer: 'adamw', lrPer256: 2e-3, warmupEpochs: 1, tauBase: 0.99, cropMinScale: 0.25, blur: false },
    finetune: { ...base.finetune, optimizer: 'adamw', lr: 1e-3, pretrainedLrScale: 1, epochs: 20, warmupEpochs: 1, evaluations: 5, curveEvery: 9984 },
  },
  /** The original experiment's scale: STL-10 at 96×96, batch 128. Days on a CPU; hours on a GPU. */
  full: {
    ...base,
    preset: 'full',
    dataset: 'stl10',
    imageSize: 96,
    stem: 'imagenet',
    labelsPerClass: 500,
    unlabeledImages: 0,
    heldOutImages: 1000,
    testImages: 0,
    batch: 128,
    byol: { ...base.byol, epochs: 300, warmupEpochs: 10 },
    finetune: { ...base.finetune, epochs: 50, warmupEpochs: 2 },
  },
};

/** A deep copy of a preset, ready to take overrides. */
export function presetConfig(name: PresetName): ExperimentConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset '${name}': use smoke, quick, cifar or full`);
  return { ...p, byol: { ...p.byol }, finetune: { ...p.finetune }, probe: { ...p.probe, lambdas: [...p.probe.lambdas] } };
}

/**
 * The settings in which two configs differ, as dotted paths into the config (`byol.epochs`) with both
 * values; arrays count as one setting.
 */
export function settingDifferences(before: ExperimentConfig, now: ExperimentConfig): { path: string; before: unknown; now: unknown }[] {
  const out: { path: string; before: unknown; now: unknown }[] = [];
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (plain(a) && plain(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, before: a, now: b });
  };
  walk(before, now, '');
  return out;
}
