/** matmul rows: square C = A·B with uniform [0, 1) inputs, FLOPs 2·M·N·K. torch: torch.mm. */
import { fromArray, matmul, noGrad } from '../../src/index.js';
import { registerRows, uniformData, type BenchRow } from '../registry.js';
import { torchImpl } from '../torch.js';

export const MATMUL_SIZES = [256, 512, 1024];

function matmulRow(M: number, N: number, K: number): BenchRow {
  // The same inputs on every backend, so the correctness check compares like with like.
  const inputs = () => ({ a: uniformData(M * K, 1000 + M), b: uniformData(K * N, 2000 + N) });
  return {
    family: 'matmul',
    label: `matmul ${M}×${N}×${K}`,
    work: { flops: 2 * M * N * K },
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: 1e-3 },
    impls: {
      ours: {
        setup() {
          const { a, b } = inputs();
          const ta = fromArray(a, [M, K]);
          const tb = fromArray(b, [K, N]);
          return {
            run: () => noGrad(() => matmul(ta, tb)),
            dispose: () => (ta.dispose(), tb.dispose()),
          };
        },
      },
      'tfjs-webgpu': {
        setup({ tf }) {
          const { a, b } = inputs();
          const ta = tf.tensor2d(a, [M, K]);
          const tb = tf.tensor2d(b, [K, N]);
          return {
            run: () => tf.matMul(ta, tb),
            dispose: () => (ta.dispose(), tb.dispose()),
          };
        },
      },
      'tfjs-wasm': {
        setup({ tf }) {
          const { a, b } = inputs();
          const ta = tf.tensor2d(a, [M, K]);
          const tb = tf.tensor2d(b, [K, N]);
          return {
            run: () => tf.matMul(ta, tb),
            dispose: () => (ta.dispose(), tb.dispose()),
          };
        },
      },
      torch: torchImpl(() => {
        const { a, b } = inputs();
        return { op: 'matmul', inputs: { a: { data: a, shape: [M, K] }, b: { data: b, shape: [K, N] } } };
      }),
    },
  };
}

registerRows(...MATMUL_SIZES.map((n) => matmulRow(n, n, n)));
