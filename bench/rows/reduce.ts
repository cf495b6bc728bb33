/**
 * reduce rows: sum over the last axis and over axis 0 of [4096, 1024], and the mean over N, H, W of an
 * activation [32, 64, 16, 16] (batch norm's statistics; NHWC [32, 16, 16, 64] over axes 0, 1, 2 on tfjs's
 * side, each in its own native layout). Work is the input read once plus the output written.
 *
 * ours: the `sum` / `mean` ops (one reduction dispatch each) without gradient recording. tfjs: tf.sum /
 * tf.mean, on tfjs-webgpu and tfjs-wasm.
 */
import { fromArray, mean, noGrad, sum } from '../../src/index.js';
import type { TF } from '../backends.js';
import { registerRows, uniformData, type BenchRow, type Impl } from '../registry.js';
import { nchwToNhwc } from './resnet.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;

function sumRow(rows: number, cols: number, axis: 0 | 1): BenchRow {
  // Positive inputs keep the sums away from zero, where the relative check would measure rounding.
  const data = () => uniformData(rows * cols, 5000 + axis, 0, 1);
  const tfImpl: Impl = {
    setup({ tf }: { tf: TF }) {
      const x = tf.tensor2d(data(), [rows, cols]);
      return { run: () => tf.sum(x, axis), dispose: () => x.dispose() };
    },
  };
  return {
    family: 'reduce',
    label: `sum over axis ${axis} of [${rows}, ${cols}]`,
    work: { bytes: 4 * (rows * cols + (axis === 0 ? cols : rows)) },
    check: { against: ['tfjs-webgpu'], tolerance: 1e-4 },
    impls: {
      ours: {
        setup() {
          const x = fromArray(data(), [rows, cols]);
          return { run: () => noGrad(() => sum(x, axis)), dispose: () => x.dispose() };
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
    },
  };
}

function channelMeanRow(N: number, C: number, H: number): BenchRow {
  const shape = [N, C, H, H];
  const size = N * C * H * H;
  // Positive inputs keep the channel means away from zero.
  const data = () => uniformData(size, 6000 + C, 0, 1);
  const tfImpl: Impl = {
    setup({ tf }: { tf: TF }) {
      const x = tf.tensor4d(nchwToNhwc(data(), shape), [N, H, H, C]);
      return { run: (): TfTensor => tf.mean(x, [0, 1, 2]), dispose: () => x.dispose() };
    },
  };
  return {
    family: 'reduce',
    label: `mean over N,H,W of [${N}, ${C}, ${H}, ${H}]`,
    work: { bytes: 4 * (size + C) },
    check: { against: ['tfjs-webgpu'], tolerance: 1e-4 },
    impls: {
      ours: {
        setup() {
          const x = fromArray(data(), shape);
          return { run: () => noGrad(() => mean(x, [0, 2, 3])), dispose: () => x.dispose() };
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
    },
  };
}

registerRows(sumRow(4096, 1024, 1), sumRow(4096, 1024, 0), channelMeanRow(32, 64, 16));
