/**
 * batchnorm rows: batch norm in training mode, forward (batch statistics + normalization) and backward
 * (dx, dgamma, dbeta), at shapes ResNet-18 sees at batch 32 (32×32 and 96×96 input). Work is the minimum
 * traffic: forward reads x and writes y (2 floats per element), backward reads dy and x and writes dx (3).
 *
 * tfjs-webgpu: NHWC; forward = tf.moments over N, H, W + tf.batchNorm; backward = the closed form
 *   dbeta = Σ dy, dgamma = Σ dy·x̂, dx = gamma·invstd·(dy − (dbeta + x̂·dgamma)/M)
 * written with tf ops (what tf.grad of the forward computes, without re-running the forward), given the
 * forward's mean and variance. As in conv2d.ts, the tfjs side transposes its first output to NCHW on its
 * first run only (the correctness check).
 *
 * torch (CPU): native_batch_norm in training mode (y, batch mean, inverse std) and native_batch_norm_backward
 * (dx, dgamma, dbeta), the kernels autograd runs, NCHW as ours.
 */
import { fromArray } from '../../src/index.js';
import { batchNormBackward, batchNormForward } from '../../src/kernels/batchnorm.js';
import type { TF } from '../backends.js';
import { registerRows, uniformData, type BenchRow } from '../registry.js';
import { permute } from './conv2d.js';
import { torchImpl } from '../torch.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;

export const BATCHNORM_SHAPES: [number, number, number][] = [
  // [C, H (= W), input size it comes from]
  [64, 16, 32], // bn1 at 32×32 input
  [64, 8, 32], // layer1
  [512, 1, 32], // layer4
  [64, 48, 96], // bn1 at 96×96 input
  [128, 12, 96], // layer2
  [512, 3, 96], // layer4
];

const EPS = 1e-5;

function bnRow(N: number, C: number, H: number, from: number, kind: 'fwd' | 'bwd'): BenchRow {
  const size = N * C * H * H;
  const shape = [N, C, H, H];
  const seed = 1009 * C + 17 * H;
  // beta in [4, 5) keeps y ≥ 4 − 1.5·|x̂| > 1 away from zero, so the relative check is meaningful everywhere.
  const inputs = () => ({
    x: uniformData(size, seed + 1, -1, 2),
    dy: uniformData(size, seed + 2, -1, 1),
    gamma: uniformData(C, seed + 3, 0.5, 1.5),
    beta: uniformData(C, seed + 4, 4, 5),
  });
  return {
    family: 'batchnorm',
    label: `batchnorm ${kind === 'fwd' ? 'forward' : 'backward'} [${N}, ${C}, ${H}, ${H}] (@${from})`,
    work: { bytes: (kind === 'fwd' ? 2 : 3) * size * 4 },
    // dx sums to zero over each channel, so some entries sit next to zero, where float32 rounding of
    // dy − (dbeta + x̂·dgamma)/M alone gives relative differences near 1e-3 (ours against a float64
    // reference: 0.7–1.9e-3 at these shapes), so the backward rows allow 1e-2.
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: kind === 'fwd' ? 1e-3 : 1e-2 },
    impls: {
      ours: {
        setup() {
          const d = inputs();
          const x = fromArray(d.x, shape);
          const gamma = fromArray(d.gamma, [C]);
          const beta = fromArray(d.beta, [C]);
          if (kind === 'fwd') {
            return {
              run: () => {
                const o = batchNormForward(x, gamma, beta, { training: true });
                return [o.y, o.stats];
              },
              dispose: () => (x.dispose(), gamma.dispose(), beta.dispose()),
            };
          }
          const dy = fromArray(d.dy, shape);
          const f = batchNormForward(x, gamma, beta, { training: true });
          f.y.dispose();
          return {
            run: () => {
              const o = batchNormBackward(dy, x, null, gamma, f, { training: true });
              return [o.dx, o.dgamma, o.dbeta];
            },
            dispose: () => {
              for (const t of [x, gamma, beta, dy, f.stats]) t.dispose();
            },
          };
        },
      },
      'tfjs-webgpu': {
        setup({ tf }: { tf: TF }) {
          const d = inputs();
          const nhwc = [N, H, H, C];
          const x = tf.tensor4d(permute(d.x, shape, [0, 2, 3, 1]), [N, H, H, C]);
          const dy = tf.tensor4d(permute(d.dy, shape, [0, 2, 3, 1]), [N, H, H, C]);
          const gamma = tf.tensor1d(d.gamma);
          const beta = tf.tensor1d(d.beta);
          const M = N * H * H;
          let first = true;
          const toOurs = (outs: TfTensor[]) => {
            if (!first) return outs;
            first = false;
            const t = tf.transpose(outs[0], [0, 3, 1, 2]);
            outs[0].dispose();
            return [t, ...outs.slice(1)];
          };
          if (kind === 'fwd') {
            return {
              run: () =>
                toOurs(
                  tf.tidy(() => {
                    const { mean, variance } = tf.moments(x, [0, 1, 2]);
                    return [tf.batchNorm(x, mean, variance, beta, gamma, EPS), mean, variance];
                  }),
                ),
              dispose: () => (x.dispose(), dy.dispose(), gamma.dispose(), beta.dispose()),
            };
          }
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          const invstd = tf.rsqrt(tf.add(variance, EPS));
          variance.dispose();
          return {
            run: () =>
              toOurs(
                tf.tidy(() => {
                  const xhat = tf.mul(tf.sub(x, mean), invstd);
                  const dbeta = tf.sum(dy, [0, 1, 2]);
                  const dgamma = tf.sum(tf.mul(dy, xhat), [0, 1, 2]);
                  const inner = tf.sub(dy, tf.div(tf.add(dbeta, tf.mul(xhat, dgamma)), M));
                  const dx = tf.mul(tf.mul(gamma, invstd), inner).reshape(nhwc);
                  return [dx, dgamma, dbeta];
                }),
              ),
            dispose: () => {
              for (const t of [x, dy, gamma, beta, mean, invstd]) t.dispose();
            },
          };
        },
      },
      torch: torchImpl(() => {
        const d = inputs();
        return {
          op: 'batchnorm',
          params: { kind, eps: EPS },
          inputs: { x: { data: d.x, shape }, dy: { data: d.dy, shape }, gamma: { data: d.gamma, shape: [C] }, beta: { data: d.beta, shape: [C] } },
        };
      }),
    },
  };
}

const rows: BenchRow[] = [];
for (const [C, H, from] of BATCHNORM_SHAPES) for (const kind of ['fwd', 'bwd'] as const) rows.push(bnRow(32, C, H, from, kind));
registerRows(...rows);
