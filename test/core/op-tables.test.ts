/**
 * The op tables (src/kernels/op-tables.ts) and what is derived from them: each shader switch's case for a
 * code returns the expression of the table's entry at that position, the launchers' codes are those
 * positions, a code no op has gives NaN (never an input back), and a table that leaves out an op does not
 * compile (tsc checks the `@ts-expect-error` lines: `npm test` runs it first).
 */
import { describe, expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { grid } from '../../src/gpu/runtime.js';
import { UNARY } from '../../src/kernels/elementwise.js';
import { WG } from '../../src/kernels/util.js';
import { empty, fromArray } from '../../src/tensor/tensor.js';
import {
  ARITHMETIC_OPS,
  BINARY_APPLY_WGSL,
  BINARY_CODES,
  COMPARISON_OPS,
  REDUCE_CODES,
  REDUCE_FOLD_WGSL,
  REDUCE_FOLDS,
  REDUCTIONS,
  UNARY_APPLY_WGSL,
  UNARY_CODES,
  UNARY_OPS,
  type ArithmeticTable,
  type ComparisonTable,
  type FoldTable,
  type ReductionTable,
  type UnaryTable,
} from '../../src/kernels/op-tables.js';

/** The generated switches' cases, in order: [code, expression, op name]. */
function cases(wgsl: string, fn: string): [number, string, string][] {
  const body = wgsl.slice(wgsl.indexOf(`fn ${fn}(`), wgsl.indexOf('\n}\n', wgsl.indexOf(`fn ${fn}(`)));
  return [...body.matchAll(/^ {4}case (\d+)u: \{ return (.*); \} \/\/ (\w+)$/gm)].map((m) => [Number(m[1]), m[2]!, m[3]!]);
}

function defaultOf(wgsl: string, fn: string): string {
  const body = wgsl.slice(wgsl.indexOf(`fn ${fn}(`));
  return /default: \{ return (.*?); \}/.exec(body)![1]!;
}

describe('op tables', () => {
  it('generate one case per unary op, its code its position, returning its expression', () => {
    const want = Object.entries(UNARY_OPS).map(([name, e], code) => [code, e.wgsl, name]);
    expect(cases(UNARY_APPLY_WGSL, 'apply')).toEqual(want);
    expect(Object.entries(UNARY_CODES)).toEqual(Object.keys(UNARY_OPS).map((name, code) => [name, code]));
    expect(UNARY_CODES.neg).toBe(0);
    expect(cases(UNARY_APPLY_WGSL, 'apply')[UNARY_CODES.relu]).toEqual([UNARY_CODES.relu, 'max(v, 0.0)', 'relu']);
  });

  it('generate the binary cases: arithmetic, then comparisons as 1.0 or 0.0', () => {
    const want = [
      ...Object.entries(ARITHMETIC_OPS).map(([name, e]) => [name, e.wgsl]),
      ...Object.entries(COMPARISON_OPS).map(([name, e]) => [name, `select(0.0, 1.0, ${e.wgsl})`]),
    ].map(([name, wgsl], code) => [code, wgsl, name]);
    expect(cases(BINARY_APPLY_WGSL, 'apply')).toEqual(want);
    for (const [code, , name] of want) expect(BINARY_CODES[name as keyof typeof BINARY_CODES], name as string).toBe(code);
    expect(Object.keys(BINARY_CODES)).toHaveLength(want.length);
    expect(cases(BINARY_APPLY_WGSL, 'apply')[BINARY_CODES.lessEqual]![1]).toBe('select(0.0, 1.0, x <= y)');
  });

  it('generate the reduce folds: identity and combine per fold', () => {
    expect(cases(REDUCE_FOLD_WGSL, 'identity')).toEqual(Object.entries(REDUCE_FOLDS).map(([name, e], code) => [code, e.identity, name]));
    expect(cases(REDUCE_FOLD_WGSL, 'combine')).toEqual(Object.entries(REDUCE_FOLDS).map(([name, e], code) => [code, e.combine, name]));
    expect(REDUCE_CODES).toEqual({ sum: 0, max: 1 });
    for (const r of Object.values(REDUCTIONS)) expect(Object.keys(REDUCE_FOLDS)).toContain(r.fold);
  });

  it('give NaN for a code no op has, never an input back', async () => {
    for (const [wgsl, fn] of [[UNARY_APPLY_WGSL, 'apply'], [BINARY_APPLY_WGSL, 'apply'], [REDUCE_FOLD_WGSL, 'identity'], [REDUCE_FOLD_WGSL, 'combine']] as const) {
      expect(defaultOf(wgsl, fn)).toBe('from_bits(0x7fc00000u)');
    }
    // On the GPU: the unary shader with the first code past the table.
    await engine();
    const x = fromArray(Float32Array.of(1, -2, 3), [3]);
    const out = empty([3], 'float32');
    UNARY.dispatch({
      op: 'unknown',
      constants: { OP: Object.keys(UNARY_OPS).length, WG },
      params: { n: 3, s0: 0, s1: 0 },
      storage: { x: x.binding('unknown'), out: out.binding('unknown') },
      workgroups: grid(1),
    });
    expect(Array.from(await out.data()).every(Number.isNaN)).toBe(true);
    x.dispose();
    out.dispose();
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
