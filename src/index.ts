/**
 * The engine's public API, the same in Node and in browsers: tensors on WebGPU, differentiable ops and
 * autograd, layers and ResNet-18, optimizers, checkpoints in the safetensors format, and the browser-safe
 * datasets and batch loader. Node-only parts (datasets from disk, checkpoint files) are in `byol-webgpu/node`.
 * @module byol-webgpu
 */
export { acquireDevice, adapterCaps, noAdapterHelp, NoAdapterError, type AdapterCaps, type AdapterReport, type AcquiredDevice, type DeviceRequest } from './gpu/device.js';
export { GpuRuntime, GpuError, grid, type KernelProfile, type OpProfile, type RuntimeOptions, type DispatchSpec, type ShaderSource, type StorageBinding } from './gpu/runtime.js';
export { awaitGpu, pollPlan, pollStats, type PollOverrides, type PollPlan } from './gpu/poll.js';
export { withKernelOverrides, overridesKey, type KernelOverrides } from './gpu/overrides.js';
export { BufferPool, OutOfMemoryError, type PoolStats } from './gpu/pool.js';
export { init, getRuntime, scope, beginScope, endScope, keep, memory, type MemoryStats } from './tensor/engine.js';
export { Tensor, Storage, empty, fromArray, fromBytes, type ArrayInput, type DType, type GradNode, type Shape, type TypedArrayFor } from './tensor/tensor.js';
export { captureStep, CapturedStep, perStep, stepScalar, StepValue, valueOf, type Scalar, type CaptureOptions, type CaptureStats, type StepOutputs, type HostInput, type StepInput } from './capture/capture.js';
export { zeros, ones, full, arange, uniform, normal, Generator } from './kernels/creation.js';
export { clone } from './kernels/copy.js';
export {
  defineKernel,
  Kernel,
  type ConstantDecl,
  type ConstantValue,
  type ConstantValues,
  type KernelDeclaration,
  type KernelLaunch,
  type LaunchConstants,
  type LaunchParams,
  type ParamSchema,
  type ParamType,
  type ParamValue,
  type ParamValues,
  type RequiredConstants,
  type StorageDecl,
} from './kernels/define.js';
export { axpyInPlace } from './kernels/elementwise.js';
export * from './autograd/ops.js';
export { backward, noGrad, isGradEnabled, setGradEnabled, requireGrad, detach, record, writableInto, type BackwardOptions, type BackwardRule } from './autograd/tape.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { arr, relativeError, type Arr } from './autograd/reference.js';
export * from './autograd/nn.js';
export type { BatchNormForwardOptions, BatchNormOverrides } from './kernels/batchnorm.js';
export type { Conv2dOverrides, ConvBatchNormEval } from './kernels/conv2d.js';
export type { MatmulOverrides } from './kernels/matmul.js';
export type { MaxPool2dOverrides } from './kernels/pool.js';
export * from './nn/index.js';
export * from './data/index.js';
