/**
 * resnet18-step and resnet18-infer rows: whole-network workloads of torchvision's ResNet-18 (ImageNet stem,
 * fc → 10 classes, 11,181,642 parameters) on a batch of 64 images at 32×32, reported as images per second.
 *
 *  - 'resnet18-step': one training step, forward + cross-entropy + backward + SGD (lr 0.1, momentum 0.9),
 *    batch norm in training mode (batch statistics, running-statistics update).
 *      ours: resnet18 + flattenParameters + SGD; the experiment's classifierStep (zeroGrad, forward,
 *            crossEntropy, backward, opt.step), replayed from its record after its first two calls; the
 *            harness awaits getRuntime().sync().
 *      tfjs-webgpu: the same network built with tf.layers (bench/tfjs-resnet.ts, NHWC), trained with
 *            tf.train.momentum(0.1, 0.9).minimize(() => tf.losses.softmaxCrossEntropy(onehot, logits)).
 *      tfjs-wasm: none (its backend has no Conv2DBackpropFilter kernel, so it cannot train a convnet).
 *  - 'resnet18-infer': eval-mode forward (running statistics), on all three backends.
 *
 * Both sides start from the same weights (ours, copied into the tfjs model OIHW → HWIO) and the same inputs,
 * so the correctness check compares like with like: the first step's loss (before the update) for
 * resnet18-step, the logits for resnet18-infer.
 *
 * These rows take seconds per run on a software adapter: they cap the runs at 1 warm-up + 3 timed (maxRuns).
 */
import {
  captureStep,
  flattenParameters,
  fromArray,
  Generator,
  noGrad,
  resnet18,
  SGD,
  type ResNet,
} from '../../src/index.js';
import type { TF } from '../backends.js';
import { classifierStep } from '../../src/nn/train-step.js';
import { stepStats } from '../step-stats.js';
import { registerRows, uniformData, type BenchRow } from '../registry.js';
import { loadTorchParams, tfjsResnet18, trainableParameterCount, type TorchParam } from '../tfjs-resnet.js';
import { torchImpl, type TorchWorkload } from '../torch.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;
type TfScalar = import('@tensorflow/tfjs').Scalar;
type TfVariable = import('@tensorflow/tfjs').Variable;

/**
 * Slow rows (seconds per run): 1 warm-up and 3 timed runs, also without --quick. With --quick, one timed
 * run and no warm-up: the correctness check has already run the same step once on both sides (shader
 * compilation included), and tfjs-webgpu's step alone takes about a minute on a software adapter.
 */
export const SLOW_RUNS = { reps: 3, warmup: 1, quick: { reps: 1, warmup: 0 } };

export const RESNET_BATCH = 64;
export const RESNET_SIZE = 32;
export const RESNET_CLASSES = 10;
const WEIGHT_SEED = 7;

/** NCHW → NHWC (also OIHW → OHWI) of a contiguous 4-D array. */
export function nchwToNhwc(a: Float32Array, [N, C, H, W]: readonly number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N!; n++)
    for (let c = 0; c < C!; c++)
      for (let h = 0; h < H!; h++)
        for (let w = 0; w < W!; w++) out[((n * H! + h) * W! + w) * C! + c] = a[((n * C! + c) * H! + h) * W! + w]!;
  return out;
}

/** The inputs every backend gets: images in [−1, 1) (NCHW) and labels i mod 10. */
export function resnetInputs(batch = RESNET_BATCH, size = RESNET_SIZE) {
  const shape = [batch, 3, size, size];
  return {
    shape,
    x: uniformData(batch * 3 * size * size, 4242 + batch + size, -1, 1),
    labels: Int32Array.from({ length: batch }, (_, i) => i % RESNET_CLASSES),
  };
}

function ourModel(): ResNet {
  return resnet18({ numClasses: RESNET_CLASSES, generator: new Generator(WEIGHT_SEED) });
}

let torchParamsCache: TorchParam[] | null = null;

/** Our initial weights (torchvision names and layouts), read back once, for the tfjs models. */
async function ourInitialWeights(): Promise<TorchParam[]> {
  if (torchParamsCache) return torchParamsCache;
  const m = ourModel();
  const out: TorchParam[] = [];
  for (const { name, param } of m.namedParameters()) {
    const d = await param.value.data();
    out.push({ name, shape: param.shape, data: d instanceof Float32Array ? d.slice() : Float32Array.from(d as ArrayLike<number>) });
  }
  m.dispose();
  torchParamsCache = out;
  return out;
}

const countLogged = new Set<string>();
function logCount(who: string, n: number): void {
  if (countLogged.has(who)) return;
  countLogged.add(who);
  console.log(`  resnet18 (${RESNET_CLASSES} classes) trainable parameters, ${who}: ${n.toLocaleString('en-US')}`);
}

async function tfModel(tf: TF) {
  const model = tfjsResnet18(tf, { size: RESNET_SIZE, numClasses: RESNET_CLASSES });
  const n = trainableParameterCount(model);
  logCount('tfjs', n);
  const ours = (await ourInitialWeights()).reduce((a, p) => a + p.data.length, 0);
  if (n !== ours) throw new Error(`tfjs ResNet-18 has ${n} trainable parameters, ours ${ours}`);
  loadTorchParams(tf, model, await ourInitialWeights());
  return model;
}

function tfInputs(tf: TF) {
  const d = resnetInputs();
  const x = tf.tensor4d(nchwToNhwc(d.x, d.shape), [RESNET_BATCH, RESNET_SIZE, RESNET_SIZE, 3]);
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(d.labels, 'int32'), RESNET_CLASSES).toFloat());
  return { x, onehot };
}

/** The torch worker's ResNet-18 workload: our initial weights (by torchvision name) and the same inputs. */
function torchWorkload(op: 'resnet18-step' | 'resnet18-infer') {
  return torchImpl(async (): Promise<TorchWorkload> => {
    const d = resnetInputs();
    const inputs: TorchWorkload['inputs'] = { x: { data: d.x, shape: d.shape }, labels: { data: d.labels, shape: [RESNET_BATCH] } };
    for (const p of await ourInitialWeights()) inputs[`param:${p.name}`] = { data: p.data, shape: p.shape };
    return { op, params: { classes: RESNET_CLASSES, lr: 0.1, momentum: 0.9 }, inputs };
  });
}

/**
 * Our training step of the 'resnet18-step' row: the experiment's step (classifierStep), eager on its first
 * call (the correctness check), recorded on its second, replayed after; eager throughout with replay: false.
 */
export function ourTrainStep(options: { replay?: boolean } = {}) {
  const model = ourModel();
  logCount('ours', model.numParameters());
  const flat = flattenParameters(model);
  const opt = new SGD(flat, { lr: 0.1, momentum: 0.9 });
  model.train(true);
  const d = resnetInputs();
  const x = fromArray(d.x, d.shape);
  const labels = fromArray(d.labels, [RESNET_BATCH], 'int32');
  const step = classifierStep(model, opt, { name: 'resnet18-step', replay: options.replay });
  return {
    run: () => step.run([x, labels], { lr: 0.1 }),
    dispose: () => {
      step.dispose();
      opt.dispose();
      model.dispose();
      x.dispose();
      labels.dispose();
    },
  };
}

/**
 * Our inference of the 'resnet18-infer' row: eval mode (running statistics), no gradients, recorded on its
 * second call and replayed after (eager throughout with replay: false).
 */
export function ourInferStep(options: { replay?: boolean } = {}) {
  const model = ourModel();
  model.eval();
  const d = resnetInputs();
  const x = fromArray(d.x, d.shape);
  const step = captureStep(([xi]) => model.forward(xi!), { name: 'resnet18-infer', replay: options.replay });
  return {
    run: () => noGrad(() => step.run([x])),
    dispose: () => {
      step.dispose();
      model.dispose();
      x.dispose();
    },
  };
}

function stepRow(): BenchRow {
  return {
    family: 'resnet18-step',
    label: `resnet18 train step, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE}`,
    work: { images: RESNET_BATCH },
    maxRuns: SLOW_RUNS,
    // The first step's loss from the same weights and inputs (float32, different summation orders).
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: 1e-3 },
    note: 'forward + cross-entropy + backward + SGD momentum 0.9; tfjs-wasm has no Conv2DBackpropFilter, so no training there',
    impls: {
      ours: {
        setup() {
          const { run, dispose } = ourTrainStep();
          return { run, report: () => stepStats(run), dispose };
        },
      },
      'tfjs-webgpu': {
        async setup({ tf }) {
          const model = await tfModel(tf);
          const { x, onehot } = tfInputs(tf);
          const opt = tf.train.momentum(0.1, 0.9);
          const vars = model.trainableWeights.map((w) => w.read() as TfVariable);
          return {
            run: () => opt.minimize(() => tf.losses.softmaxCrossEntropy(onehot, model.apply(x, { training: true }) as TfTensor) as TfScalar, true, vars)!,
            dispose: () => {
              opt.dispose();
              model.dispose();
              x.dispose();
              onehot.dispose();
            },
          };
        },
      },      torch: torchWorkload('resnet18-step'),
    },
  };
}

function inferRow(): BenchRow {
  const tfImpl = {
    async setup({ tf }: { tf: TF }) {
      const model = await tfModel(tf);
      const { x, onehot } = tfInputs(tf);
      onehot.dispose();
      return {
        run: () => tf.tidy(() => model.apply(x, { training: false }) as TfTensor),
        dispose: () => {
          model.dispose();
          x.dispose();
        },
      };
    },
  };
  return {
    family: 'resnet18-infer',
    label: `resnet18 inference, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE}`,
    work: { images: RESNET_BATCH },
    maxRuns: SLOW_RUNS,
    // Logits of the same weights and inputs; small logits next to large ones make the relative error larger:
    // against torchvision's network run in float64 on the same weights and inputs, ours differs by 1.8e-3 at
    // its worst logit (one of 1e-4, the largest being 0.5; the largest absolute error is 1.2e-6 of the largest
    // logit, torch's own float32 run 0.9e-6), and by 2.0e-3 from torch in float32, so the check allows 5e-3.
    check: { against: ['tfjs-webgpu', 'torch'], tolerance: 5e-3 },
    note: 'eval-mode forward (running statistics), logits [64, 10]',
    impls: {
      ours: {
        setup() {
          return ourInferStep();
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
      torch: torchWorkload('resnet18-infer'),
    },
  };
}

registerRows(stepRow(), inferRow());
