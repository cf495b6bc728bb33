/**
 * PyTorch's default initializations, drawn from the engine's seeded counter-based Generator (so the numbers
 * differ from torch's CPU generator, but the distributions are the same).
 */
import { fillKernel, Generator } from '../kernels/creation.js';
import type { Shape, Tensor } from '../tensor/tensor.js';

/** fan_in and fan_out of a weight [out, in, ...kernel] as torch.nn.init._calculate_fan_in_and_fan_out. */
export function fans(shape: Shape): {
  /** Inputs feeding one output: in × the kernel's size. */
  fanIn: number;
  /** Outputs fed by one input: out × the kernel's size. */
  fanOut: number;
} {
  if (shape.length < 2) throw new Error(`fans: a weight needs at least 2 dimensions, got [${shape.join(', ')}]`);
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** kaiming_normal_(mode='fan_out', nonlinearity='relu'): N(0, (√2/√fan_out)²), as torchvision's ResNet convolutions. */
export function kaimingNormalFanOut(shape: Shape, gen: Generator): Tensor {
  const std = Math.SQRT2 / Math.sqrt(fans(shape).fanOut);
  return gen.normal(shape, 0, std);
}

/** kaiming_uniform_(a=√5) (fan_in, leaky_relu): U(±1/√fan_in), torch's default for Linear and Conv weights. */
export function kaimingUniformDefault(shape: Shape, gen: Generator): Tensor {
  const gain = Math.sqrt(2 / (1 + 5));
  const bound = gain * Math.sqrt(3 / fans(shape).fanIn);
  return gen.uniform(shape, -bound, bound);
}

/** uniform(±1/√fan_in): torch's default bias of Linear and Conv. */
export function defaultBias(size: number, fanIn: number, gen: Generator): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return gen.uniform([size], -bound, bound);
}

/** A new float32 tensor with every element `value` (for initializations). */
export function constant(shape: Shape, value: number): Tensor {
  return fillKernel(shape, value);
}

/** The generator layers use when none is given: seed 0 (deterministic). */
export function defaultGenerator(): Generator {
  return new Generator(0);
}
