/**
 * The op tables (src/kernels/op-tables.ts) and what is derived from them: every op of a table has its own
 * kernels, whose shader's one `apply` (or a fold's one `identity` and `combine`) returns the table entry's
 * expression; an op outside a table cannot be launched (a compile error, and a thrown one from untyped code);
 * and a table that leaves out an op does not compile (tsc checks the `@ts-expect-error` lines: `npm test`
 * runs it first). The kernels' results against the float64 references are ops.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { BINARY_KERNELS, binaryKernel, UNARY_KERNELS, unaryKernel } from '../../src/kernels/elementwise.js';
import { REDUCE_KERNELS, reduceKernel } from '../../src/kernels/reduce.js';
import { fromArray } from '../../src/tensor/tensor.js';
import {
  ARITHMETIC_OPS,
  BINARY_WGSL,
  COMPARISON_OPS,
  REDUCE_FOLDS,
  REDUCTIONS,
  UNARY_OPS,
  type ArithmeticTable,
  type ComparisonTable,
  type FoldTable,
  type ReductionTable,
  type UnaryTable,
} from '../../src/kernels/op-tables.js';

/** The expressions that the WGSL functions named `fn` in `code` return, one per such function. */
function returns(code: string, fn: string): string[] {
  return [...code.matchAll(new RegExp(`^fn ${fn}\\(.*\\) -> f32 \\{\\n  return (.*);\\n\\}$`, 'gm'))].map((m) => m[1]!);
}

describe('op tables', () => {
  it('give every unary op its own kernels, whose apply is its entry', () => {
    expect(Object.keys(UNARY_KERNELS)).toEqual(Object.keys(UNARY_OPS));
    for (const [op, e] of Object.entries(UNARY_OPS)) {
      const { scalar, vec4 } = UNARY_KERNELS[op as keyof typeof UNARY_OPS];
      for (const k of [scalar, vec4]) {
        expect(returns(k.shader.code, 'apply'), op).toEqual([e.wgsl]);
        expect(k.shader.code, op).not.toMatch(/\bswitch\b|\bOP\b/);
      }
    }
    expect(returns(UNARY_KERNELS.relu.scalar.shader.code, 'apply')).toEqual(['max(v, 0.0)']);
  });

  it('give every binary op its own kernels: arithmetic as its entry, a comparison as 1.0 or 0.0', () => {
    const want = [
      ...Object.entries(ARITHMETIC_OPS).map(([op, e]) => [op, e.wgsl]),
      ...Object.entries(COMPARISON_OPS).map(([op, e]) => [op, `select(0.0, 1.0, ${e.wgsl})`]),
    ];
    expect(Object.entries(BINARY_WGSL)).toEqual(want);
    expect(Object.keys(BINARY_KERNELS)).toEqual(want.map(([op]) => op));
    for (const [op, wgsl] of want) {
      const { scalar, vec4 } = BINARY_KERNELS[op as keyof typeof BINARY_WGSL];
      for (const k of [scalar, vec4]) {
        expect(returns(k.shader.code, 'apply'), op).toEqual([wgsl]);
        expect(k.shader.code, op).not.toMatch(/\bswitch\b|\bOP\b/);
      }
    }
    expect(returns(BINARY_KERNELS.lessEqual.scalar.shader.code, 'apply')).toEqual(['select(0.0, 1.0, x <= y)']);
  });

  it('give every fold its own kernel, whose identity and combine are its entry, and every reduction a fold', () => {
    expect(Object.keys(REDUCE_KERNELS)).toEqual(Object.keys(REDUCE_FOLDS));
    for (const [fold, e] of Object.entries(REDUCE_FOLDS)) {
      const { code } = REDUCE_KERNELS[fold as keyof typeof REDUCE_FOLDS].shader;
      expect(returns(code, 'identity'), fold).toEqual([e.identity]);
      expect(returns(code, 'combine'), fold).toEqual([e.combine]);
      expect(code, fold).not.toMatch(/\bswitch\b|\bOP\b/);
    }
    for (const r of Object.values(REDUCTIONS)) expect(Object.keys(REDUCE_FOLDS)).toContain(r.fold);
  });

  it('launch no op outside the tables: a compile error, and from untyped code a thrown one naming it', async () => {
    await engine();
    const x = fromArray(Float32Array.of(1, -2, 3), [3]);
    // @ts-expect-error: 'identity' is not a unary op
    expect(() => unaryKernel('identity', x)).toThrow("unary: 'identity' is not an op of src/kernels/op-tables.ts (the unary ops: neg, exp,");
    // @ts-expect-error: 'hypot' is not a binary op
    expect(() => binaryKernel('hypot', x, x)).toThrow("binary: 'hypot' is not an op");
    // @ts-expect-error: 'min' is not a fold
    expect(() => reduceKernel('min', x, 0)).toThrow("reduce: 'min' is not an op");
    // A property every object inherits is no op either.
    expect(() => unaryKernel('toString' as never, x)).toThrow("unary: 'toString' is not an op");
    expect(Array.from(await x.data())).toEqual([1, -2, 3]);
    x.dispose();
  });

  it('do not compile with an op left out', () => {
    const { neg: _neg, ...unary } = UNARY_OPS;
    const { pow: _pow, ...arithmetic } = ARITHMETIC_OPS;
    const { less: _less, ...comparison } = COMPARISON_OPS;
    const { max: _max, ...folds } = REDUCE_FOLDS;
    const { mean: _mean, ...reductions } = REDUCTIONS;
    // @ts-expect-error: neg is missing
    const u: UnaryTable = unary;
    // @ts-expect-error: pow is missing
    const a: ArithmeticTable = arithmetic;
    // @ts-expect-error: less is missing
    const c: ComparisonTable = comparison;
    // @ts-expect-error: max is missing
    const f: FoldTable = folds;
    // @ts-expect-error: mean is missing
    const r: ReductionTable = reductions;
    // The whole tables are complete.
    const whole: [UnaryTable, ArithmeticTable, ComparisonTable, FoldTable, ReductionTable] = [UNARY_OPS, ARITHMETIC_OPS, COMPARISON_OPS, REDUCE_FOLDS, REDUCTIONS];
    expect([u, a, c, f, r].map((t) => Object.keys(t).length)).toEqual(whole.map((t) => Object.keys(t).length - 1));
  });
});
