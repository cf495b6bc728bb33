/**
 * Leaf gradients written in place: after zeroGrad a flattened model's gradients are known zeros, and the
 * backward rules of conv2d, batch norm, matmul and the broadcast add write their parameters' gradients
 * straight into the flat gradient buffer instead of into new tensors the tape then copies there.
 */
import { describe, expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { backward } from '../../src/autograd/tape.js';
import { crossEntropy } from '../../src/autograd/nn.js';
import { conv2dBackwardFilter } from '../../src/kernels/conv2d.js';
import { matmulKernel } from '../../src/kernels/matmul.js';
import { reduceKernel } from '../../src/kernels/reduce.js';
import { batchNormBackward, batchNormForward } from '../../src/kernels/batchnorm.js';
import { flattenParameters } from '../../src/nn/flat.js';
import { replayerOf } from '../../src/capture/replayer.js';
import { fromArray, Generator, getRuntime, MLPHead, resnet18, scope, Sequential, type Module, type Tensor } from '../../src/index.js';

const randomData = (n: number) => Float32Array.from({ length: n }, () => 2 * rand() - 1);

/** A ResNet-18 of width 8 (convs without bias, fused batch norm with residuals, a Linear) then nothing else. */
function makeResnet(): Module {
  const m = resnet18({ numClasses: 5, width: 8, generator: new Generator(3) });
  m.train(true);
  return m;
}

/** An MLP head (Linear with bias, BatchNorm1d, ReLU, Linear). */
function makeHead(): Module {
  const m = new MLPHead({ inFeatures: 12, hidden: 20, outFeatures: 5, generator: new Generator(4) });
  m.train(true);
  return m;
}

async function grads(m: Module): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const { name, param } of m.namedParameters()) out.set(name, (await param.grad!.data()) as Float32Array);
  return out;
}

function expectSameBits(a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, va] of a) {
    const ua = new Uint32Array(va.buffer);
    const ub = new Uint32Array(b.get(name)!.buffer);
    expect(ub.length, name).toBe(ua.length);
    const diff = ua.findIndex((v, i) => v !== ub[i]);
    expect(diff, `${what}: ${name}, first differing element ${seedNote}`).toBe(-1);
  }
}

describe('leaf gradients written in place', () => {
  for (const [label, make, inputShape] of [
    ['ResNet-18 (width 8)', makeResnet, [3, 3, 16, 16]],
    ['MLP head', makeHead, [6, 12]],
  ] as const) {
    it(`${label}: a flattened model's gradients equal the unflattened model's, bit for bit, and accumulate over a second backward`, async () => {
      const rt = await engine();
      const x = fromArray(randomData(inputShape.reduce((a, b) => a * b, 1)), [...inputShape]);
      const labels = fromArray(Int32Array.from({ length: inputShape[0] }, () => Math.floor(rand() * 5)), [inputShape[0]], 'int32');
      const plain = make();
      const flatModel = make();
      const flat = flattenParameters(flatModel);
      const lossOf = (m: Module) => scope(() => backward(crossEntropy(m.forward(x), labels)));
      // The unflattened model's gradients are new tensors the tape keeps (no copies, no adds).
      lossOf(plain);
      flat.zeroGrad();
      const rec = replayerOf(rt).beginRecording('grad-in-place test');
      try {
        lossOf(flatModel);
      } finally {
        replayerOf(rt).endRecording();
      }
      // No gradient went through a separate copy or add into the flat buffer.
      const accumulating = rec.commands.filter((c) => c.op === 'accumulateGrad');
      expect(accumulating.map((c) => c.kind)).toEqual([]);
      for (const { name, param } of flatModel.namedParameters()) expect(param.grad!.zeroed, name).toBe(false);
      const once = await grads(flatModel);
      expectSameBits(await grads(plain), once, 'first backward');
      // A second backward without zeroGrad adds to what the first wrote.
      lossOf(plain);
      lossOf(flatModel);
      expectSameBits(await grads(plain), await grads(flatModel), 'second backward');
      const twice = await grads(flatModel);
      const [name, g1] = [...once.entries()].find(([, v]) => v.some((e) => e !== 0))!;
      expect(twice.get(name)!.some((v, i) => v !== g1[i]), `${name} changed on the second backward`).toBe(true);
      // zeroGrad then backward: the first gradients again.
      flat.zeroGrad();
      lossOf(flatModel);
      expectSameBits(once, await grads(flatModel), 'after zeroGrad');
      for (const t of [x, labels]) t.dispose();
      plain.dispose();
      flatModel.dispose();
    }, 60_000);
  }

  it('a model of two flattened halves gets every gradient in place too (Sequential of heads)', async () => {
    const rt = await engine();
    const chain = new Sequential(makeHead(), new MLPHead({ inFeatures: 5, hidden: 7, outFeatures: 3, generator: new Generator(9) }));
    chain.train(true);
    const flat = flattenParameters(chain);
    const x = fromArray(randomData(4 * 12), [4, 12]);
    const labels = fromArray(Int32Array.from([0, 1, 2, 1]), [4], 'int32');
    flat.zeroGrad();
    const rec = replayerOf(rt).beginRecording('grad-in-place test');
    try {
      scope(() => backward(crossEntropy(chain.forward(x), labels)));
    } finally {
      replayerOf(rt).endRecording();
    }
    expect(rec.commands.filter((c) => c.op === 'accumulateGrad')).toEqual([]);
    for (const t of [x, labels]) t.dispose();
    chain.dispose();
  });
});

describe('kernels writing into a given tensor', () => {
  /** A sentinel-filled buffer with an aligned view of `shape` in its middle. */
  function target(shape: number[]): { whole: Tensor; view: Tensor; at: number; n: number } {
    const align = getRuntime().storageAlignment / 4;
    const n = shape.reduce((a, b) => a * b, 1);
    const at = align;
    const whole = fromArray(new Float32Array(at + n + align).fill(12345), [at + n + align]);
    return { whole, view: whole.view(shape, at * 4), at, n };
  }

  async function expectWritten(t: ReturnType<typeof target>, expected: Tensor): Promise<void> {
    const all = (await t.whole.data()) as Float32Array;
    const want = (await expected.data()) as Float32Array;
    expect(Array.from(all.subarray(t.at, t.at + t.n))).toEqual(Array.from(want));
    expect(Array.from(all.subarray(0, t.at)).every((v) => v === 12345)).toBe(true);
    expect(Array.from(all.subarray(t.at + t.n)).every((v) => v === 12345)).toBe(true);
  }

  it('matmul, the reduction and the filter gradient write their result into the view, and nothing beside it', async () => {
    await engine();
    // matmul [7, 5]ᵀ·[7, 6] → [5, 6]
    const a = fromArray(randomData(35), [7, 5]);
    const b = fromArray(randomData(42), [7, 6]);
    const t1 = target([5, 6]);
    expect(matmulKernel(a, b, true, false, t1.view)).toBe(t1.view);
    await expectWritten(t1, matmulKernel(a, b, true, false));
    expect(() => matmulKernel(a, b, true, false, t1.whole)).toThrow(/write the product into is \[.*\], the product is \[5, 6\]/);
    // sum over axes 0 and 2 of [3, 5, 4] → [5], and the long sliced path (a [3000, 2] column sum)
    const x = fromArray(randomData(60), [3, 5, 4]);
    const t2 = target([5]);
    expect(reduceKernel('sum', x, [0, 2], false, 1, 'sum', t2.view)).toBe(t2.view);
    await expectWritten(t2, reduceKernel('sum', x, [0, 2]));
    const long = fromArray(randomData(6000), [3000, 2]);
    const t3 = target([2]);
    expect(reduceKernel('sum', long, [0], false, 1, 'sum', t3.view)).toBe(t3.view);
    await expectWritten(t3, reduceKernel('sum', long, [0]));
    expect(() => reduceKernel('sum', x, [0, 2], false, 1, 'sum', t3.view)).toThrow(/result has 5 elements .* has 2/);
    // conv2d's filter gradient, stride 2, awkward channels
    const xi = fromArray(randomData(2 * 5 * 9 * 9), [2, 5, 9, 9]);
    const dy = fromArray(randomData(2 * 6 * 5 * 5), [2, 6, 5, 5]);
    const t4 = target([6, 5, 3, 3]);
    const opts = { stride: 2, padding: 1 };
    expect(conv2dBackwardFilter(dy, xi, [6, 5, 3, 3], opts, t4.view)).toBe(t4.view);
    await expectWritten(t4, conv2dBackwardFilter(dy, xi, [6, 5, 3, 3], opts));
    expect(() => conv2dBackwardFilter(dy, xi, [6, 5, 3, 3], opts, t2.view)).toThrow(/write dw into is \[5\], expected \[6, 5, 3, 3\]/);
  });

  it("batch norm's backward writes dgamma and dbeta into adjacent views, and falls back to new tensors otherwise", async () => {
    const rt = await engine();
    const C = 6;
    const align = rt.storageAlignment / 4;
    const x = fromArray(randomData(4 * C * 3 * 3), [4, C, 3, 3]);
    const gamma = fromArray(randomData(C), [C]);
    const beta = fromArray(randomData(C), [C]);
    const dy = fromArray(randomData(x.size), x.shape);
    const { stats, groups } = batchNormForward(x, gamma, beta, { training: true, eps: 1e-5, momentum: 0.1 });
    const fresh = batchNormBackward(dy, x, null, gamma, { stats, groups }, { training: true });
    const buf = fromArray(new Float32Array(4 * align).fill(7), [4 * align]);
    // Adjacent as a flat layout puts them: beta at the next aligned offset after gamma.
    const g = buf.view([C], align * 4);
    const bt = buf.view([C], 2 * align * 4);
    const r = batchNormBackward(dy, x, null, gamma, { stats, groups }, { training: true, gradInto: { gamma: g, beta: bt } });
    expect(r.dgamma).toBe(g);
    expect(r.dbeta).toBe(bt);
    const all = (await buf.data()) as Float32Array;
    expect(Array.from(all.subarray(align, align + C))).toEqual(Array.from((await fresh.dgamma.data()) as Float32Array));
    expect(Array.from(all.subarray(2 * align, 2 * align + C))).toEqual(Array.from((await fresh.dbeta.data()) as Float32Array));
    // The padding between them and the floats around them are untouched.
    for (const [lo, hi] of [[0, align], [align + C, 2 * align], [2 * align + C, 4 * align]]) expect(Array.from(all.subarray(lo, hi)).every((v) => v === 7)).toBe(true);
    // Not adjacent: new tensors, the views untouched.
    const far = buf.view([C], 3 * align * 4);
    const r2 = batchNormBackward(dy, x, null, gamma, { stats, groups }, { training: true, gradInto: { gamma: g, beta: far } });
    expect(r2.dgamma).not.toBe(g);
    expect(r2.dbeta).not.toBe(far);
    expect(Array.from(((await buf.data()) as Float32Array).subarray(3 * align, 3 * align + C)).every((v) => v === 7)).toBe(true);
    for (const t of [x, gamma, beta, dy, stats, buf, g, bt, far, fresh.dx, fresh.dgamma, fresh.dbeta, r.dx, r2.dx, r2.dgamma, r2.dbeta]) t.dispose();
  });
});
