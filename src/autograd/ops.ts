/**
 * Differentiable ops: each runs its kernel and, when an input requires gradients, records its backward
 * rule next to it. Every op checks its inputs and throws an error naming the op and the shapes before any
 * GPU work. Backward rules run with recording off and are built from the same ops.
 */
import { clone, concatKernel, expandKernel, padKernel, permuteKernel, sliceBounds, sliceKernel } from '../kernels/copy.js';
import { fillKernel } from '../kernels/creation.js';
import { binaryKernel, unaryKernel, whereKernel } from '../kernels/elementwise.js';
import { matmulDims, matmulKernel } from '../kernels/matmul.js';
import { REDUCTIONS, type BinaryOpName, type DifferentiableBinary, type DifferentiableUnary, type ReductionName } from '../kernels/op-tables.js';
import { reduceKernel } from '../kernels/reduce.js';
import { broadcastShapes, normalizeAxes, sameShape } from '../kernels/util.js';
import { checkShape, shapeString, sizeOf, type Shape, type Tensor } from '../tensor/tensor.js';
import { record, writableInto } from './tape.js';

/** A tensor, or a number that broadcasts as a scalar. */
export type Operand = Tensor | number;

function scalarTensor(v: number): Tensor {
  return fillKernel([], v);
}

/**
 * Sums a broadcast gradient back to `shape` (the inverse of broadcasting). `into`: a rule's `into` entry for
 * this input; the sum is written there when it is a leaf's zeroed gradient (see writableInto).
 */
export function sumTo(g: Tensor, shape: Shape, into: Tensor | null = null): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  // Written straight into a leaf's zeroed gradient when the rule was offered one (a Linear's bias).
  const target = writableInto(into, shape);
  if (target) return reduceKernel('sum', g, axes, true, 1, 'sum', target);
  const r = reduceKernel('sum', g, axes, true);
  const out = r.view(shape);
  r.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Unary

/** A unary op's backward rule: x's gradient from the upstream gradient g, x, the output and the op's scalars. */
interface UnaryRule {
  grad: (g: Tensor, x: Tensor, out: Tensor, s0: number, s1: number) => Tensor;
  /** The rule reads the output (kept for backward). */
  saveOut?: boolean;
}

/** The backward rule of every unary op with a derivative in the op table (src/kernels/op-tables.ts). */
const UNARY_RULES: { [K in DifferentiableUnary]: UnaryRule } = {
  neg: { grad: (g) => unaryKernel('neg', g) },
  exp: { grad: (g, _x, out) => binaryKernel('mul', g, out), saveOut: true },
  log: { grad: (g, xs) => binaryKernel('div', g, xs) },
  // d sqrt(x) = g / (2 sqrt(x))
  sqrt: {
    grad: (g, _x, out) => {
      const twice = unaryKernel('affine', out, 2, 0);
      const r = binaryKernel('div', g, twice);
      twice.dispose();
      return r;
    },
    saveOut: true,
  },
  // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 out^3
  rsqrt: {
    grad: (g, _x, out) => {
      const cube = unaryKernel('powScalar', out, 3);
      const scaled = unaryKernel('affine', cube, -0.5, 0);
      const r = binaryKernel('mul', g, scaled);
      cube.dispose();
      scaled.dispose();
      return r;
    },
    saveOut: true,
  },
  abs: {
    grad: (g, xs) => {
      const s = unaryKernel('sign', xs);
      const r = binaryKernel('mul', g, s);
      s.dispose();
      return r;
    },
  },
  relu: { grad: (g, xs) => binaryKernel('reluBackward', g, xs) },
  powScalar: {
    grad: (g, xs, _out, p) => {
      const d = unaryKernel('powScalar', xs, p - 1);
      const ds = unaryKernel('affine', d, p, 0);
      const r = binaryKernel('mul', g, ds);
      d.dispose();
      ds.dispose();
      return r;
    },
  },
  affine: { grad: (g, _x, _out, scale) => unaryKernel('affine', g, scale, 0) },
  square: {
    grad: (g, xs) => {
      const two = unaryKernel('affine', xs, 2, 0);
      const r = binaryKernel('mul', g, two);
      two.dispose();
      return r;
    },
  },
  // d 1/x = -1/x² = -out²
  reciprocal: {
    grad: (g, _x, out) => {
      const sq = unaryKernel('square', out);
      const nsq = unaryKernel('neg', sq);
      const r = binaryKernel('mul', g, nsq);
      sq.dispose();
      nsq.dispose();
      return r;
    },
    saveOut: true,
  },
};

function unary(op: DifferentiableUnary, x: Tensor, s0 = 0, s1 = 0): Tensor {
  const { grad, saveOut } = UNARY_RULES[op];
  const out = unaryKernel(op, x, s0, s1);
  return record(op, [x], out, (g, [xs, os]) => [grad(g, xs, os, s0, s1)], saveOut ? [x, out] : [x]);
}

/** −x, elementwise. */
export function neg(x: Tensor): Tensor {
  return unary('neg', x);
}

/** eˣ, elementwise. */
export function exp(x: Tensor): Tensor {
  return unary('exp', x);
}

/** Natural logarithm, elementwise. */
export function log(x: Tensor): Tensor {
  return unary('log', x);
}

/** √x, elementwise. */
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x);
}

/** 1/√x, elementwise. */
export function rsqrt(x: Tensor): Tensor {
  return unary('rsqrt', x);
}

/** |x|, elementwise (gradient sign(x), 0 at 0). */
export function abs(x: Tensor): Tensor {
  return unary('abs', x);
}

/** max(x, 0), elementwise (gradient 0 at 0, as PyTorch). */
export function relu(x: Tensor): Tensor {
  return unary('relu', x);
}

/** x², elementwise. */
export function square(x: Tensor): Tensor {
  return unary('square', x);
}

/** 1/x, elementwise. */
export function reciprocal(x: Tensor): Tensor {
  return unary('reciprocal', x);
}

/** Sign of x (−1, 0, 1); its gradient is zero. */
export function sign(x: Tensor): Tensor {
  return unaryKernel('sign', x);
}

/** x · scale + shift. */
export function affine(x: Tensor, scale: number, shift = 0): Tensor {
  return unary('affine', x, scale, shift);
}

function powScalar(x: Tensor, p: number): Tensor {
  if (p === 1) return affine(x, 1, 0);
  return unary('powScalar', x, p);
}

// ---------------------------------------------------------------------------------------------------------
// Binary, with broadcasting

/** A binary op's backward rule: both inputs' gradients (before sumTo) from g, the inputs and the output. */
interface BinaryRule {
  grad: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null];
  /** The rule reads the output (kept for backward). */
  saveOut?: boolean;
}

/** The winner takes the gradient; ties split it evenly (as PyTorch does). */
function minMaxRule(wins: 'greater' | 'less'): BinaryRule {
  return {
    grad: (g, as, bs) => {
      const win = binaryKernel(wins, as, bs);
      const tie = binaryKernel('equal', as, bs);
      const half = unaryKernel('affine', tie, 0.5, 0);
      const wa = binaryKernel('add', win, half);
      const wb = unaryKernel('affine', wa, -1, 1);
      const ga = binaryKernel('mul', g, wa);
      const gb = binaryKernel('mul', g, wb);
      for (const t of [win, tie, half, wa, wb]) t.dispose();
      return [ga, gb];
    },
  };
}

/** The backward rule of every binary op with derivatives in the op table (src/kernels/op-tables.ts). */
const BINARY_RULES: { [K in DifferentiableBinary]: BinaryRule } = {
  add: { grad: (g) => [g, g] },
  sub: { grad: (g) => [g, unaryKernel('neg', g)] },
  mul: { grad: (g, as, bs) => [binaryKernel('mul', g, bs), binaryKernel('mul', g, as)] },
  // d(a/b)/da = 1/b; d(a/b)/db = -a/b² = -(a/b)/b
  div: {
    grad: (g, _as, bs, out) => {
      const ga = binaryKernel('div', g, bs);
      const q = binaryKernel('div', out, bs);
      const gq = binaryKernel('mul', g, q);
      const gb = unaryKernel('neg', gq);
      q.dispose();
      gq.dispose();
      return [ga, gb];
    },
    saveOut: true,
  },
  maximum: minMaxRule('greater'),
  minimum: minMaxRule('less'),
  // d a^b / da = b a^(b-1); d a^b / db = a^b ln a (0 where a = 0, as PyTorch does)
  pow: {
    grad: (g, as, bs, out) => {
      const bm1 = unaryKernel('affine', bs, 1, -1);
      const p = binaryKernel('pow', as, bm1);
      const bp = binaryKernel('mul', bs, p);
      const ga = binaryKernel('mul', g, bp);
      const ln = unaryKernel('log', as);
      const ol = binaryKernel('mul', out, ln);
      const zero = fillKernel([], 0);
      const isZero = binaryKernel('equal', as, zero);
      const safe = whereKernel(isZero, zero, ol);
      const gb = binaryKernel('mul', g, safe);
      for (const t of [bm1, p, bp, ln, ol, zero, isZero, safe]) t.dispose();
      return [ga, gb];
    },
    saveOut: true,
  },
};

function binary(op: DifferentiableBinary, a: Tensor, b: Tensor): Tensor {
  const { grad, saveOut } = BINARY_RULES[op];
  const out = binaryKernel(op, a, b);
  return record(
    op,
    [a, b],
    out,
    (g, [as, bs, os], into) => {
      const [ga, gb] = grad(g, as, bs, os);
      const ra = ga && sumTo(ga, as.shape, into[0]);
      const rb = gb && sumTo(gb, bs.shape, into[1]);
      // Dispose what the rule made and sumTo replaced; g itself belongs to the tape.
      if (ga && ga !== g && ra !== ga) ga.dispose();
      if (gb && gb !== g && rb !== gb) gb.dispose();
      return [ra, rb];
    },
    saveOut ? [a, b, out] : [a, b],
  );
}

function withScalar(a: Operand, b: Operand, op: string): [Tensor, Tensor, Tensor[]] {
  const temps: Tensor[] = [];
  const ta = typeof a === 'number' ? (temps.push(scalarTensor(a)), temps[temps.length - 1]) : a;
  const tb = typeof b === 'number' ? (temps.push(scalarTensor(b)), temps[temps.length - 1]) : b;
  if (typeof a === 'number' && typeof b === 'number') throw new TypeError(`${op}: at least one operand must be a tensor`);
  return [ta, tb, temps];
}

function finish(out: Tensor, temps: Tensor[]): Tensor {
  for (const t of temps) t.dispose();
  return out;
}

/** a + b, broadcasting (numpy rules); either may be a number. */
export function add(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && typeof a !== 'number') return affine(a, 1, b);
  if (typeof a === 'number' && typeof b !== 'number') return affine(b, 1, a);
  const [ta, tb, temps] = withScalar(a, b, 'add');
  return finish(binary('add', ta, tb), temps);
}

/** a − b, broadcasting; either may be a number. */
export function sub(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && typeof a !== 'number') return affine(a, 1, -b);
  if (typeof a === 'number' && typeof b !== 'number') return affine(b, -1, a);
  const [ta, tb, temps] = withScalar(a, b, 'sub');
  return finish(binary('sub', ta, tb), temps);
}

/** a · b elementwise, broadcasting; either may be a number. */
export function mul(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && typeof a !== 'number') return affine(a, b, 0);
  if (typeof a === 'number' && typeof b !== 'number') return affine(b, a, 0);
  const [ta, tb, temps] = withScalar(a, b, 'mul');
  return finish(binary('mul', ta, tb), temps);
}

/** a / b elementwise, broadcasting; either may be a number. */
export function div(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && typeof a !== 'number') return affine(a, 1 / b, 0);
  const [ta, tb, temps] = withScalar(a, b, 'div');
  return finish(binary('div', ta, tb), temps);
}

function minMax(op: 'maximum' | 'minimum', a: Operand, b: Operand): Tensor {
  const [ta, tb, temps] = withScalar(a, b, op);
  return finish(binary(op, ta, tb), temps);
}

/** The larger of a and b elementwise, broadcasting; ties split the gradient evenly (as PyTorch). */
export function maximum(a: Operand, b: Operand): Tensor {
  return minMax('maximum', a, b);
}

/** The smaller of a and b elementwise, broadcasting; ties split the gradient evenly (as PyTorch). */
export function minimum(a: Operand, b: Operand): Tensor {
  return minMax('minimum', a, b);
}

/** aᵇ elementwise, broadcasting; the gradient with respect to b is 0 where a = 0 (as PyTorch). */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && typeof a !== 'number') return powScalar(a, b);
  const [ta, tb, temps] = withScalar(a, b, 'pow');
  return finish(binary('pow', ta, tb), temps);
}

function compare(op: BinaryOpName, a: Operand, b: Operand): Tensor {
  const [ta, tb, temps] = withScalar(a, b, op);
  return finish(binaryKernel(op, ta, tb), temps);
}

// Comparisons give 1.0 where true and 0.0 where false, broadcasting; they have no gradient.
/** a = b elementwise: 1.0 where true, 0.0 where false (no gradient). */
export const equal = (a: Operand, b: Operand): Tensor => compare('equal', a, b);
/** a ≠ b elementwise: 1.0 where true, 0.0 where false (no gradient). */
export const notEqual = (a: Operand, b: Operand): Tensor => compare('notEqual', a, b);
/** a < b elementwise: 1.0 where true, 0.0 where false (no gradient). */
export const less = (a: Operand, b: Operand): Tensor => compare('less', a, b);
/** a ≤ b elementwise: 1.0 where true, 0.0 where false (no gradient). */
export const lessEqual = (a: Operand, b: Operand): Tensor => compare('lessEqual', a, b);
/** a > b elementwise: 1.0 where true, 0.0 where false (no gradient). */
export const greater = (a: Operand, b: Operand): Tensor => compare('greater', a, b);
/** a ≥ b elementwise: 1.0 where true, 0.0 where false (no gradient). */
export const greaterEqual = (a: Operand, b: Operand): Tensor => compare('greaterEqual', a, b);

/** cond ≠ 0 ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb, temps] = withScalar(a, b, 'where');
  const out = whereKernel(cond, ta, tb);
  record(
    'where',
    [cond, ta, tb],
    out,
    (g, [cs, as, bs]) => {
      const zero = fillKernel([], 0);
      const ga = whereKernel(cs, g, zero);
      const gb = whereKernel(cs, zero, g);
      zero.dispose();
      const ra = sumTo(ga, as.shape);
      const rb = sumTo(gb, bs.shape);
      if (ra !== ga) ga.dispose();
      if (rb !== gb) gb.dispose();
      return [null, ra, rb];
    },
    [cond, ta, tb],
  );
  return finish(out, temps);
}

// ---------------------------------------------------------------------------------------------------------
// Reductions

function keptShape(x: Shape, axes: number[]): number[] {
  return x.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Broadcasts a reduced gradient back over the reduced axes. */
function expandReduced(g: Tensor, inShape: Shape, axes: number[]): Tensor {
  const gk = g.view(keptShape(inShape, axes));
  const e = expandKernel(gk, inShape);
  gk.dispose();
  return e;
}

/**
 * A reduction's backward rule: x's gradient from g, x's shape, the reduced axes and their element count, and
 * (with `saves`) x and the output themselves.
 */
interface ReductionRule {
  grad: (g: Tensor, shape: Shape, axes: number[], count: number, x: Tensor, out: Tensor) => Tensor;
  /** The rule reads x and the output (kept for backward). */
  saves?: boolean;
}

/** The backward rule of every reduction of the op table (src/kernels/op-tables.ts). */
const REDUCTION_RULES: { [K in ReductionName]: ReductionRule } = {
  sum: { grad: (g, shape, axes) => expandReduced(g, shape, axes) },
  mean: {
    grad: (g, shape, axes, n) => {
      const e = expandReduced(g, shape, axes);
      const r = unaryKernel('affine', e, 1 / n, 0);
      e.dispose();
      return r;
    },
  },
  // The gradient goes to the maxima, split evenly among ties.
  max: {
    grad: (g, _shape, axes, _n, xs, os) => {
      const om = expandReduced(os, xs.shape, axes);
      const mask = binaryKernel('equal', xs, om);
      const count = reduceKernel('sum', mask, axes, true);
      const gk = g.view(keptShape(xs.shape, axes));
      const share = binaryKernel('div', gk, count);
      const r = binaryKernel('mul', mask, share);
      for (const t of [om, mask, count, gk, share]) t.dispose();
      return r;
    },
    saves: true,
  },
};

function reduction(op: ReductionName, x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const ax = normalizeAxes(op, axes, x.rank);
  const n = ax.reduce((acc, a) => acc * x.shape[a], 1);
  const { fold, mean } = REDUCTIONS[op];
  const { grad, saves } = REDUCTION_RULES[op];
  const out = reduceKernel(fold, x, ax, keepDims, mean ? 1 / n : 1, op);
  const shape = x.shape;
  return record(op, [x], out, (g, [xs, os]) => [grad(g, shape, ax, n, xs, os)], saves ? [x, out] : []);
}

/** Sum over `axes` (all by default); `keepDims` keeps them as size 1. */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('sum', x, axes, keepDims);
}

/** Mean over `axes` (all by default); `keepDims` keeps them as size 1. */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('mean', x, axes, keepDims);
}

/** Maximum over `axes` (all by default); the gradient goes to the maxima, split evenly among ties. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('max', x, axes, keepDims);
}

/** Variance over axes, with `correction` subtracted from the count (1: unbiased, 0: population). */
export function variance(x: Tensor, axes?: number | readonly number[], keepDims = false, correction = 1): Tensor {
  const ax = normalizeAxes('variance', axes, x.rank);
  const n = ax.reduce((acc, a) => acc * x.shape[a], 1);
  if (n - correction <= 0) throw new Error(`variance: ${n} elements over axes [${ax.join(', ')}] are too few for correction ${correction}`);
  const m = mean(x, ax, true);
  const d = sub(x, m);
  const sq = square(d);
  const s = sum(sq, ax, keepDims);
  const out = mul(s, 1 / (n - correction));
  for (const t of [m, d, sq, s]) t.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Shapes and data movement

/** The same elements in another shape (one axis may be -1); shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.assertAlive('reshape');
  const free = shape.filter((d) => d === -1).length;
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  if (free > 1) throw new Error(`reshape: at most one -1 in ${shapeString(shape)}`);
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  checkShape(resolved, 'reshape');
  if (sizeOf(resolved) !== x.size) throw new Error(`reshape: cannot view ${shapeString(x.shape)} (${x.size} elements) as ${shapeString(shape)}`);
  const out = x.view(resolved);
  const inShape = x.shape;
  return record('reshape', [x], out, (g) => [g.view(inShape)]);
}

/** Merges the axes from `startAxis` on into one (a view, as torch.flatten). */
export function flatten(x: Tensor, startAxis = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, startAxis), -1]);
}

/** Reorders the axes: output axis i is input axis perm[i] (materialized). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const out = permuteKernel(x, perm);
  const axes = perm.map((p) => (p < 0 ? p + x.rank : p));
  const inverse = new Array<number>(axes.length);
  axes.forEach((p, i) => (inverse[p] = i));
  return record('permute', [x], out, (g) => [permuteKernel(g, inverse)]);
}

/** Swaps two axes (the last two by default). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const [i, j] = [a < 0 ? a + x.rank : a, b < 0 ? b + x.rank : b];
  if (x.rank < 2 || i < 0 || j < 0 || i >= x.rank || j >= x.rank) throw new RangeError(`transpose: axes ${a}, ${b} do not exist in shape ${shapeString(x.shape)}`);
  const perm = [...Array(x.rank).keys()];
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** The block starting at `begin` with `size` (−1: to the end) along each axis. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const bounds = sliceBounds(x.shape, begin, size);
  const out = sliceKernel(x, bounds.begin, bounds.size);
  const inShape = x.shape;
  return record('slice', [x], out, (g) => [padKernel(g, inShape, bounds.begin)]);
}

/** Joins tensors along `axis`; the other dimensions must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const out = concatKernel(xs, axis);
  const ax = axis < 0 ? axis + xs[0].rank : axis;
  return record('concat', xs, out, (g) => {
    let at = 0;
    return xs.map((t) => {
      const begin = t.shape.map((_, i) => (i === ax ? at : 0));
      at += t.shape[ax];
      return sliceKernel(g, begin, [...t.shape]);
    });
  });
}

/** Broadcasts `x` to `shape`, materialized. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const out = expandKernel(x, shape);
  return record('broadcastTo', [x], out, (g) => {
    const r = sumTo(g, x.shape);
    return [r === g ? clone(g) : r];
  });
}

// ---------------------------------------------------------------------------------------------------------
// Matmul

/** op(a) · op(b) over the last two axes, batched and broadcast over the others. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const out = matmulKernel(a, b, transA, transB);
  return record(
    'matmul',
    [a, b],
    out,
    (g, [as, bs], into) => {
      // A product of the operand's own shape (no broadcast batch to sum) goes straight into a leaf's zeroed gradient.
      const product = (x: Tensor, y: Tensor, tx: boolean, ty: boolean, shape: Shape, target: Tensor | null) => {
        const d = matmulDims(x, y, tx, ty);
        return matmulKernel(x, y, tx, ty, writableInto(target, shape) && sameShape([...d.batchShape, d.M, d.N], shape) ? target : null);
      };
      const ga = a.requiresGrad ? (transA ? product(bs, g, transB, true, as.shape, into[0]) : product(g, bs, false, !transB, as.shape, into[0])) : null;
      const gb = b.requiresGrad ? (transB ? product(g, as, true, transA, bs.shape, into[1]) : product(as, g, !transA, false, bs.shape, into[1])) : null;
      const ra = ga && sumTo(ga, as.shape);
      const rb = gb && sumTo(gb, bs.shape);
      if (ga && ra !== ga) ga.dispose();
      if (gb && rb !== gb) gb.dispose();
      return [ra, rb];
    },
    [a, b],
  );
}

export { broadcastShapes };
