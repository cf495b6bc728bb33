/** Module, Parameter, layers, flat buffers, deep copy, freezing, the MLP head. */
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../src/autograd/nn.js';
import { sum } from '../../src/autograd/ops.js';
import { backward } from '../../src/autograd/tape.js';
import { flattenParameters } from '../../src/nn/flat.js';
import { BatchNorm2d, Conv2d, Identity, Linear, ReLU, Sequential } from '../../src/nn/layers.js';
import { MLPHead } from '../../src/nn/mlp.js';
import { SGD } from '../../src/nn/optim.js';
import { resnet18, type BasicBlock } from '../../src/nn/resnet.js';
import { Generator } from '../../src/kernels/creation.js';
import { getRuntime } from '../../src/tensor/engine.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { engine, rand, seedNote } from '../helpers.js';
import { pformulaTensor, relErr } from './formula.js';

beforeAll(engine);

const randArr = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);

describe('flat parameter buffers', () => {
  it('aligns every parameter to 256 bytes, keeps values, and lands backward gradients in the flat gradient buffer', async () => {
    const gen = new Generator(3);
    const model = new Sequential(new Linear(5, 7, { generator: gen }), new ReLU(), new Linear(7, 3, { generator: gen }));
    const before = await Promise.all(model.parameters().map((p) => p.value.data()));
    const flat = flattenParameters(model);
    expect(flat.segments.map((s) => s.name)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    for (const s of flat.segments) {
      expect((s.offset * 4) % getRuntime().storageAlignment).toBe(0);
      expect(s.param.value.storage).toBe(flat.params.storage);
      expect(s.param.grad!.storage).toBe(flat.grads.storage);
      expect(s.param.grad!.byteOffset).toBe(s.offset * 4);
    }
    const after = await Promise.all(model.parameters().map((p) => p.value.data()));
    after.forEach((a, i) => expect([...a]).toEqual([...before[i]]));
    const x = fromArray(randArr(4 * 5), [4, 5]);
    const labels = fromArray(Int32Array.of(0, 1, 2, 1), [4], 'int32');
    const y = model.forward(x);
    const loss = crossEntropy(y, labels);
    backward(loss);
    const grads = await flat.grads.data();
    for (const s of flat.segments) {
      const own = await s.param.grad!.data();
      expect([...own]).toEqual([...grads.subarray(s.offset, s.offset + s.size)]);
      expect(own.some((v) => v !== 0), s.name).toBe(true);
    }
    // Padding stays zero.
    const last = flat.segments[flat.segments.length - 1];
    expect([...grads.subarray(last.offset + last.size)].every((v) => v === 0)).toBe(true);
    // A second backward accumulates (as torch), zeroGrad clears.
    const y2 = model.forward(x);
    const loss2 = crossEntropy(y2, labels);
    backward(loss2);
    const twice = await flat.grads.data();
    expect(relErr(twice, grads.map((v) => 2 * v))).toBeLessThan(1e-6);
    flat.zeroGrad();
    expect((await flat.grads.data()).every((v) => v === 0)).toBe(true);
    for (const t of [x, labels, y, loss, y2, loss2]) t.dispose();
    model.dispose();
  });
});

describe('deep copy', () => {
  it(`copies parameters, buffers and mode with no shared storage; the copy trains independently ${seedNote}`, async () => {
    const gen = new Generator(11);
    const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1, generator: gen }), new BatchNorm2d(4), new ReLU());
    flattenParameters(model);
    const x = fromArray(randArr(2 * 3 * 5 * 5), [2, 3, 5, 5]);
    model.forward(x).dispose(); // moves the running statistics and num_batches_tracked
    const copy = model.deepCopy();
    expect(copy).not.toBe(model);
    expect(copy._flat).not.toBe(null);
    copy._flat!.assertSameLayout(model._flat!, 'test');
    expect(copy._flat!.params.storage).not.toBe(model._flat!.params.storage);
    const names = (m: typeof model) => m.stateEntries().map((e) => e.name);
    expect(names(copy)).toEqual(names(model));
    expect([...(await copy._flat!.params.data())]).toEqual([...(await model._flat!.params.data())]);
    const bnOrig = model.at(1) as BatchNorm2d;
    const bnCopy = copy.at(1) as BatchNorm2d;
    expect(bnCopy).not.toBe(bnOrig);
    expect(bnCopy.runningMean).not.toBe(bnOrig.runningMean);
    expect([...(await bnCopy.runningMean.data())]).toEqual([...(await bnOrig.runningMean.data())]);
    expect(bnCopy.numBatchesTracked.value).toBe(1);
    // The copy's layers use the copy's parameters (fields and registries agree).
    expect((copy.at(0) as Conv2d).weight).toBe(copy.namedParameters()[0].param);

    const origParams = await model._flat!.params.data();
    const origMean = await bnOrig.runningMean.data();
    const y = copy.forward(x);
    const s = sum(y);
    backward(s);
    new SGD(copy, { lr: 0.1 }).step();
    expect(relErr(await copy._flat!.params.data(), origParams)).toBeGreaterThan(1e-4);
    expect([...(await model._flat!.params.data())]).toEqual([...origParams]);
    expect([...(await bnOrig.runningMean.data())]).toEqual([...origMean]);
    expect(bnOrig.numBatchesTracked.value).toBe(1);
    expect(bnCopy.numBatchesTracked.value).toBe(2);
    expect((await model._flat!.grads.data()).every((v) => v === 0)).toBe(true);
    copy.eval();
    expect(model.training && bnOrig.training).toBe(true);
    for (const t of [x, y, s]) t.dispose();
    model.dispose();
    copy.dispose();
  });
});

describe('freezing', () => {
  it('a frozen module gets no gradient and no update; the rest trains', async () => {
    const gen = new Generator(5);
    const model = new Sequential(new Linear(4, 6, { generator: gen }), new ReLU(), new Linear(6, 2, { generator: gen }));
    const flat = flattenParameters(model);
    model.at(0).requiresGrad(false);
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
    const before = await flat.params.data();
    const x = fromArray(randArr(3 * 4), [3, 4]);
    const labels = fromArray(Int32Array.of(0, 1, 1), [3], 'int32');
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(x), labels);
      backward(loss);
      loss.dispose();
      opt.step();
    }
    const after = await flat.params.data();
    const grads = await flat.grads.data();
    for (const s of flat.segments) {
      const frozen = s.name.startsWith('0.');
      expect(s.param.requiresGrad).toBe(!frozen);
      const moved = after.subarray(s.offset, s.offset + s.size).some((v, i) => v !== before[s.offset + i]);
      expect(moved, s.name).toBe(!frozen);
      if (frozen) expect(grads.subarray(s.offset, s.offset + s.size).every((v) => v === 0), s.name).toBe(true);
    }
    // Unfreezing brings it back.
    model.requiresGrad(true);
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x), labels);
    backward(loss);
    opt.step();
    const again = await flat.params.data();
    const s0 = flat.segments[0];
    expect(again.subarray(s0.offset, s0.offset + s0.size).some((v, i) => v !== after[s0.offset + i])).toBe(true);
    for (const t of [x, labels, loss]) t.dispose();
    opt.dispose();
    model.dispose();
  });
});

describe('mode key', () => {
  it('changes with every train/eval flag, requiresGrad and replaced child anywhere below, and only then', () => {
    const m = resnet18({ numClasses: 10, generator: new Generator(4), width: 8 });
    const block = (stage: 1 | 2 | 3, i: number) => ({ 1: m.layer1, 2: m.layer2, 3: m.layer3 })[stage].at(i) as BasicBlock;
    const k0 = m.modeKey();
    expect(m.modeKey()).toBe(k0);
    // Each change below reaches a module or parameter deep inside, set directly (not through train()).
    const changes: [string, () => void, () => void][] = [
      ['a child set to eval directly', () => (block(3, 1).bn2.training = false), () => (block(3, 1).bn2.training = true)],
      ['the whole network in eval mode', () => m.eval(), () => m.train()],
      ['one parameter frozen', () => (block(2, 0).conv1.weight.requiresGrad = false), () => (block(2, 0).conv1.weight.requiresGrad = true)],
      ['the head replaced by a frozen one', () => m.setModule('fc', new Linear(64, 10, { generator: new Generator(5) }).requiresGrad(false)), () => {}],
    ];
    let prev = k0;
    for (const [what, change, undo] of changes) {
      change();
      const k = m.modeKey();
      expect(k, what).not.toBe(prev);
      expect(m.modeKey(), what).toBe(k);
      undo();
      prev = m.modeKey();
    }
    // Setting a flag to the value it has changes nothing.
    block(1, 0).bn1.training = true;
    expect(m.modeKey()).toBe(prev);
    m.dispose();
  });
});

describe('layers and heads', () => {
  it(`MLP head: Linear → BatchNorm1d → ReLU → Linear with torch's Sequential names, matches a float64 reference ${seedNote}`, async () => {
    const head = new MLPHead({ inFeatures: 6, hidden: 8, outFeatures: 5, generator: new Generator(2) });
    expect(head.stateEntries().map((e) => e.name)).toEqual([
      '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight', '3.bias',
    ]);
    const N = 4;
    const xs = randArr(N * 6);
    const x = fromArray(xs, [N, 6]);
    const y = head.forward(x);
    expect(y.shape).toEqual([N, 5]);
    const [w1, b1, g, be, w2, b2] = await Promise.all(head.parameters().map((p) => p.value.data()));
    // Reference in float64.
    const h = Array.from({ length: N }, (_, n) => Array.from({ length: 8 }, (_, j) => b1[j] + [...Array(6).keys()].reduce((s, i) => s + xs[n * 6 + i] * w1[j * 6 + i], 0)));
    for (let j = 0; j < 8; j++) {
      const m = h.reduce((s, r) => s + r[j], 0) / N;
      const v = h.reduce((s, r) => s + (r[j] - m) ** 2, 0) / N;
      for (const r of h) r[j] = Math.max(0, ((r[j] - m) / Math.sqrt(v + 1e-5)) * g[j] + be[j]);
    }
    const want = h.flatMap((r) => Array.from({ length: 5 }, (_, k) => b2[k] + r.reduce((s, v, j) => s + v * w2[k * 8 + j], 0)));
    expect(relErr(await y.data(), want)).toBeLessThan(1e-4);
    x.dispose();
    y.dispose();
    head.dispose();
    // Default sizes: 512 → 4096 → 256.
    const big = new MLPHead();
    expect(big.parameters().map((p) => p.shape)).toEqual([[4096, 512], [4096], [4096], [4096], [256, 4096], [256]]);
    big.dispose();
  });

  it('ResNet-18 fc can be Identity (numClasses: null or setModule) and the small stem keeps the names', async () => {
    const model = resnet18({ numClasses: null, smallStem: true, width: 4 });
    expect(model.stateEntries().some((e) => e.name.startsWith('fc.'))).toBe(false);
    expect(model.namedParameters()[0].param.shape).toEqual([4, 3, 3, 3]);
    const x = pformulaTensor([2, 3, 8, 8], 1);
    const f = model.forward(x);
    expect(f.shape).toEqual([2, 32]);
    const m2 = resnet18({ numClasses: 10, width: 4 });
    m2.setModule('fc', new Identity());
    expect(m2.stateEntries().some((e) => e.name.startsWith('fc.'))).toBe(false);
    m2.setModule('fc', new Linear(32, 7));
    expect(m2.stateEntries().slice(-2).map((e) => e.name)).toEqual(['fc.weight', 'fc.bias']);
    const y = m2.forward(x);
    expect(y.shape).toEqual([2, 7]);
    expect(m2.namedModules().next().value![1]).toBe(m2);
    // train/eval reaches every module
    m2.eval();
    expect([...m2.namedModules()].every(([, m]) => !m.training)).toBe(true);
    for (const t of [x, f, y]) t.dispose();
    model.dispose();
    m2.dispose();
  });
});
