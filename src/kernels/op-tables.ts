/**
 * The elementwise, comparison and reduction ops, one typed entry per op: its WGSL expression, its float64
 * reference and its derivative. Everything else is derived from these tables: each op's kernels (the
 * launchers make one per entry, the op's expression put into the shader as `apply`, or a fold's `identity`
 * and `combine`; there is no op code, so an op outside a table has no kernel to launch), the references in
 * src/autograd/reference.ts and the op tests. Each table `satisfies` a mapped type over its op names, so an
 * op left out of a table does not compile; the autograd's backward rules (src/autograd/ops.ts) are a table
 * over the ops given a derivative here, so such an op without a rule does not compile either.
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
// Binary (broadcasting): arithmetic and comparisons, launched through the same kernel body

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
// What is derived: each op's WGSL functions, and a value (its kernels) per op of a table

/** `fn <signature> -> f32 { return <expression>; }`. */
function wgslFunction(signature: string, expression: string): string {
  return `fn ${signature} -> f32 {\n  return ${expression};\n}\n`;
}

/** The unary kernels' `apply(v)` for one op. */
export function unaryApplyWgsl(op: UnaryOpName): string {
  return wgslFunction('apply(v: f32)', UNARY_OPS[op].wgsl);
}

/** A value per op of `table`, made from the op's name and entry, under the table's op names. */
export function perOp<T extends object, R>(table: T, make: (op: keyof T & string, entry: T[keyof T & string]) => R): { readonly [K in keyof T & string]: R } {
  const out = {} as { [K in keyof T & string]: R };
  for (const op of Object.keys(table) as (keyof T & string)[]) out[op] = make(op, table[op]);
  return out;
}

/** The result of every binary op in WGSL: arithmetic as its entry gives it, a comparison as 1.0 or 0.0. */
export const BINARY_WGSL: { readonly [K in BinaryOpName]: string } = {
  ...perOp(ARITHMETIC_OPS, (_op, e) => e.wgsl),
  ...perOp(COMPARISON_OPS, (_op, e) => `select(0.0, 1.0, ${e.wgsl})`),
};

/** The binary kernels' `apply(x, y)` for one op. */
export function binaryApplyWgsl(op: BinaryOpName): string {
  return wgslFunction('apply(x: f32, y: f32)', BINARY_WGSL[op]);
}

/** The reduce kernel's `identity()` and `combine(a, b)` for one fold. */
export function reduceFoldWgsl(fold: ReduceOp): string {
  const e = REDUCE_FOLDS[fold];
  return wgslFunction('identity()', e.identity) + wgslFunction('combine(a: f32, b: f32)', e.combine);
}

/**
 * `values[op]` for a {@link perOp} map. Typed callers can only name the table's ops; an op from untyped code
 * that the table does not have throws, naming it and the table's ops, before any GPU work.
 */
export function ofOp<K extends string, R>(family: string, values: { readonly [P in K]: R }, op: K): R {
  if (!Object.hasOwn(values, op)) {
    throw new Error(`${family}: '${String(op)}' is not an op of src/kernels/op-tables.ts (the ${family} ops: ${Object.keys(values).join(', ')})`);
  }
  return values[op];
}
