/**
 * conv2d rows: forward, input gradient and filter gradient at every distinct ResNet-18 convolution
 * (torchvision resnet18, ImageNet stem) for 32×32 and 96×96 input at batch 32. FLOPs 2·N·C_out·H_out·W_out·C_in·KH·KW
 * for all three.
 *
 * Ours runs NCHW activations and [C_out, C_in, KH, KW] weights; tfjs-webgpu needs NHWC activations and
 * [KH, KW, C_in, C_out] filters, so the same logical inputs are transposed on the host before upload. The
 * correctness check compares first outputs element by element, so the tfjs side transposes its output to our
 * layout on its FIRST run only (the one the check makes, before warm-up); timed runs return tfjs's own layout.
 * Inputs are uniform [0, 1) so that every output is a sum of positive terms and the relative check is
 * meaningful everywhere.
 *
 * torch (CPU): F.conv2d, and aten's convolution_backward asked for the one gradient (the kernels autograd
 * runs), in our layouts (NCHW, [C_out, C_in, KH, KW]), so its output is compared as it is.
 */
import { fromArray } from '../../src/index.js';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dForward } from '../../src/kernels/conv2d.js';
import type { TF } from '../backends.js';
import { registerRows, uniformData, type BenchRow } from '../registry.js';
import { torchImpl, type TorchWorkload } from '../torch.js';

export interface ConvShape {
  /** Where it sits in ResNet-18, e.g. 'layer2.0.conv1'. */
  name: string;
  N: number;
  C_in: number;
  H: number;
  C_out: number;
  K: number;
  stride: number;
  pad: number;
  /** How many of ResNet-18's convolutions have this shape. */
  count: number;
}

/** The distinct convolutions of torchvision's resnet18 for a square input of `size` pixels at batch N. */
export function resnet18Convs(size: number, N = 32): ConvShape[] {
  const out = (h: number, k: number, s: number, p: number) => Math.floor((h + 2 * p - k) / s) + 1;
  const list: ConvShape[] = [];
  const stemOut = out(size, 7, 2, 3);
  list.push({ name: 'conv1', N, C_in: 3, H: size, C_out: 64, K: 7, stride: 2, pad: 3, count: 1 });
  let h = out(stemOut, 3, 2, 1); // maxpool 3×3/2 pad 1
  list.push({ name: 'layer1 3×3', N, C_in: 64, H: h, C_out: 64, K: 3, stride: 1, pad: 1, count: 4 });
  let c = 64;
  for (const [layer, co] of [
    ['layer2', 128],
    ['layer3', 256],
    ['layer4', 512],
  ] as const) {
    list.push({ name: `${layer}.0.conv1`, N, C_in: c, H: h, C_out: co, K: 3, stride: 2, pad: 1, count: 1 });
    list.push({ name: `${layer}.0.downsample`, N, C_in: c, H: h, C_out: co, K: 1, stride: 2, pad: 0, count: 1 });
    h = out(h, 3, 2, 1);
    list.push({ name: `${layer} 3×3`, N, C_in: co, H: h, C_out: co, K: 3, stride: 1, pad: 1, count: 3 });
    c = co;
  }
  return list;
}

/** Host-side permutation of a dense array of `shape` by `perm` (out axis i = in axis perm[i]). */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += idx[i] * strides[i];
    out[o] = data[off];
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

type Kind = 'fwd' | 'dx' | 'dw';
const KIND_LABEL: Record<Kind, string> = { fwd: 'forward', dx: 'input grad', dw: 'filter grad' };

function convRow(size: number, s: ConvShape, kind: Kind): BenchRow {
  const { N, C_in, H, C_out, K, stride, pad } = s;
  const Ho = Math.floor((H + 2 * pad - K) / stride) + 1;
  const xShape = [N, C_in, H, H];
  const wShape = [C_out, C_in, K, K];
  const yShape = [N, C_out, Ho, Ho];
  const seed = 7919 * size + 104729 * C_in + 31 * C_out + K * 7 + stride;
  const inputs = () => ({
    x: uniformData(N * C_in * H * H, seed + 1),
    w: uniformData(C_out * C_in * K * K, seed + 2),
    dy: uniformData(N * C_out * Ho * Ho, seed + 3),
  });
  const opts = { stride, padding: pad };
  const toNhwc = (d: Float32Array, shape: number[]) => permute(d, shape, [0, 2, 3, 1]);
  const tfPad = [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ] as [[number, number], [number, number], [number, number], [number, number]];

  const ours = {
    setup() {
      const d = inputs();
      if (kind === 'fwd') {
        const x = fromArray(d.x, xShape);
        const w = fromArray(d.w, wShape);
        return { run: () => conv2dForward(x, w, null, opts), dispose: () => (x.dispose(), w.dispose()) };
      }
      if (kind === 'dx') {
        const dy = fromArray(d.dy, yShape);
        const w = fromArray(d.w, wShape);
        return { run: () => conv2dBackwardInput(dy, w, xShape, opts), dispose: () => (dy.dispose(), w.dispose()) };
      }
      const dy = fromArray(d.dy, yShape);
      const x = fromArray(d.x, xShape);
      return { run: () => conv2dBackwardFilter(dy, x, wShape, opts), dispose: () => (dy.dispose(), x.dispose()) };
    },
  };

  const tfjs = {
    setup({ tf }: { tf: TF }) {
      const d = inputs();
      const x = tf.tensor4d(toNhwc(d.x, xShape), [N, H, H, C_in]);
      const w = tf.tensor4d(permute(d.w, wShape, [2, 3, 1, 0]), [K, K, C_in, C_out]);
      const dy = tf.tensor4d(toNhwc(d.dy, yShape), [N, Ho, Ho, C_out]);
      const attrs = { strides: [stride, stride], pad: tfPad, dataFormat: 'NHWC' };
      let first = true;
      // The first run (the correctness check) hands back our layout; timed runs tfjs's own.
      const toOurs = (t: import('@tensorflow/tfjs').Tensor4D, perm: number[]) => {
        if (!first) return t;
        first = false;
        const u = tf.transpose(t, perm);
        t.dispose();
        return u;
      };
      const run = () => {
        if (kind === 'fwd') return toOurs(tf.conv2d(x, w, [stride, stride], tfPad), [0, 3, 1, 2]);
        if (kind === 'dx') {
          const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [N, H, H, C_in] });
          return toOurs(dx as import('@tensorflow/tfjs').Tensor4D, [0, 3, 1, 2]);
        }
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [K, K, C_in, C_out] });
        return toOurs(dw as import('@tensorflow/tfjs').Tensor4D, [3, 2, 0, 1]);
      };
      return { run, dispose: () => (x.dispose(), w.dispose(), dy.dispose()) };
    },
  };

  return {
    family: 'conv2d',
    label: `conv ${KIND_LABEL[kind]} @${size} ${s.name} ${K}×${K}/${stride} ${C_in}→${C_out} ${H}²→${Ho}²`,
    work: { flops: 2 * N * C_out * Ho * Ho * C_in * K * K },
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: 1e-3 },
    // tfjs takes 0.05–7 s per run at 96×96 on lavapipe: fewer runs there keep the family's time bounded
    // (the correctness check already compiles the pipelines, so --quick skips the warm-up).
    ...(size >= 96 ? { maxRuns: { reps: 7, warmup: 1, quick: { reps: 3, warmup: 0 } } } : {}),
    impls: {
      ours,
      'tfjs-webgpu': tfjs,
      torch: torchImpl(() => {
        const d = inputs();
        const x = { data: d.x, shape: xShape };
        const w = { data: d.w, shape: wShape };
        const dy = { data: d.dy, shape: yShape };
        // convolution_backward takes x and w for both gradients (their shapes, and the operand it needs).
        const sent: TorchWorkload['inputs'] = kind === 'fwd' ? { x, w } : { x, w, dy };
        return { op: 'conv2d', params: { kind, stride, pad }, inputs: sent };
      }),
    },
  };
}

const rows: BenchRow[] = [];
for (const size of [32, 96]) {
  for (const s of resnet18Convs(size)) for (const kind of ['fwd', 'dx', 'dw'] as const) rows.push(convRow(size, s, kind));
}
registerRows(...rows);
