/**
 * pool rows: max pool 3×3 / stride 2 / padding 1 (ResNet's stem pool) forward and backward at
 * [32, 64, 16, 16] (32×32 input) and [32, 64, 48, 48] (96×96 input), and global average pooling
 * [N, C, H, W] → [N, C]. Work is the minimum traffic: forward reads x and writes y; backward reads dy and
 * writes dx; global average pooling reads x and writes [N, C].
 *
 * ours: maxPool2dForward (values + int32 argmax), maxPool2dBackward (routes dy through the argmax),
 *   globalAvgPoolForward; NCHW.
 * tfjs: NHWC; tf.maxPool(x, 3, 2, 1); the backward is its 'MaxPoolGrad' kernel (dy, input, output: it
 *   recomputes the argmax from the input, where ours keeps it from the forward); tf.mean(x, [1, 2]); on
 *   tfjs-webgpu and tfjs-wasm. tfjs's first output is transposed to NCHW on its
 *   first run only (the correctness check).
 * torch (CPU): aten's max_pool2d_with_indices and max_pool2d_with_indices_backward (which, like ours, routes
 *   dy through the forward's indices), F.adaptive_avg_pool2d(x, 1); NCHW.
 */
import { fromArray } from '../../src/index.js';
import { globalAvgPoolForward, maxPool2dBackward, maxPool2dForward } from '../../src/kernels/pool.js';
import type { TF } from '../backends.js';
import { registerRows, uniformData, type BenchRow, type Impl } from '../registry.js';
import { nchwToNhwc } from './resnet.js';
import { torchImpl } from '../torch.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;
type Tensor4D = import('@tensorflow/tfjs').Tensor4D;

const OPTS = { kernel: 3, stride: 2, padding: 1 } as const;

/** Transposes the first output NHWC → NCHW on the first call only (the run the correctness check reads). */
export function firstToNchw(tf: TF) {
  let first = true;
  return (outs: TfTensor[]): TfTensor[] => {
    if (!first) return outs;
    first = false;
    if (outs[0]!.rank !== 4) return outs;
    const t = tf.transpose(outs[0]!, [0, 3, 1, 2]);
    outs[0]!.dispose();
    return [t, ...outs.slice(1)];
  };
}

function maxPoolRow(N: number, C: number, H: number, kind: 'fwd' | 'bwd'): BenchRow {
  const Ho = Math.floor((H + 2 - 3) / 2) + 1;
  const shape = [N, C, H, H];
  const size = N * C * H * H;
  const outSize = N * C * Ho * Ho;
  const inputs = () => ({ x: uniformData(size, 31 * H + C, -1, 1), dy: uniformData(outSize, 37 * H + C, -1, 1) });
  const tfImpl: Impl = {
    setup({ tf }) {
      const d = inputs();
      const x = tf.tensor4d(nchwToNhwc(d.x, shape), [N, H, H, C]);
      const conv = firstToNchw(tf);
      if (kind === 'fwd') return { run: () => conv([tf.maxPool(x, 3, 2, 1)]), dispose: () => x.dispose() };
      const y = tf.maxPool(x, 3, 2, 1);
      const dy = tf.tensor4d(nchwToNhwc(d.dy, [N, C, Ho, Ho]), [N, Ho, Ho, C]);
      return {
        run: () => conv([tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 3, strides: 2, pad: 1 }) as Tensor4D]),
        dispose: () => (x.dispose(), y.dispose(), dy.dispose()),
      };
    },
  };
  return {
    family: 'pool',
    label: `maxpool 3×3/2 ${kind === 'fwd' ? 'forward' : 'backward'} [${N}, ${C}, ${H}, ${H}]`,
    work: { bytes: 4 * (size + outSize) },
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: 1e-5 },
    impls: {
      ours: {
        setup() {
          const d = inputs();
          const x = fromArray(d.x, shape);
          if (kind === 'fwd') {
            return {
              run: () => {
                const { y, argmax } = maxPool2dForward(x, OPTS);
                return [y, argmax];
              },
              dispose: () => x.dispose(),
            };
          }
          const { y, argmax } = maxPool2dForward(x, OPTS);
          y.dispose();
          const dy = fromArray(d.dy, [N, C, Ho, Ho]);
          return {
            run: () => maxPool2dBackward(dy, argmax, shape, OPTS),
            dispose: () => (x.dispose(), argmax.dispose(), dy.dispose()),
          };
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
      torch: torchImpl(() => {
        const d = inputs();
        return { op: 'maxpool', params: { kind, ...OPTS }, inputs: { x: { data: d.x, shape }, dy: { data: d.dy, shape: [N, C, Ho, Ho] } } };
      }),
    },
  };
}

function avgPoolRow(N: number, C: number, H: number): BenchRow {
  const shape = [N, C, H, H];
  const size = N * C * H * H;
  // Positive inputs keep the means away from zero, where the relative check would measure rounding.
  const data = () => uniformData(size, 41 * H + C, 0, 1);
  const tfImpl: Impl = {
    setup({ tf }: { tf: TF }) {
      const x = tf.tensor4d(nchwToNhwc(data(), shape), [N, H, H, C]);
      return { run: () => tf.mean(x, [1, 2]), dispose: () => x.dispose() };
    },
  };
  return {
    family: 'pool',
    label: `global avg pool [${N}, ${C}, ${H}, ${H}]`,
    work: { bytes: 4 * (size + N * C) },
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: 1e-4 },
    impls: {
      ours: {
        setup() {
          const x = fromArray(data(), shape);
          return { run: () => globalAvgPoolForward(x), dispose: () => x.dispose() };
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
      torch: torchImpl(() => ({ op: 'avgpool', inputs: { x: { data: data(), shape } } })),
    },
  };
}

registerRows(
  maxPoolRow(32, 64, 16, 'fwd'),
  maxPoolRow(32, 64, 16, 'bwd'),
  maxPoolRow(32, 64, 48, 'fwd'),
  maxPoolRow(32, 64, 48, 'bwd'),
  avgPoolRow(32, 512, 3),
  avgPoolRow(32, 64, 48),
);
