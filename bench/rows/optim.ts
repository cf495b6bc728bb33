/**
 * optim rows: one optimizer update over ResNet-18's parameters (10 classes: 62 tensors, 11,181,642 floats)
 * with given gradients. Work is the minimum traffic per parameter (float32):
 *   SGD momentum:  read w, g, buf; write w, buf                     → 5 floats
 *   AdamW / Adam:  read w, g, m, v; write w, m, v                     → 7 floats
 *   LARS:          read w, g for the norms; read w, g, μ; write w, μ  → 7 floats
 *
 * ours: the model's flat parameter and gradient buffers (flattenParameters), SGD / AdamW / LARS: one
 *   dispatch (SGD, AdamW) or three (LARS) over the whole buffer.
 * tfjs: one tf.variable per parameter tensor and a gradient map, optimizer.applyGradients:
 *   tf.train.momentum for SGD; tf.train.adam for AdamW (tfjs has no AdamW: Adam without the decoupled weight
 *   decay, one multiply-add fewer per element); LARS written with tf ops per variable (norms, trust ratio,
 *   momentum, update), as ours computes it (1-D parameters excluded from decay and adaptation).
 * torch (CPU): one tensor per parameter with its gradient set, torch.optim.SGD (momentum) and torch.optim.AdamW
 *   with their defaults otherwise (per-parameter loops: torch 1.13 does not use its foreach kernels by
 *   default), LARS as scripts/byol_reference.py writes it (src/nn/optim.ts's rule, per parameter).
 */
import { flattenParameters, fromArray, Generator, getRuntime, LARS, AdamW, SGD, resnet18, type Optimizer } from '../../src/index.js';
import type { TF } from '../backends.js';
import { registerRows, uniformData, type BenchRow, type Impl } from '../registry.js';
import { torchImpl } from '../torch.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;
type TfVariable = import('@tensorflow/tfjs').Variable;

type Kind = 'sgd' | 'adamw' | 'lars';
const FLOATS: Record<Kind, number> = { sgd: 5, adamw: 7, lars: 7 };
const LR = { sgd: 0.01, adamw: 1e-3, lars: 0.1 };
const WD = 1.5e-6;
const ETA = 0.001;

interface ParamSpec {
  name: string;
  shape: number[];
  size: number;
}

/** torchvision ResNet-18's parameters (10 classes) in named_parameters() order, computed without the GPU. */
export function resnet18Specs(numClasses = 10): ParamSpec[] {
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[]) => out.push({ name, shape, size: shape.reduce((a, b) => a * b, 1) });
  const bn = (name: string, c: number) => (add(`${name}.weight`, [c]), add(`${name}.bias`, [c]));
  add('conv1.weight', [64, 3, 7, 7]);
  bn('bn1', 64);
  let inplanes = 64;
  [64, 128, 256, 512].forEach((p, s) => {
    for (let b = 0; b < 2; b++) {
      const n = `layer${s + 1}.${b}`;
      add(`${n}.conv1.weight`, [p, inplanes, 3, 3]);
      bn(`${n}.bn1`, p);
      add(`${n}.conv2.weight`, [p, p, 3, 3]);
      bn(`${n}.bn2`, p);
      if (b === 0 && (s > 0 || inplanes !== p)) {
        add(`${n}.downsample.0.weight`, [p, inplanes, 1, 1]);
        bn(`${n}.downsample.1`, p);
      }
      inplanes = p;
    }
  });
  add('fc.weight', [numClasses, 512]);
  add('fc.bias', [numClasses]);
  return out;
}

/** Deterministic weights and gradients per parameter tensor. */
function values(i: number, size: number) {
  return { w: uniformData(size, 700 + i, -0.1, 0.1), g: uniformData(size, 900 + i, -0.01, 0.01) };
}

let tfRun = 0;

function optimRow(kind: Kind): BenchRow {
  const specs = resnet18Specs();
  const total = specs.reduce((a, s) => a + s.size, 0);
  const tfImpl: Impl = {
    setup({ tf, name }: { tf: TF; name: string }) {
      const tag = `bench_optim_${kind}_${name}_${tfRun++}`;
      const vars: TfVariable[] = [];
      const grads: Record<string, TfTensor> = {};
      specs.forEach((s, i) => {
        const v = values(i, s.size);
        const vn = `${tag}_${i}`;
        vars.push(tf.variable(tf.tensor(v.w, s.shape), true, vn));
        grads[vn] = tf.tensor(v.g, s.shape);
      });
      if (kind !== 'lars') {
        const opt = kind === 'sgd' ? tf.train.momentum(LR.sgd, 0.9) : tf.train.adam(LR.adamw);
        const list = vars.map((v) => ({ name: v.name, tensor: grads[v.name]! }));
        return {
          run: () => (opt.applyGradients(list), []),
          dispose: () => {
            opt.dispose();
            for (const v of vars) v.dispose();
            for (const g of Object.values(grads)) g.dispose();
          },
        };
      }
      const mus = vars.map((v) => tf.variable(tf.zerosLike(v), false, `${v.name}_mu`));
      const gs = vars.map((v) => grads[v.name]!);
      return {
        run: () => {
          tf.tidy(() => {
            vars.forEach((w, i) => {
              const g = gs[i]!;
              let u = g;
              let q: TfTensor | number = 1;
              if (w.rank > 1) {
                u = tf.add(g, tf.mul(WD, w));
                const wn = tf.norm(w);
                const un = tf.norm(u);
                q = tf.where(tf.logicalAnd(tf.greater(wn, 0), tf.greater(un, 0)), tf.div(tf.mul(ETA, wn), un), tf.onesLike(wn));
              }
              const mu = mus[i]!;
              mu.assign(tf.add(tf.mul(0.9, mu), tf.mul(q, u)));
              w.assign(tf.sub(w, tf.mul(LR.lars, mu)));
            });
          });
          return [];
        },
        dispose: () => {
          for (const v of [...vars, ...mus]) v.dispose();
          for (const g of gs) g.dispose();
        },
      };
    },
  };
  return {
    family: 'optim',
    label: `${kind === 'sgd' ? 'SGD momentum' : kind === 'adamw' ? 'AdamW' : 'LARS'} step, ${(total / 1e6).toFixed(2)}M params (ResNet-18)`,
    work: { bytes: FLOATS[kind] * 4 * total },
    note:
      kind === 'adamw'
        ? 'tfjs has no AdamW: tf.train.adam (no decoupled weight decay)'
        : kind === 'lars'
          ? 'tfjs has no LARS: written with tf ops per variable (norms, trust ratio, momentum, update)'
          : undefined,
    impls: {
      ours: {
        setup() {
          const model = resnet18({ numClasses: 10, generator: new Generator(3) });
          const flat = flattenParameters(model);
          flat.segments.forEach((seg, i) => {
            const want = specs[i];
            if (!want || want.name !== seg.name || want.shape.join() !== seg.shape.join()) throw new Error(`optim row: parameter ${i} is ${seg.name} [${seg.shape}], expected ${want?.name} [${want?.shape}]`);
          });
          const w = new Float32Array(flat.length);
          const g = new Float32Array(flat.length);
          flat.segments.forEach((s, i) => {
            const v = values(i, s.size);
            w.set(v.w, s.offset);
            g.set(v.g, s.offset);
          });
          const rt = getRuntime();
          for (const [src, dst] of [
            [w, flat.params],
            [g, flat.grads],
          ] as const) {
            const t = fromArray(src, [flat.length]);
            rt.copy(t.storage.buffer, t.byteOffset, dst.storage.buffer, dst.byteOffset, src.byteLength, 'bench.init');
            t.dispose();
          }
          const opt: Optimizer =
            kind === 'sgd'
              ? new SGD(flat, { lr: LR.sgd, momentum: 0.9 })
              : kind === 'adamw'
                ? new AdamW(flat, { lr: LR.adamw, weightDecay: 0.01 })
                : new LARS(flat, { lr: LR.lars, weightDecay: WD, eta: ETA });
          return {
            run: () => (opt.step(), []),
            dispose: () => (opt.dispose(), model.dispose()),
          };
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
      torch: torchImpl(() => {
        const w = new Float32Array(total);
        const g = new Float32Array(total);
        let offset = 0;
        specs.forEach((spec, i) => {
          const v = values(i, spec.size);
          w.set(v.w, offset);
          g.set(v.g, offset);
          offset += spec.size;
        });
        const params = { kind, lr: LR[kind], momentum: 0.9, weightDecay: kind === 'adamw' ? 0.01 : WD, eta: ETA, shapes: specs.map((x) => x.shape) };
        return { op: 'optim', params, inputs: { w: { data: w, shape: [total] }, g: { data: g, shape: [total] } } };
      }),
    },
  };
}

registerRows(optimRow('sgd'), optimRow('adamw'), optimRow('lars'));
