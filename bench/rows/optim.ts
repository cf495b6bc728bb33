/**
 * optim rows: one optimizer update over ResNet-18's parameters (10 classes: 62 tensors, 11,181,642 floats)
 * with given gradients, and BYOL's EMA update of a target network. Work is the minimum traffic per parameter
 * (float32):
 *   SGD momentum:  read w, g, buf; write w, buf                     → 5 floats
 *   AdamW / Adam:  read w, g, m, v; write w, m, v                     → 7 floats
 *   LARS:          read w, g for the norms; read w, g, μ; write w, μ  → 7 floats
 *   EMA:           read target, online; write target                 → 3 floats
 *
 * ours: the model's flat parameter and gradient buffers (flattenParameters), SGD / AdamW / LARS / EMA: one
 *   dispatch (SGD, AdamW, EMA) or three (LARS) over the whole buffer.
 * tfjs: one tf.variable per parameter tensor and a gradient map, optimizer.applyGradients:
 *   tf.train.momentum for SGD; tf.train.adam for AdamW (tfjs has no AdamW: Adam without the decoupled weight
 *   decay, one multiply-add fewer per element); LARS written with tf ops per variable (norms, trust ratio,
 *   momentum, update), as ours computes it (1-D parameters excluded from decay and adaptation); EMA as
 *   target.assign(τ·target + (1 − τ)·online) per variable.
 * torch (CPU): one tensor per parameter with its gradient set, torch.optim.SGD (momentum) and torch.optim.AdamW
 *   with their defaults otherwise (per-parameter loops: torch 1.13 does not use its foreach kernels by
 *   default), LARS as scripts/byol_reference.py writes it (src/nn/optim.ts's rule, per parameter).
 *
 * Each of our rows also reports (its note) the time of a plain copy of the same bytes on the same device in
 * the same run: a copy that reads and writes half the update's traffic each (SGD: 2.5 floats per parameter
 * read and 2.5 written), once as copyBufferToBuffer and once as a WGSL vec4 copy kernel, timed as the rows
 * are (submit, then wait for the queue), interleaved with the update in its two layouts (as optimPlan chooses,
 * and vec4 through the `optim` override `layout`); medians, and the ratios update / copy.
 */
import { emaUpdate, empty, flattenParameters, fromArray, Generator, getRuntime, LARS, AdamW, SGD, resnet18, type Optimizer, type Tensor } from '../../src/index.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { defineKernel } from '../../src/kernels/define.js';
import type { TF } from '../backends.js';
import { registerRows, uniformData, type BenchRow, type Impl } from '../registry.js';
import { torchImpl } from '../torch.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;
type TfVariable = import('@tensorflow/tfjs').Variable;

type Kind = 'sgd' | 'adamw' | 'lars';
const FLOATS: Record<Kind | 'ema', number> = { sgd: 5, adamw: 7, lars: 7, ema: 3 };
const TAU = 0.99;

/**
 * The baseline copy kernel: dst = src, one vec4 at a time, each invocation looping with the grid's stride
 * (the fastest plain copy kernel found on lavapipe: a few workgroups per core; one vec4 per invocation
 * elsewhere).
 */
const COPY_VEC4 = defineKernel({
  name: 'bench_copy_vec4',
  params: { n4: 'u32' },
  storage: { src: 'read array<vec4<f32>>', dst: 'read_write array<vec4<f32>>' },
  constants: { WG: 64 },
  code: `@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < p.n4; i += nwg.x * WG) { dst[i] = src[i]; }
}`,
});
const ROUNDS = 15;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Times `update` (in the layout optimPlan chooses, and in the vec4 layout) against a copy of half its traffic
 * (`floatsPerParam` / 2 floats per parameter read and as many written), ROUNDS interleaved rounds; returns the
 * row's note.
 */
async function copyBaseline(update: () => void, floatsPerParam: number, params: number): Promise<string> {
  const rt = getRuntime();
  const total = Math.round((floatsPerParam / 2) * params / 4) * 4;
  // Pairs of buffers of at most `params` floats each (a binding holds at most 128 MiB here).
  const pairs: [Tensor, Tensor][] = [];
  for (let left = total; left > 0; left -= params) {
    const n = Math.min(left, params);
    pairs.push([empty([n], 'float32'), empty([n], 'float32')]);
  }
  const software = rt.report.software;
  const arms: [string, () => void][] = [
    ['update', update],
    [
      'update vec4',
      () => withKernelOverrides({ optim: { layout: 'vec4' } }, update),
    ],
    ['copyBufferToBuffer', () => pairs.forEach(([a, b]) => rt.copy(a.storage.buffer, a.byteOffset, b.storage.buffer, b.byteOffset, a.size * 4, 'bench.copy'))],
    [
      'vec4 copy kernel',
      () =>
        pairs.forEach(([a, b]) => {
          const n4 = a.size / 4;
          COPY_VEC4.dispatch({
            op: 'bench.copy',
            constants: { WG: software ? 64 : 256 },
            params: { n4 },
            storage: { src: a.binding('bench.copy'), dst: b.binding('bench.copy') },
            workgroups: [software ? 64 : Math.min(65535, Math.ceil(n4 / 256))],
          });
        }),
    ],
  ];
  const ms = new Map<string, number[]>(arms.map(([k]) => [k, []]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const [k, run] of r % 2 ? [...arms].reverse() : arms) {
        await rt.sync();
        const t0 = performance.now();
        run();
        await rt.sync();
        ms.get(k)!.push(performance.now() - t0);
      }
    }
  } finally {
    for (const p of pairs) for (const t of p) t.dispose();
  }
  const m = Object.fromEntries([...ms].map(([k, v]) => [k, median(v)]));
  const mb = ((total * 4) / 1e6).toFixed(0);
  const f = (x: number) => x.toFixed(2);
  return (
    `copy of the same bytes (${floatsPerParam / 2} floats per parameter read and as many written, ${mb} MB each way), medians of ${ROUNDS} interleaved runs: ` +
    `copyBufferToBuffer ${f(m.copyBufferToBuffer)} ms, vec4 copy kernel ${f(m['vec4 copy kernel'])} ms; ` +
    `update ${f(m.update)} ms = ${f(m.update / m.copyBufferToBuffer)}× copyBufferToBuffer, ${f(m.update / m['vec4 copy kernel'])}× the copy kernel; ` +
    `vec4 layout ${f(m['update vec4'])} ms = ${f(m['update vec4'] / m.copyBufferToBuffer)}×, ${f(m['update vec4'] / m['vec4 copy kernel'])}×`
  );
}
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
            report: () => copyBaseline(() => opt.step(), FLOATS[kind], total),
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

function emaRow(): BenchRow {
  const specs = resnet18Specs();
  const total = specs.reduce((a, s) => a + s.size, 0);
  const tfImpl: Impl = {
    setup({ tf }: { tf: TF }) {
      const made = specs.map((s, i) => {
        const v = values(i, s.size);
        // The online weights: the target's moved by the gradient values.
        return { target: tf.variable(tf.tensor(v.w, s.shape)), online: tf.tensor(v.w.map((x, j) => x + v.g[j]), s.shape) };
      });
      return {
        run: () => {
          tf.tidy(() => {
            for (const { target, online } of made) target.assign(tf.add(tf.mul(TAU, target), tf.mul(1 - TAU, online)));
          });
          return [];
        },
        dispose: () => {
          for (const { target, online } of made) (target.dispose(), online.dispose());
        },
      };
    },
  };
  return {
    family: 'optim',
    label: `EMA update, ${(total / 1e6).toFixed(2)}M params (ResNet-18)`,
    work: { bytes: FLOATS.ema * 4 * total },
    impls: {
      ours: {
        setup() {
          const online = resnet18({ numClasses: 10, generator: new Generator(3) });
          flattenParameters(online);
          const target = online.deepCopy();
          const run = () => emaUpdate(target, online, TAU);
          return {
            run: () => (run(), []),
            report: () => copyBaseline(run, FLOATS.ema, total),
            dispose: () => (target.dispose(), online.dispose()),
          };
        },
      },
      'tfjs-webgpu': tfImpl,
      'tfjs-wasm': tfImpl,
    },
  };
}

registerRows(optimRow('sgd'), optimRow('adamw'), optimRow('lars'), emaRow());
