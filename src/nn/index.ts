/**
 * The nn layer: modules, layers, ResNet-18, the MLP head, flat parameters, optimizers, schedules, a classifier's
 * training step, checkpoints.
 */
export { Module, Parameter, Counter, type BufferValue, type NamedParameter, type NamedBuffer } from './module.js';
export {
  Conv2d,
  BatchNorm2d,
  BatchNorm1d,
  Linear,
  ReLU,
  MaxPool2d,
  AdaptiveAvgPool2d,
  Flatten,
  Identity,
  Sequential,
  setBatchNormGroups,
  type Conv2dConfig,
  type BatchNormConfig,
  type LinearConfig,
} from './layers.js';
export { ResNet, BasicBlock, resnet18, type ResNetOptions } from './resnet.js';
export { MLPHead, type MlpOptions } from './mlp.js';
export { fans, kaimingNormalFanOut, kaimingUniformDefault, defaultBias } from './init.js';
export { FlatParameters, flattenParameters, flatOf, emaUpdate, type FlatSegment } from './flat.js';
export { nonFiniteTensors, type NonFiniteTensor } from './finite.js';
export {
  Optimizer,
  SGD,
  AdamW,
  LARS,
  isBiasOrNorm,
  type ParamFilter,
  type SgdOptions,
  type AdamwOptions,
  type LarsOptions,
  type OptimizerStateTensor,
} from './optim.js';
export type { OptimOverrides } from './kernels.js';
export { warmupCosine, byolTau, type WarmupCosineOptions } from './schedule.js';
export { classifierStep, type ClassifierStepOptions } from './train-step.js';
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type SafeTensor, type SafeDType, type SafetensorsFile } from './safetensors.js';
export {
  encodeCheckpoint,
  loadCheckpoint,
  modelStateDict,
  loadModelState,
  CheckpointError,
  OPTIM_PREFIX,
  type CheckpointContents,
  type LoadCheckpointOptions,
  type LoadStateOptions,
} from './checkpoint.js';
