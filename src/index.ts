/** The engine's public API. */
export { acquireDevice, noAdapterHelp, NoAdapterError, type AdapterReport } from './gpu/device.js';
export { GpuRuntime, GpuError, grid, type OpProfile, type RuntimeOptions, type DispatchSpec, type ShaderSource, type StorageBinding } from './gpu/runtime.js';
export { awaitGpu, pollStats, pollTuning } from './gpu/poll.js';
export type { PoolStats } from './gpu/pool.js';
export { init, getRuntime, scope, beginScope, endScope, keep, memory, type MemoryStats } from './tensor/engine.js';
export { Tensor, empty, fromArray, fromBytes, type DType, type Shape } from './tensor/tensor.js';
export { zeros, ones, full, arange, uniform, normal, Generator } from './kernels/creation.js';
export { clone } from './kernels/copy.js';
export { axpyInPlace } from './kernels/elementwise.js';
export * from './autograd/ops.js';
export { backward, noGrad, isGradEnabled, setGradEnabled, requireGrad, detach, record, type BackwardOptions, type BackwardRule } from './autograd/tape.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { arr, relativeError, type Arr } from './autograd/reference.js';
export * from './autograd/nn.js';
export * from './nn/index.js';
export * from './data/index.js';
