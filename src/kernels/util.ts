/** Helpers shared by the kernel launchers: parameter blocks, shapes, strides, broadcasting. */
import { shapeString, type Shape, type Tensor } from '../tensor/tensor.js';
import { StepValue, uniformPatches, type Scalar, type UniformPatch } from '../gpu/record.js';

export const MAX_RANK = 8;

/**
 * Builds a uniform block field by field with WGSL's layout: 4-byte scalars, 16-byte-aligned vec4 arrays.
 * A field given as a StepValue is written with its current value and remembered (uniformPatches), so a
 * replayed step writes the value it has then.
 */
export class Params {
  private words: number[] = [];
  private types: ('u' | 'f')[] = [];
  private patches: UniformPatch[] | null = null;

  private push(v: Scalar, type: 'u' | 'f'): void {
    if (v instanceof StepValue) (this.patches ??= []).push({ word: this.words.length, type, value: v });
    const n = typeof v === 'number' ? v : v.value;
    this.words.push(type === 'u' ? n >>> 0 : n);
    this.types.push(type);
  }

  u32(...values: Scalar[]): this {
    for (const v of values) this.push(v, 'u');
    return this;
  }

  f32(...values: Scalar[]): this {
    for (const v of values) this.push(v, 'f');
    return this;
  }

  /** Pads to a 16-byte boundary, then writes `array<vec4<u32>, 2>` (8 values, zero-filled). */
  dims(values: readonly number[]): this {
    if (values.length > MAX_RANK) throw new Error(`at most ${MAX_RANK} dimensions are supported, got ${values.length}`);
    while (this.words.length % 4) this.u32(0);
    for (let i = 0; i < MAX_RANK; i++) this.u32(values[i] ?? 0);
    return this;
  }

  build(): ArrayBuffer {
    while (this.words.length % 4) this.u32(0);
    const buf = new ArrayBuffer(this.words.length * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, i) => {
      if (this.types[i] === 'u') u[i] = w;
      else f[i] = w;
    });
    if (this.patches) uniformPatches.set(buf, this.patches);
    return buf;
  }
}

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
