/** ResNet-18 against torchvision (fixtures from scripts/make_nn_fixtures.py): forward in train and eval mode, backward. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/autograd/nn.js';
import { backward } from '../../src/autograd/tape.js';
import { flattenParameters } from '../../src/nn/flat.js';
import { resnet18, type ResNet } from '../../src/nn/resnet.js';
import { getRuntime } from '../../src/tensor/engine.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { engine } from '../helpers.js';
import { labelsFormula, loadNnFixture, hformulaTensor, relErr, setFormulaWeights } from './formula.js';

interface GradRow {
  name: string;
  shape: number[];
  norm: number;
  head: number[];
  mid_at: number;
  mid: number[];
}
interface ResnetCase {
  name: string;
  x: [number[], number, number];
  logits: number[];
  loss: number;
  grads: GradRow[];
  running: Record<string, { mean: number[]; var: number[]; num_batches_tracked: number }>;
  eval_logits: number[];
}
interface ResnetFixture {
  cases: ResnetCase[];
  resnet18_state_dict: [string, number[], 'F32' | 'I64'][];
  resnet18_named_parameters: string[];
}

const fx = loadNnFixture<ResnetFixture>('resnet18.json');
const TOL = 1e-3;

beforeAll(engine);

describe('resnet18 structure', () => {
  let full: ResNet;
  beforeAll(() => {
    full = resnet18();
  });
  afterAll(() => full.dispose());

  it("has torchvision's state-dict names, order, shapes and dtypes", () => {
    const got = full.stateEntries().map(({ name, value }) => [name, 'shape' in value ? [...value.shape] : [], 'shape' in value ? 'F32' : 'I64']);
    expect(got).toEqual(fx.resnet18_state_dict);
    expect(full.namedParameters().map((p) => p.name)).toEqual(fx.resnet18_named_parameters);
    expect(full.numParameters()).toBe(11689512);
  });

  it("draws torchvision's initialization: Kaiming normal (fan_out) convolutions, BN 1/0, Linear default", async () => {
    const w = await full.layer3.at(0).child('conv2')!.namedParameters()[0].param.value.data();
    let s2 = 0;
    for (const v of w) s2 += v * v;
    const std = Math.sqrt(s2 / w.length);
    expect(Math.abs(std - Math.SQRT2 / Math.sqrt(256 * 9)) / std).toBeLessThan(0.02);
    const bnW = await full.bn1.weight.value.data();
    const bnB = await full.bn1.bias.value.data();
    expect([...bnW].every((v) => v === 1) && [...bnB].every((v) => v === 0)).toBe(true);
    const fcW = await full.namedParameters().find((p) => p.name === 'fc.weight')!.param.value.data();
    const bound = 1 / Math.sqrt(512);
    let max = 0;
    for (const v of fcW) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.99 * bound);
  });
});

describe('resnet18 matches torchvision', () => {
  for (const c of fx.cases) {
    it(c.name, async () => {
      const small = c.name.includes('small stem');
      const model = resnet18({ numClasses: 10, smallStem: small });
      const flat = flattenParameters(model);
      setFormulaWeights(model);
      const x = hformulaTensor(...c.x);
      const N = c.x[0][0];
      const labels = fromArray(labelsFormula(N, 10), [N], 'int32');
      const logits = model.forward(x);
      const loss = crossEntropy(logits, labels);
      backward(loss);
      expect(relErr(await logits.data(), c.logits), 'train logits').toBeLessThan(TOL);
      expect(Math.abs((await loss.item()) - c.loss) / Math.abs(c.loss), 'loss').toBeLessThan(TOL);

      // Every parameter's gradient: its norm, the first values and a slice from the middle.
      const grads = await flat.grads.data();
      const segs = new Map(flat.segments.map((s) => [s.name, s]));
      expect(c.grads.map((g) => g.name)).toEqual(flat.segments.map((s) => s.name));
      for (const g of c.grads) {
        const s = segs.get(g.name)!;
        const v = grads.subarray(s.offset, s.offset + s.size);
        let n2 = 0;
        for (const e of v) n2 += e * e;
        expect(Math.abs(Math.sqrt(n2) - g.norm) / g.norm, `${g.name} grad norm`).toBeLessThan(TOL);
        // Slices: error relative to the slice's scale, or to the gradient's rms when the slice is tiny.
        const rms = g.norm / Math.sqrt(s.size);
        for (const [at, want, what] of [[0, g.head, 'head'], [g.mid_at, g.mid, 'mid']] as const) {
          const got = v.subarray(at, at + want.length);
          const scale = Math.max(...want.map(Math.abs), rms);
          const err = Math.max(...want.map((w, i) => Math.abs(got[i] - w))) / scale;
          expect(err, `${g.name} grad ${what}`).toBeLessThan(TOL);
        }
      }
      for (const [name, r] of Object.entries(c.running)) {
        const bn = [...model.namedModules()].find(([n]) => n === name)![1] as unknown as {
          runningMean: { data(): Promise<Float32Array> };
          runningVar: { data(): Promise<Float32Array> };
          numBatchesTracked: { value: number };
        };
        expect(relErr((await bn.runningMean.data()).subarray(0, r.mean.length), r.mean), `${name}.running_mean`).toBeLessThan(TOL);
        expect(relErr((await bn.runningVar.data()).subarray(0, r.var.length), r.var), `${name}.running_var`).toBeLessThan(TOL);
        expect(bn.numBatchesTracked.value).toBe(r.num_batches_tracked);
      }
      model.eval();
      const evalLogits = model.forward(x);
      expect(evalLogits.requiresGrad).toBe(true);
      expect(relErr(await evalLogits.data(), c.eval_logits), 'eval logits').toBeLessThan(TOL);
      for (const t of [x, labels, logits, loss, evalLogits]) t.dispose();
      model.dispose();
      await getRuntime().sync();
    });
  }
});
