/** Helpers shared by the kernel launchers: shapes, strides, broadcasting. */
import { shapeString, type Shape, type Tensor } from '../tensor/tensor.js';

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** NumPy broadcasting of two or more shapes; throws naming the op and every shape. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = s[s.length - 1 - i];
      const j = rank - 1 - i;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new Error(`${op}: shapes ${shapes.map(shapeString).join(' and ')} cannot be broadcast together`);
      }
    }
  }
  return out;
}

/** Strides that read `shape` as if it had been broadcast to `outShape` (0 along broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = contiguousStrides(shape);
  const out = new Array<number>(outShape.length).fill(0);
  const off = outShape.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[off + i] = shape[i] === 1 ? 0 : strides[i];
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalizes axes (negative counts from the end), checks range and duplicates. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new RangeError(`${op}: axis ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in [${list.join(', ')}]`);
  return out.sort((x, y) => x - y);
}

export function assertFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    t.assertAlive(op);
    if (t.dtype !== 'float32') throw new TypeError(`${op}: expected float32 tensors, got ${t.dtype} ${shapeString(t.shape)}`);
  }
}

export const WG = 256;
