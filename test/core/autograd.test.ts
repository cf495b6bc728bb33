import { describe, expect, it } from 'vitest';
import { engine, randomArr } from '../helpers.js';
import * as ops from '../../src/autograd/ops.js';
import * as ref from '../../src/autograd/reference.js';
import { backward, detach, noGrad, requireGrad } from '../../src/autograd/tape.js';
import { gradcheck } from '../../src/autograd/gradcheck.js';
import { fromArray, memory, scope } from '../../src/index.js';

describe('autograd', () => {
  it('accumulates gradients over uses and over backward calls', async () => {
    await engine();
    const x = requireGrad(fromArray([1, 2, 3]));
    // y = sum(x * x + x): dy/dx = 2x + 1, x used three times.
    const y = ops.sum(ops.add(ops.mul(x, x), x));
    backward(y);
    expect(Array.from(await x.grad!.data())).toEqual([3, 5, 7]);
    const y2 = ops.sum(ops.mul(x, 2));
    backward(y2);
    expect(Array.from(await x.grad!.data())).toEqual([5, 7, 9]);
    for (const t of [x, y, y2]) t.dispose();
  });

  it('takes an upstream gradient for a non-scalar root, and refuses a missing one', async () => {
    await engine();
    const x = requireGrad(fromArray([1, 2, 3, 4], [2, 2]));
    const y = ops.mul(x, 3);
    expect(() => backward(y)).toThrow(/pass an upstream gradient/);
    const up = fromArray([1, 0, -1, 2], [2, 2]);
    backward(y, up);
    expect(Array.from(await x.grad!.data())).toEqual([3, 0, -3, 6]);
    for (const t of [x, y, up]) t.dispose();
  });

  it('records nothing under noGrad and through detach', async () => {
    await engine();
    const x = requireGrad(fromArray([1, 2]));
    const y = noGrad(() => ops.mul(x, x));
    expect(y.requiresGrad).toBe(false);
    const d = detach(x);
    const z = ops.mul(d, d);
    expect(z.requiresGrad).toBe(false);
    expect(() => backward(z)).toThrow(/does not require gradients/);
    for (const t of [x, y, d, z]) t.dispose();
  });

  it('runs a graph twice only with retainGraph', async () => {
    await engine();
    const x = requireGrad(fromArray([2]));
    const y = ops.mul(ops.exp(x), 1);
    backward(y, undefined, { retainGraph: true });
    backward(y);
    expect((await x.grad!.data())[0]).toBeCloseTo(2 * Math.exp(2), 4);
    expect(() => backward(y)).toThrow(/already used by an earlier backward/);
    x.dispose();
    y.dispose();
  });

  it('frees a graph when its last tensor goes', async () => {
    await engine();
    const before = memory().liveTensors;
    const x = requireGrad(fromArray([1, 2, 3]));
    // The intermediates are disposed with the scope; their nodes live on through y.
    const y = scope(() => {
      const h = ops.exp(x);
      return ops.sum(ops.mul(h, h));
    });
    expect(memory().liveTensors).toBeGreaterThan(before + 2); // saved tensors keep the graph alive
    y.dispose();
    expect(memory().liveTensors).toBe(before + 1);
    x.dispose();
  });

  it('gradcheck compares a GPU function with a float64 reference and its central differences', async () => {
    await engine();
    const a = randomArr([3, 4]);
    const b = randomArr([4, 2]);
    const good = await gradcheck((x, y) => ops.matmul(x, y), ([x, y]) => ref.matmul(x, y), [a, b]);
    expect(good.forwardError).toBeLessThan(1e-5);
    for (const e of good.gradErrors) expect(e).toBeLessThan(1e-3);
    // A wrong function is caught.
    const bad = await gradcheck((x, y) => ops.matmul(ops.mul(x, 1.01), y), ([x, y]) => ref.matmul(x, y), [a, b]);
    expect(bad.forwardError).toBeGreaterThan(1e-3);
  });
});
