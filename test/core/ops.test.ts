/**
 * Every op against its float64 reference on fresh random inputs of awkward shapes: forward, and for a
 * differentiable op the GPU gradient against the reference gradient, and the reference gradient against
 * central differences.
 */
import { describe, expect, it } from 'vitest';
import { engine, f32, randomArr, seedNote, toTensor } from '../helpers.js';
import * as ops from '../../src/autograd/ops.js';
import * as ref from '../../src/autograd/reference.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { type Arr } from '../../src/autograd/reference.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { binaryKernel, suffixPeriod, unaryKernel } from '../../src/kernels/elementwise.js';
import {
  ARITHMETIC_OPS,
  COMPARISON_OPS,
  REDUCTIONS,
  UNARY_OPS,
  type ArithmeticOpName,
  type ComparisonOpName,
  type DifferentiableBinary,
  type DifferentiableUnary,
  type Domain,
  type ReductionName,
  type UnaryOpName,
} from '../../src/kernels/op-tables.js';

interface Case {
  name: string;
  inputs: Arr[];
  gpu: (...xs: Tensor[]) => Tensor;
  ref: (xs: Arr[]) => Arr;
  refGrad?: (xs: Arr[], g: Arr) => (Arr | null)[];
  /** Skip the central-difference check (non-smooth points are avoided by the inputs anyway). */
  noNumeric?: boolean;
}

async function check(c: Case): Promise<void> {
  const inputs = c.inputs.map(f32);
  const ts = inputs.map((x) => requireGrad(toTensor(x)));
  const out = c.gpu(...ts);
  const want = c.ref(inputs);
  expect(out.shape, `${c.name} shape`).toEqual(want.shape);
  const got = await out.data();
  expect(ref.relativeError(got, want.data), `${c.name} forward ${seedNote}`).toBeLessThan(1e-4);
  if (c.refGrad) {
    const up = f32(randomArr(want.shape));
    const upT = toTensor(up);
    backward(out, upT);
    const refGrads = c.refGrad(inputs, up);
    for (let i = 0; i < inputs.length; i++) {
      const rg = refGrads[i];
      if (!rg) continue;
      const g = ts[i].grad;
      expect(g, `${c.name}: input ${i} got no gradient`).not.toBeNull();
      expect(g!.shape).toEqual(inputs[i].shape);
      const gd = await g!.data();
      expect(ref.relativeError(gd, rg.data), `${c.name} grad ${i} vs reference ${seedNote}`).toBeLessThan(1e-4);
      if (!c.noNumeric) {
        const num = ref.numericGrad(c.ref, inputs.map((x) => ({ shape: x.shape, data: Float64Array.from(x.data) })), i, up);
        expect(ref.relativeError(rg.data, num.data), `${c.name} reference grad ${i} vs central differences ${seedNote}`).toBeLessThan(1e-5);
      }
    }
    upT.dispose();
  }
  out.dispose();
  for (const t of ts) t.dispose();
}

const positive = (shape: number[]) => randomArr(shape, 0.5, 2);
/** Values bounded away from zero with random signs (for abs, relu, reciprocal, division). */
const awayFromZero = (shape: number[]) => {
  const a = randomArr(shape, 0.2, 1.5);
  const s = randomArr(shape);
  a.data.forEach((v, i) => (a.data[i] = s.data[i] < 0 ? -v : v));
  return a;
};

/** Inputs in each domain the op tables name. */
const draw: Record<Domain, (shape: number[]) => Arr> = { real: (s) => randomArr(s), positive, nonzero: awayFromZero };

// One test per op of the tables (src/kernels/op-tables.ts): adding an op there adds its test. A
// differentiable op is checked through its autograd function, forward and backward; the others through
// their kernel.

describe('unary ops', () => {
  // [4, 6] has a multiple-of-4 length: the vec4 kernels.
  const shapes = [[1], [7], [3, 5], [2, 1, 13], [4, 6]];
  // Scalars for the ops that take them, ignored by the others: an exponent that is not whole, a scale, a shift.
  const [s0, s1] = [-1.5, 0.25];
  const autograd: { [K in DifferentiableUnary]: (x: Tensor) => Tensor } = {
    neg: ops.neg,
    exp: ops.exp,
    log: ops.log,
    sqrt: ops.sqrt,
    rsqrt: ops.rsqrt,
    abs: ops.abs,
    relu: ops.relu,
    powScalar: (x) => ops.pow(x, s0),
    affine: (x) => ops.affine(x, s0, s1),
    square: ops.square,
    reciprocal: ops.reciprocal,
  };
  for (const name of Object.keys(UNARY_OPS) as UnaryOpName[]) {
    it(name, async () => {
      await engine();
      const d = name in autograd ? (name as DifferentiableUnary) : null;
      for (const s of shapes) {
        await check({
          name: `${name}${JSON.stringify(s)}`,
          inputs: [draw[UNARY_OPS[name].domain](s)],
          gpu: d ? autograd[d] : (x) => unaryKernel(name, x, s0, s1),
          ref: ([x]) => ref.unary(name, x, s0, s1),
          refGrad: d ? ([x], g) => [ref.unaryGrad(d, x, g, s0, s1)] : undefined,
        });
      }
    });
  }

  it('pow with a scalar exponent, and affine', async () => {
    await engine();
    for (const p of [2, 3, 0.5, -1.5]) {
      await check({
        name: `pow x^${p}`,
        inputs: [positive([3, 7])],
        gpu: (x) => ops.pow(x, p),
        ref: ([x]) => ref.unary('powScalar', x, p),
        refGrad: ([x], g) => [ref.unaryGrad('powScalar', x, g, p)],
      });
    }
    // Integer powers of negative numbers are real.
    await check({
      name: 'pow of negatives',
      inputs: [randomArr([9], -2, -0.5)],
      gpu: (x) => ops.pow(x, 3),
      ref: ([x]) => ref.unary('powScalar', x, 3),
      refGrad: ([x], g) => [ref.unaryGrad('powScalar', x, g, 3)],
    });
    await check({
      name: 'affine',
      inputs: [randomArr([5, 3])],
      gpu: (x) => ops.affine(x, -1.5, 0.25),
      ref: ([x]) => ref.unary('affine', x, -1.5, 0.25),
      refGrad: ([x], g) => [ref.unaryGrad('affine', x, g, -1.5, 0.25)],
    });
  });
});

describe('binary ops with broadcasting', () => {
  const pairs: [number[], number[]][] = [
    [[7], [7]],
    [[1], [5]],
    [[3, 5], [5]],
    [[4, 1], [1, 3]],
    [[2, 3, 1, 5], [3, 7, 1]],
    [[1, 1], [1, 1]],
    [[4, 6], [4, 6]], // same shapes, length a multiple of 4: the vec4 kernel
    // One input repeating along the output's leading axes, its length a multiple of 4: the vec4 kernel's
    // periodic read (a Linear layer's bias).
    [[3, 8], [8]],
    [[12], [5, 12]],
    [[2, 3, 4], [1, 3, 4]],
    [[1, 8], [3, 2, 8]],
  ];
  const autograd: { [K in DifferentiableBinary]: (a: Tensor, b: Tensor) => Tensor } = {
    add: ops.add,
    sub: ops.sub,
    mul: ops.mul,
    div: ops.div,
    maximum: ops.maximum,
    minimum: ops.minimum,
    pow: ops.pow,
  };
  for (const name of Object.keys(ARITHMETIC_OPS) as ArithmeticOpName[]) {
    it(name, async () => {
      await engine();
      const d = name in autograd ? (name as DifferentiableBinary) : null;
      const [da, db] = ARITHMETIC_OPS[name].domain;
      for (const [sa, sb] of pairs) {
        await check({
          name: `${name} ${JSON.stringify(sa)}·${JSON.stringify(sb)}`,
          inputs: [draw[da](sa), draw[db](sb)],
          gpu: d ? autograd[d] : (x, y) => binaryKernel(name, x, y),
          ref: ([x, y]) => ref.binary(name, x, y),
          refGrad: d ? ([x, y], g) => ref.binaryGrad(d, x, y, g) : undefined,
        });
      }
    });
  }

  it('knows which inputs repeat along the leading axes of the output', () => {
    expect(suffixPeriod([4, 8], [4, 8])).toBe(0);
    expect(suffixPeriod([8], [4, 8])).toBe(8);
    expect(suffixPeriod([1, 1, 8], [4, 8])).toBe(8);
    expect(suffixPeriod([3, 4], [2, 3, 4])).toBe(12);
    expect(suffixPeriod([1], [4, 8])).toBe(1);
    expect(suffixPeriod([4, 1], [4, 8])).toBeNull(); // repeats along the last axis
    expect(suffixPeriod([2, 1, 4], [2, 3, 4])).toBeNull();
  });

  it('splits the gradient of maximum and minimum evenly on ties', async () => {
    await engine();
    const a = ref.arr([4], [1, 2, 3, 4]);
    const b = ref.arr([4], [1, 5, 3, 0]);
    for (const name of ['maximum', 'minimum'] as const) {
      await check({
        name: `${name} ties`,
        inputs: [a, b],
        gpu: name === 'maximum' ? ops.maximum : ops.minimum,
        ref: ([x, y]) => ref.binary(name, x, y),
        refGrad: ([x, y], g) => ref.binaryGrad(name, x, y, g),
        noNumeric: true,
      });
    }
  });

  // Inputs on a coarse grid, so that every shape pair has ties; the results (1 or 0) must match exactly.
  const coarse = (shape: number[]) => {
    const a = randomArr(shape, -1, 1);
    a.data.forEach((v, i) => (a.data[i] = Math.round(v * 2) / 2));
    return a;
  };
  for (const name of Object.keys(COMPARISON_OPS) as ComparisonOpName[]) {
    it(`${name} gives 1 and 0`, async () => {
      await engine();
      for (const [sa, sb] of pairs) {
        const [a, b] = [coarse(sa), coarse(sb)];
        const [ta, tb] = [toTensor(a), toTensor(b)];
        const out = ops[name](ta, tb);
        const want = ref.binary(name, a, b);
        expect(out.shape).toEqual(want.shape);
        expect(Array.from(await out.data()), `${name} ${JSON.stringify(sa)}·${JSON.stringify(sb)} ${seedNote}`).toEqual(Array.from(want.data));
        for (const t of [ta, tb, out]) t.dispose();
      }
    });
  }

  it('where, with broadcasting and gradients to both branches', async () => {
    await engine();
    const cond = ref.arr([3, 1], [1, 0, 1]);
    const ct = toTensor(cond);
    await check({
      name: 'where',
      inputs: [randomArr([3, 4]), randomArr([4])],
      gpu: (a, b) => ops.where(ct, a, b),
      ref: ([a, b]) => ref.where(cond, a, b),
      refGrad: ([a, b], g) => {
        const zero = ref.arr([1], [0]);
        return [ref.sumTo(ref.where(cond, g, zero), a.shape), ref.sumTo(ref.where(cond, zero, g), b.shape)];
      },
    });
    ct.dispose();
  });

  it('rejects shapes that do not broadcast, naming the op and both shapes', async () => {
    await engine();
    const a = toTensor(randomArr([3, 4]));
    const b = toTensor(randomArr([5]));
    expect(() => ops.add(a, b)).toThrow('add: shapes [3, 4] and [5] cannot be broadcast together');
    a.dispose();
    b.dispose();
  });
});

describe('reductions', () => {
  const cases: [number[], number[] | undefined, boolean][] = [
    [[7], undefined, false],
    [[3, 5], [1], false],
    [[3, 5], [0], true],
    [[2, 3, 4, 5], [0, 2, 3], false],
    [[2, 3, 4, 5], [1, 3], true],
    [[1, 6, 1], [0, 2], false],
    [[5000], [0], false],
    [[3, 3001], [1], false],
    // Long reductions over few outputs in barrier-free slices (software adapters): 2 and 3 reduced axes.
    [[9, 3, 250], [0, 2], false],
    [[4, 2, 6, 2, 100], [0, 2, 4], true],
  ];
  for (const op of Object.keys(REDUCTIONS) as ReductionName[]) {
    it(op, async () => {
      await engine();
      for (const [shape, axes, keep] of cases) {
        const ax = axes ?? shape.map((_, i) => i);
        await check({
          name: `${op} ${JSON.stringify(shape)} over ${JSON.stringify(axes)}${keep ? ' keepDims' : ''}`,
          inputs: [randomArr(shape)],
          gpu: (x) => ops[op](x, axes, keep),
          ref: ([x]) => ref.reduce(op, x, ax, keep),
          refGrad: ([x], g) => [ref.reduceGrad(op, x, ax, g)],
          noNumeric: shape.reduce((a, b) => a * b, 1) > 200,
        });
      }
    });
  }

  it('variance, unbiased and population', async () => {
    await engine();
    for (const [shape, axes, correction] of [
      [[4, 7], [1], 1],
      [[3, 2, 5], [0, 2], 0],
      [[9], [0], 1],
    ] as [number[], number[], number][]) {
      await check({
        name: `variance ${JSON.stringify(shape)} ${correction}`,
        inputs: [randomArr(shape)],
        gpu: (x) => ops.variance(x, axes, false, correction),
        ref: ([x]) => ref.variance(x, axes, correction),
        refGrad: ([x], g) => [ref.varianceGrad(x, axes, g, correction)],
      });
    }
  });

  it('rejects an axis out of range', async () => {
    await engine();
    const x = toTensor(randomArr([2, 3]));
    expect(() => ops.sum(x, 2)).toThrow('sum: axis 2 is out of range for rank 2');
    x.dispose();
  });
});

describe('data movement', () => {
  it('permute and transpose', async () => {
    await engine();
    for (const [shape, perm] of [
      [[3, 5], [1, 0]],
      [[2, 3, 4], [2, 0, 1]],
      [[2, 1, 3, 5], [3, 1, 0, 2]],
    ] as [number[], number[]][]) {
      const inverse = perm.map((_, i) => perm.indexOf(i));
      await check({
        name: `permute ${JSON.stringify(shape)} ${JSON.stringify(perm)}`,
        inputs: [randomArr(shape)],
        gpu: (x) => ops.permute(x, perm),
        ref: ([x]) => ref.permute(x, perm),
        refGrad: (_x, g) => [ref.permute(g, inverse)],
      });
    }
    await check({
      name: 'transpose',
      inputs: [randomArr([2, 3, 7])],
      gpu: (x) => ops.transpose(x),
      ref: ([x]) => ref.permute(x, [0, 2, 1]),
      refGrad: (_x, g) => [ref.permute(g, [0, 2, 1])],
    });
  });

  it('slice', async () => {
    await engine();
    for (const [shape, begin, size] of [
      [[7], [2], [3]],
      [[4, 6], [1, 0], [2, -1]],
      [[3, 5, 7], [0, 4, 2], [3, 1, 5]],
    ] as [number[], number[], number[]][]) {
      const sz = size.map((s, i) => (s === -1 ? shape[i] - begin[i] : s));
      await check({
        name: `slice ${JSON.stringify(shape)}`,
        inputs: [randomArr(shape)],
        gpu: (x) => ops.slice(x, begin, size),
        ref: ([x]) => ref.slice(x, begin, sz),
        refGrad: ([x], g) => [ref.sliceGrad(x, begin, g)],
      });
    }
    const x = toTensor(randomArr([3, 4]));
    expect(() => ops.slice(x, [2, 0], [2, 4])).toThrow(/slice: axis 0/);
    x.dispose();
  });

  it('concat', async () => {
    await engine();
    for (const [shapes, axis] of [
      [[[3], [1], [5]], 0],
      [[[2, 3], [2, 5]], 1],
      [[[1, 3, 2], [4, 3, 2]], 0],
      [[[2, 3, 1], [2, 3, 2], [2, 3, 3]], 2],
    ] as [number[][], number][]) {
      await check({
        name: `concat ${JSON.stringify(shapes)} axis ${axis}`,
        inputs: shapes.map((s) => randomArr(s)),
        gpu: (...xs) => ops.concat(xs, axis),
        ref: (xs) => ref.concat(xs, axis),
        refGrad: (xs, g) => {
          let at = 0;
          return xs.map((x) => {
            const begin = x.shape.map((_, i) => (i === axis ? at : 0));
            at += x.shape[axis];
            return ref.slice(g, begin, x.shape);
          });
        },
      });
    }
  });

  it('broadcastTo', async () => {
    await engine();
    await check({
      name: 'broadcastTo',
      inputs: [randomArr([3, 1])],
      gpu: (x) => ops.broadcastTo(x, [2, 3, 4]),
      ref: ([x]) => ref.binary('add', x, ref.arr([2, 3, 4])),
      refGrad: ([x], g) => [ref.sumTo(g, x.shape)],
    });
  });
});

describe('matmul', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[1, 1], [1, 1], false, false],
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[13, 17], [17, 11], false, false],
    [[3, 6, 9], [3, 9, 5], false, false],
    [[2, 1, 4, 6], [3, 6, 5], false, false],
    [[4, 6], [2, 6, 3], false, false],
    [[2, 9, 4], [5, 9], true, true],
    // K and N multiples of 4: the vec4 kernel, with M off the tile, batched and batch-broadcast.
    [[5, 8], [8, 12], false, false],
    [[3, 7, 4], [3, 4, 8], false, false],
    [[6, 8], [2, 8, 4], false, false],
    [[1, 4], [4, 4], false, false],
    // A·Bᵀ with K, N multiples of 4 and Aᵀ·B with M, N multiples of 4: the nt and tn vec4 kernels.
    [[5, 8], [12, 8], false, true],
    [[2, 7, 4], [2, 8, 4], false, true],
    [[8, 4], [8, 12], true, false],
    [[3, 5, 8], [3, 5, 4], true, false],
  ];
  it('all transposes, batching and batch broadcasting, with gradients', async () => {
    await engine();
    for (const [sa, sb, ta, tb] of cases) {
      await check({
        name: `matmul ${JSON.stringify(sa)}${ta ? 'ᵀ' : ''}·${JSON.stringify(sb)}${tb ? 'ᵀ' : ''}`,
        inputs: [randomArr(sa), randomArr(sb)],
        gpu: (a, b) => ops.matmul(a, b, ta, tb),
        ref: ([a, b]) => ref.matmul(a, b, ta, tb),
        refGrad: ([a, b], g) => ref.matmulGrad(a, b, g, ta, tb),
      });
    }
  });

  it('names both shapes when the inner dimensions differ', async () => {
    await engine();
    const a = toTensor(randomArr([3, 4]));
    const b = toTensor(randomArr([5, 2]));
    expect(() => ops.matmul(a, b)).toThrow('matmul: inner dimensions differ: [3, 4] · [5, 2] (4 vs 5)');
    a.dispose();
    b.dispose();
  });
});
