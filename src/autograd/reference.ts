/**
 * Float64 references for every op in ops.ts, forward and backward, in plain TypeScript on the CPU. The
 * tests hold three things together on random inputs: the GPU result against the reference forward, the GPU
 * gradient against the reference backward, and the reference backward against central differences.
 */
import {
  ARITHMETIC_OPS,
  binary64,
  REDUCE_FOLDS,
  REDUCTIONS,
  UNARY_OPS,
  type Binary64,
  type BinaryOpName,
  type DifferentiableBinary,
  type DifferentiableUnary,
  type ReductionName,
  type Unary64,
  type UnaryOpName,
} from '../kernels/op-tables.js';

/** A float64 array on the CPU with a shape, row-major: what references and {@link gradcheck} work on. */
export interface Arr {
  /** Dimensions, outermost first. */
  shape: number[];
  /** The elements, row-major. */
  data: Float64Array;
}

/** An {@link Arr} of `shape`, from `data` (zeros when omitted). */
export function arr(shape: readonly number[], data?: ArrayLike<number>): Arr {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = data ? Float64Array.from(data) : new Float64Array(n);
  if (d.length !== n) throw new Error(`arr: ${d.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: d };
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('broadcast mismatch');
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index into `shape` (right-aligned, broadcast) for the output multi-index `idx`. */
function bcastIndex(idx: number[], shape: readonly number[], st: number[]): number {
  const off = idx.length - shape.length;
  let o = 0;
  for (let d = 0; d < shape.length; d++) o += (shape[d] === 1 ? 0 : idx[off + d]) * st[d];
  return o;
}

// ---------------------------------------------------------------------------------------------------------

// The elementwise ops' references and derivatives are their entries in src/kernels/op-tables.ts.

export function unary(op: UnaryOpName, x: Arr, s0 = 0, s1 = 0): Arr {
  const { f } = UNARY_OPS[op];
  return { shape: [...x.shape], data: x.data.map((v) => f(v, s0, s1)) };
}

export function unaryGrad(op: DifferentiableUnary, x: Arr, g: Arr, s0 = 0, s1 = 0): Arr {
  const df: Unary64 = UNARY_OPS[op].df;
  return { shape: [...x.shape], data: x.data.map((v, i) => df(v, s0, s1) * g.data[i]) };
}

export function binary(op: BinaryOpName, a: Arr, b: Arr): Arr {
  const shape = broadcastShape(a.shape, b.shape);
  const out = arr(shape);
  const sa = strides(a.shape);
  const sb = strides(b.shape);
  const f = binary64(op);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = f(a.data[bcastIndex(idx, a.shape, sa)], b.data[bcastIndex(idx, b.shape, sb)]);
  }
  return out;
}

export function binaryGrad(op: DifferentiableBinary, a: Arr, b: Arr, g: Arr): [Arr, Arr] {
  const shape = broadcastShape(a.shape, b.shape);
  const ga = arr(a.shape);
  const gb = arr(b.shape);
  const sa = strides(a.shape);
  const sb = strides(b.shape);
  const { da, db }: { da: Binary64; db: Binary64 } = ARITHMETIC_OPS[op];
  for (let i = 0; i < g.data.length; i++) {
    const idx = unravel(i, shape);
    const ia = bcastIndex(idx, a.shape, sa);
    const ib = bcastIndex(idx, b.shape, sb);
    ga.data[ia] += da(a.data[ia], b.data[ib]) * g.data[i];
    gb.data[ib] += db(a.data[ia], b.data[ib]) * g.data[i];
  }
  return [ga, gb];
}

export function where(c: Arr, a: Arr, b: Arr): Arr {
  const shape = broadcastShape(broadcastShape(c.shape, a.shape), b.shape);
  const out = arr(shape);
  const [sc, sa, sb] = [strides(c.shape), strides(a.shape), strides(b.shape)];
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = c.data[bcastIndex(idx, c.shape, sc)] !== 0 ? a.data[bcastIndex(idx, a.shape, sa)] : b.data[bcastIndex(idx, b.shape, sb)];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

function reducedShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function outIndexOf(idx: number[], shape: readonly number[], axes: number[]): number {
  let o = 0;
  for (let d = 0; d < shape.length; d++) if (!axes.includes(d)) o = o * shape[d] + idx[d];
  return o;
}

export function reduce(op: ReductionName, x: Arr, axes: number[], keepDims = false): Arr {
  const { fold, mean } = REDUCTIONS[op];
  const { identity64, combine64 } = REDUCE_FOLDS[fold];
  const out = arr(reducedShape(x.shape, axes, keepDims));
  out.data.fill(identity64);
  const count = axes.reduce((a, d) => a * x.shape[d], 1);
  for (let i = 0; i < x.data.length; i++) {
    const o = outIndexOf(unravel(i, x.shape), x.shape, axes);
    out.data[o] = combine64(out.data[o], x.data[i]);
  }
  if (mean) for (let o = 0; o < out.data.length; o++) out.data[o] /= count;
  return out;
}

export function reduceGrad(op: ReductionName, x: Arr, axes: number[], g: Arr): Arr {
  const { grad } = REDUCTIONS[op];
  const gx = arr(x.shape);
  const count = axes.reduce((a, d) => a * x.shape[d], 1);
  const y = reduce(op, x, axes);
  const ties = arr(y.shape);
  const at = (i: number) => outIndexOf(unravel(i, x.shape), x.shape, axes);
  for (let i = 0; i < x.data.length; i++) if (x.data[i] === y.data[at(i)]) ties.data[at(i)]++;
  for (let i = 0; i < x.data.length; i++) {
    const o = at(i);
    gx.data[i] = grad(x.data[i], y.data[o], count, ties.data[o]) * g.data[o];
  }
  return gx;
}

export function variance(x: Arr, axes: number[], correction = 1, keepDims = false): Arr {
  const m = reduce('mean', x, axes, true);
  const out = arr(reducedShape(x.shape, axes, keepDims));
  const count = axes.reduce((a, d) => a * x.shape[d], 1);
  for (let i = 0; i < x.data.length; i++) {
    const o = outIndexOf(unravel(i, x.shape), x.shape, axes);
    out.data[o] += (x.data[i] - m.data[o]) ** 2;
  }
  for (let o = 0; o < out.data.length; o++) out.data[o] /= count - correction;
  return out;
}

export function varianceGrad(x: Arr, axes: number[], g: Arr, correction = 1): Arr {
  const m = reduce('mean', x, axes, true);
  const count = axes.reduce((a, d) => a * x.shape[d], 1);
  const gx = arr(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const o = outIndexOf(unravel(i, x.shape), x.shape, axes);
    gx.data[i] = (2 * (x.data[i] - m.data[o]) * g.data[o]) / (count - correction);
  }
  return gx;
}

// ---------------------------------------------------------------------------------------------------------

export function permute(x: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => x.shape[p]);
  const out = arr(shape);
  const sx = strides(x.shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    let o = 0;
    perm.forEach((p, d) => (o += idx[d] * sx[p]));
    out.data[i] = x.data[o];
  }
  return out;
}

export function slice(x: Arr, begin: number[], size: number[]): Arr {
  const out = arr(size);
  const sx = strides(x.shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, size);
    out.data[i] = x.data[idx.reduce((acc, v, d) => acc + (v + begin[d]) * sx[d], 0)];
  }
  return out;
}

export function sliceGrad(x: Arr, begin: number[], g: Arr): Arr {
  const gx = arr(x.shape);
  const sx = strides(x.shape);
  for (let i = 0; i < g.data.length; i++) {
    const idx = unravel(i, g.shape);
    gx.data[idx.reduce((acc, v, d) => acc + (v + begin[d]) * sx[d], 0)] = g.data[i];
  }
  return gx;
}

export function concat(xs: Arr[], axis: number): Arr {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((a, x) => a + x.shape[axis], 0);
  const out = arr(shape);
  const so = strides(shape);
  let at = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[axis] += at;
      out.data[idx.reduce((acc, v, d) => acc + v * so[d], 0)] = x.data[i];
    }
    at += x.shape[axis];
  }
  return out;
}

/** op(a) · op(b) with batch broadcasting, as ops.matmul. */
export function matmul(a: Arr, b: Arr, transA = false, transB = false): Arr {
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const N = transB ? br : bc;
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = arr([...batch, M, N]);
  const nb = batch.reduce((x, y) => x * y, 1);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const [sa, sb] = [strides(aBatch), strides(bBatch)];
  for (let t = 0; t < nb; t++) {
    const idx = unravel(t, batch);
    const ao = bcastIndex(idx, aBatch, sa) * ar * ac;
    const bo = bcastIndex(idx, bBatch, sb) * br * bc;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a.data[ao + (transA ? k * ac + m : m * ac + k)];
          const bv = b.data[bo + (transB ? n * bc + k : k * bc + n)];
          s += av * bv;
        }
        out.data[(t * M + m) * N + n] = s;
      }
    }
  }
  return out;
}

/** Sums `g` (of a broadcast shape) back to `shape`. */
export function sumTo(g: Arr, shape: number[]): Arr {
  const out = arr(shape);
  const so = strides(shape);
  for (let i = 0; i < g.data.length; i++) out.data[bcastIndex(unravel(i, g.shape), shape, so)] += g.data[i];
  return out;
}

export function matmulGrad(a: Arr, b: Arr, g: Arr, transA = false, transB = false): [Arr, Arr] {
  // Expressed as products of the reference itself: d op(A) = g · op(B)ᵀ, d op(B) = op(A)ᵀ · g.
  const ga = transA ? matmul(b, g, transB, true) : matmul(g, b, false, !transB);
  const gb = transB ? matmul(g, a, true, transA) : matmul(a, g, !transA, false);
  return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Central-difference gradient of sum(f(inputs) · upstream) with respect to inputs[which], in float64.
 */
export function numericGrad(f: (xs: Arr[]) => Arr, inputs: Arr[], which: number, upstream: Arr, eps = 1e-6): Arr {
  const x = inputs[which];
  const out = arr(x.shape);
  const dot = (y: Arr) => y.data.reduce((acc, v, i) => acc + v * upstream.data[i], 0);
  for (let i = 0; i < x.data.length; i++) {
    const keep = x.data[i];
    x.data[i] = keep + eps;
    const plus = dot(f(inputs));
    x.data[i] = keep - eps;
    const minus = dot(f(inputs));
    x.data[i] = keep;
    out.data[i] = (plus - minus) / (2 * eps);
  }
  return out;
}

/** Normwise relative error: max |a − b| over max |b| (the reference's largest magnitude). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}
