/**
 * The elementwise, comparison and reduction ops, one typed entry per op: its WGSL expression, its float64
 * reference and its derivative. Everything else is derived from these tables: the shaders' `apply`,
 * `identity` and `combine` functions (a switch on the OP override constant, case i for the table's i-th
 * entry), the op codes the launchers pass, the references in src/autograd/reference.ts and the op tests.
 * Each table `satisfies` a mapped type over its op names, so an op left out of a table does not compile; the
 * autograd's backward rules (src/autograd/ops.ts) are a table over the ops given a derivative here, so such an
 * op without a rule does not compile either.
 */

/** Where an op's tests draw inputs: where its reference and derivative are defined and smooth. */
export type Domain = 'real' | 'positive' | 'nonzero';

// ---------------------------------------------------------------------------------------------------------
// Unary

export type UnaryOpName =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'relu'
  | 'powScalar'
  | 'affine'
  | 'sign'
  | 'square'
  | 'reciprocal'
  | 'step';

/** f(x) with the op's scalars s0 (exponent, scale) and s1 (shift). */
export type Unary64 = (x: number, s0: number, s1: number) => number;

export interface UnaryEntry {
  /** The result in WGSL, over `v: f32` and the op's scalars `p.s0`, `p.s1`. */
  wgsl: string;
  /** The float64 reference. */
  f: Unary64;
  /** d f / d x in float64, with the autograd's values at kinks; none: the op has no gradient. */
  df?: Unary64;
  domain: Domain;
}

export type UnaryTable = { readonly [K in UnaryOpName]: UnaryEntry };

export const UNARY_OPS = {
  neg: { wgsl: '-v', f: (x) => -x, df: () => -1, domain: 'real' },
  exp: { wgsl: 'exp(v)', f: Math.exp, df: Math.exp, domain: 'real' },
  log: { wgsl: 'log(v)', f: Math.log, df: (x) => 1 / x, domain: 'positive' },
  sqrt: { wgsl: 'sqrt(v)', f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x), domain: 'positive' },
  rsqrt: { wgsl: 'inverseSqrt(v)', f: (x) => 1 / Math.sqrt(x), df: (x) => -0.5 * x ** -1.5, domain: 'positive' },
  abs: { wgsl: 'abs(v)', f: Math.abs, df: (x) => Math.sign(x), domain: 'nonzero' },
  relu: { wgsl: 'max(v, 0.0)', f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0), domain: 'nonzero' },
  // Real for negative bases with whole exponents (pow_real in the shader), NaN otherwise.
  powScalar: { wgsl: 'pow_real(v, p.s0)', f: (x, e) => x ** e, df: (x, e) => e * x ** (e - 1), domain: 'positive' },
  affine: { wgsl: 'fma(v, p.s0, p.s1)', f: (x, s, t) => x * s + t, df: (_x, s) => s, domain: 'real' },
  sign: { wgsl: 'sign(v)', f: Math.sign, domain: 'nonzero' },
  square: { wgsl: 'v * v', f: (x) => x * x, df: (x) => 2 * x, domain: 'real' },
  reciprocal: { wgsl: '1.0 / v', f: (x) => 1 / x, df: (x) => -1 / (x * x), domain: 'nonzero' },
  step: { wgsl: 'select(0.0, 1.0, v > 0.0)', f: (x) => (x > 0 ? 1 : 0), domain: 'nonzero' },
} satisfies UnaryTable;

/** The unary ops with a derivative. */
export type DifferentiableUnary = { [K in UnaryOpName]: (typeof UNARY_OPS)[K] extends { df: Unary64 } ? K : never }[UnaryOpName];

// ---------------------------------------------------------------------------------------------------------
// Binary (broadcasting): arithmetic and comparisons share one shader; comparisons follow arithmetic in its codes

export type ArithmeticOpName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow' | 'reluBackward';

export type Binary64 = (a: number, b: number) => number;

export interface ArithmeticEntry {
  /** The result in WGSL, over `x: f32` (left) and `y: f32` (right). */
  wgsl: string;
  /** The float64 reference. */
  f: Binary64;
  /** ∂f/∂a and ∂f/∂b in float64, with the autograd's values at kinks (ties split evenly); none: no gradient. */
  da?: Binary64;
  db?: Binary64;
  domain: readonly [Domain, Domain];
}

export type ArithmeticTable = { readonly [K in ArithmeticOpName]: ArithmeticEntry };

export const ARITHMETIC_OPS = {
  add: { wgsl: 'x + y', f: (a, b) => a + b, da: () => 1, db: () => 1, domain: ['real', 'real'] },
  sub: { wgsl: 'x - y', f: (a, b) => a - b, da: () => 1, db: () => -1, domain: ['real', 'real'] },
  mul: { wgsl: 'x * y', f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a, domain: ['real', 'real'] },
  div: { wgsl: 'x / y', f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b), domain: ['real', 'nonzero'] },
  maximum: {
    wgsl: 'max(x, y)',
    f: Math.max,
    da: (a, b) => (a > b ? 1 : a === b ? 0.5 : 0),
    db: (a, b) => (b > a ? 1 : a === b ? 0.5 : 0),
    domain: ['real', 'real'],
  },
  minimum: {
    wgsl: 'min(x, y)',
    f: Math.min,
    da: (a, b) => (a < b ? 1 : a === b ? 0.5 : 0),
    db: (a, b) => (b < a ? 1 : a === b ? 0.5 : 0),
    domain: ['real', 'real'],
  },
  // ∂/∂b is 0 where a = 0 (as PyTorch).
  pow: {
    wgsl: 'pow_real(x, y)',
    f: (a, b) => a ** b,
    da: (a, b) => b * a ** (b - 1),
    db: (a, b) => (a === 0 ? 0 : a ** b * Math.log(a)),
    domain: ['positive', 'real'],
  },
  // a where b > 0, else 0 (a: upstream gradient, b: the ReLU's input): relu's backward rule.
  reluBackward: { wgsl: 'select(0.0, x, y > 0.0)', f: (a, b) => (b > 0 ? a : 0), domain: ['real', 'nonzero'] },
} satisfies ArithmeticTable;

/** The arithmetic ops with derivatives. */
export type DifferentiableBinary = {
  [K in ArithmeticOpName]: (typeof ARITHMETIC_OPS)[K] extends { da: Binary64; db: Binary64 } ? K : never;
}[ArithmeticOpName];

export type ComparisonOpName = 'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual';

/** A comparison gives 1.0 where its test holds and 0.0 elsewhere; it has no gradient. */
export interface ComparisonEntry {
  /** The test in WGSL, a bool over `x: f32` and `y: f32`. */
  wgsl: string;
  /** The test in float64. */
  test: (a: number, b: number) => boolean;
}

export type ComparisonTable = { readonly [K in ComparisonOpName]: ComparisonEntry };

export const COMPARISON_OPS = {
  equal: { wgsl: 'x == y', test: (a, b) => a === b },
  notEqual: { wgsl: 'x != y', test: (a, b) => a !== b },
  less: { wgsl: 'x < y', test: (a, b) => a < b },
  lessEqual: { wgsl: 'x <= y', test: (a, b) => a <= b },
  greater: { wgsl: 'x > y', test: (a, b) => a > b },
  greaterEqual: { wgsl: 'x >= y', test: (a, b) => a >= b },
} satisfies ComparisonTable;

export type BinaryOpName = ArithmeticOpName | ComparisonOpName;

/** The float64 reference of a binary op (a comparison's as 1 or 0). */
export function binary64(op: BinaryOpName): Binary64 {
  if (op in COMPARISON_OPS) {
    const { test } = COMPARISON_OPS[op as ComparisonOpName];
    return (a, b) => +test(a, b);
  }
  return ARITHMETIC_OPS[op as ArithmeticOpName].f;
}

// ---------------------------------------------------------------------------------------------------------
// Reductions

/** The reduce shader's folds. */
export type ReduceOp = 'sum' | 'max';

export interface FoldEntry {
  /** The fold's starting value in WGSL (`from_bits` keeps infinities out of constant expressions). */
  identity: string;
  /** One step of the fold in WGSL, over `a: f32` (so far) and `b: f32` (the next element). */
  combine: string;
  /** The same in float64. */
  identity64: number;
  combine64: Binary64;
}

export type FoldTable = { readonly [K in ReduceOp]: FoldEntry };

export const REDUCE_FOLDS = {
  sum: { identity: '0.0', combine: 'a + b', identity64: 0, combine64: (a, b) => a + b },
  max: { identity: 'from_bits(0xff800000u)', combine: 'max(a, b)', identity64: -Infinity, combine64: Math.max },
} satisfies FoldTable;

export type ReductionName = 'sum' | 'mean' | 'max';

/**
 * d result / d x for one element `x` of a reduction that gave `y` over `count` elements, `ties` of them equal
 * to `y`, in float64.
 */
export type ReduceGrad64 = (x: number, y: number, count: number, ties: number) => number;

export interface ReductionEntry {
  /** The fold that computes it. */
  fold: ReduceOp;
  /** Divided by the count of reduced elements (the kernel's `scale`). */
  mean: boolean;
  grad: ReduceGrad64;
}

export type ReductionTable = { readonly [K in ReductionName]: ReductionEntry };

export const REDUCTIONS = {
  sum: { fold: 'sum', mean: false, grad: () => 1 },
  mean: { fold: 'sum', mean: true, grad: (_x, _y, count) => 1 / count },
  // The gradient goes to the maxima, split evenly among ties.
  max: { fold: 'max', mean: false, grad: (x, y, _count, ties) => (x === y ? 1 / ties : 0) },
} satisfies ReductionTable;

// ---------------------------------------------------------------------------------------------------------
// What is derived: op codes and the shaders' switches

/** A table's op names, in its order. */
function namesOf<T extends object>(table: T): (keyof T & string)[] {
  return Object.keys(table) as (keyof T & string)[];
}

/** Each op's code: its position in `names` (a table's names, or several tables' that share a shader). */
function codesOf<K extends string>(names: readonly K[]): Record<K, number> {
  return Object.fromEntries(names.map((name, code) => [name, code])) as Record<K, number>;
}

/**
 * `fn <signature> -> f32` that returns the expression of the op whose code is the override constant OP (one
 * `case` per op, in code order); any other code gives NaN (the shaders define `from_bits`).
 */
export function wgslSwitch(signature: string, ops: readonly (readonly [name: string, expression: string])[]): string {
  return [
    `fn ${signature} -> f32 {`,
    '  switch OP {',
    ...ops.map(([name, e], code) => `    case ${code}u: { return ${e}; } // ${name}`),
    '    default: { return from_bits(0x7fc00000u); } // no op has this code',
    '  }',
    '}',
    '',
  ].join('\n');
}

export const UNARY_CODES = codesOf(namesOf(UNARY_OPS));
export const BINARY_CODES = codesOf([...namesOf(ARITHMETIC_OPS), ...namesOf(COMPARISON_OPS)]);
export const REDUCE_CODES = codesOf(namesOf(REDUCE_FOLDS));

/** unary_ops.wgsl's `apply(v)`. */
export const UNARY_APPLY_WGSL = wgslSwitch(
  'apply(v: f32)',
  Object.entries(UNARY_OPS).map(([name, e]) => [name, e.wgsl] as const),
);

/** binary_ops.wgsl's `apply(x, y)`: arithmetic, then comparisons as 1.0 or 0.0. */
export const BINARY_APPLY_WGSL = wgslSwitch('apply(x: f32, y: f32)', [
  ...Object.entries(ARITHMETIC_OPS).map(([name, e]) => [name, e.wgsl] as const),
  ...Object.entries(COMPARISON_OPS).map(([name, e]) => [name, `select(0.0, 1.0, ${e.wgsl})`] as const),
]);

/** reduce.wgsl's `identity()` and `combine(a, b)`. */
export const REDUCE_FOLD_WGSL =
  wgslSwitch(
    'identity()',
    Object.entries(REDUCE_FOLDS).map(([name, e]) => [name, e.identity] as const),
  ) +
  wgslSwitch(
    'combine(a: f32, b: f32)',
    Object.entries(REDUCE_FOLDS).map(([name, e]) => [name, e.combine] as const),
  );
