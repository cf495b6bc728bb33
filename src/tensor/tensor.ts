/**
 * Tensor: a shape, a dtype and a window onto reference-counted GPU storage. Tensors are contiguous and
 * row-major; a view (reshape, or a slot of a flat parameter buffer) shares its storage and may start at a
 * byte offset. Storage goes back to the buffer pool when its last tensor is disposed.
 *
 * Autograd keeps its bookkeeping here as plain data (requiresGrad, grad, node); the rules live in
 * src/autograd.
 */
import type { GpuRuntime, StorageBinding } from '../gpu/runtime.js';
import { getRuntime, trackTensor, untrackTensor, counts } from './engine.js';

/** Element types: 32-bit floats, and 32-bit signed or unsigned integers (labels, indices, packed bytes). */
export type DType = 'float32' | 'int32' | 'uint32';
/** The typed array `data()` returns for a dtype. */
export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint32Array;
/** Dimensions, outermost first (row-major). */
export type Shape = readonly number[];

/** What autograd attaches to a tensor made by a differentiable op (defined in src/autograd). */
export interface GradNode {
  /** The op that made the tensor. */
  readonly op: string;
  /** Adds a reference (one per tensor or node that needs this node). */
  ref(): void;
  /** Drops a reference; the last one frees what the node saved for backward. */
  unref(): void;
}

/**
 * A GPU buffer shared by a tensor and its views, reference-counted; returned to the pool when the last one
 * lets go.
 */
export class Storage {
  /** Tensors holding this storage. */
  refs = 1;
  constructor(
    /** The GPU buffer. */
    readonly buffer: GPUBuffer,
    /** Usable bytes of the buffer. */
    readonly byteLength: number,
    /** The runtime the buffer belongs to. */
    readonly runtime: GpuRuntime,
    private readonly pooled: boolean,
  ) {
    counts.storages++;
  }

  /** Drops one reference; the last returns the buffer to the pool. */
  release(): void {
    if (--this.refs > 0) return;
    counts.storages--;
    if (this.pooled) this.runtime.pool.release(this.buffer);
  }
}

let nextId = 1;

/** Elements in a tensor of this shape (1 for the scalar shape []). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A shape as text for messages: `[2, 3]`. */
export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Throws a TypeError naming `op` unless every dimension is a non-negative integer. */
export function checkShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new TypeError(`${op}: invalid shape ${shapeString(shape)}: dimensions must be non-negative integers`);
  }
}

/**
 * A float32, int32 or uint32 array on the GPU: a shape, a dtype and a window onto pooled GPU storage. Make
 * one with {@link fromArray}, {@link zeros}, {@link uniform} and the like, or as the result of an op; read it
 * with `await t.data()`; free it with `dispose()` or by making it inside {@link scope}.
 */
export class Tensor {
  /** A number unique to this tensor, for messages. */
  readonly id = nextId++;
  /** Dimensions, outermost first. */
  readonly shape: Shape;
  /** Number of elements. */
  readonly size: number;
  /** Whether ops on this tensor are recorded for backward ({@link requireGrad} sets it on a leaf). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
  /** The autograd node that made this tensor, if it was made by a recorded op. */
  node: GradNode | null = null;
  /**
   * True while the contents are known to be all zeros: set by whoever zeroes the tensor (zeroGrad), cleared
   * by the engine's in-place writes. Gradient accumulation then copies instead of adding.
   */
  zeroed = false;
  private _disposed = false;

  constructor(
    shape: Shape,
    /** The element type. */
    readonly dtype: DType,
    /** The GPU storage this tensor is a window onto. */
    readonly storage: Storage,
    /** Byte offset into the storage buffer. */
    readonly byteOffset = 0,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    counts.tensors++;
    trackTensor(this);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Bytes of the elements (4 per element). */
  get byteLength(): number {
    return this.size * 4;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this._disposed;
  }

  /** The storage window of this tensor, for binding to a shader. */
  binding(op = 'bind'): StorageBinding {
    this.assertAlive(op);
    const align = this.storage.runtime.storageAlignment;
    if (this.byteOffset % align !== 0) {
      throw new Error(`${op}: tensor view at byte offset ${this.byteOffset} is not aligned to ${align} bytes; copy it first`);
    }
    return { buffer: this.storage.buffer, offset: this.byteOffset, size: Math.max(4, this.byteLength) };
  }

  /** Throws an error naming `op` if the tensor was disposed. */
  assertAlive(op: string): void {
    if (this._disposed) throw new Error(`${op}: tensor #${this.id} ${shapeString(this.shape)} was already disposed`);
  }

  /** A new tensor of another shape with the same elements, sharing this one's storage. */
  view(shape: Shape, byteOffset = this.byteOffset): Tensor {
    this.assertAlive('view');
    this.storage.refs++;
    return new Tensor(shape, this.dtype, this.storage, byteOffset);
  }

  /** Copies the elements back to the CPU. */
  async data(): Promise<TypedArrayFor<this['dtype']>> {
    this.assertAlive('data');
    const bytes = await getRuntime().read(this.storage.buffer, this.byteOffset, this.byteLength, 'data');
    const array =
      this.dtype === 'float32' ? new Float32Array(bytes) : this.dtype === 'int32' ? new Int32Array(bytes) : new Uint32Array(bytes);
    return array as TypedArrayFor<this['dtype']>;
  }

  /** The single element of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements (shape ${shapeString(this.shape)}), expected 1`);
    return (await this.data())[0];
  }

  /** Releases this tensor's hold on its storage (and its autograd node). Safe to call twice. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    counts.tensors--;
    untrackTensor(this);
    if (this.node) {
      this.node.unref();
      this.node = null;
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    this.storage.release();
  }

  /** `Tensor([2, 3], float32)`, with `requiresGrad` when set. */
  toString(): string {
    return `Tensor(${shapeString(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** Allocates an uninitialized tensor from the pool. */
export function empty(shape: Shape, dtype: DType = 'float32', label = 'tensor'): Tensor {
  checkShape(shape, label);
  const rt = getRuntime();
  const bytes = Math.max(4, sizeOf(shape) * 4);
  const buffer = rt.pool.acquire(bytes, label);
  return new Tensor(shape, dtype, new Storage(buffer, bytes, rt, true));
}

/** What {@link fromArray} uploads: a typed array or any array-like of numbers. */
export type ArrayInput = ArrayLike<number> | Float32Array | Int32Array | Uint32Array;

/** Uploads CPU data into a new tensor; `shape` defaults to the array's length. */
export function fromArray(data: ArrayInput, shape?: Shape, dtype?: DType): Tensor {
  const dt: DType = dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Uint32Array ? 'uint32' : 'float32');
  const shp = shape ?? [data.length];
  checkShape(shp, 'fromArray');
  const n = sizeOf(shp);
  if (n !== data.length) {
    throw new Error(`fromArray: ${data.length} values do not fill shape ${shapeString(shp)} (${n} elements)`);
  }
  const typed =
    dt === 'float32'
      ? data instanceof Float32Array
        ? data
        : Float32Array.from(data)
      : dt === 'int32'
        ? data instanceof Int32Array
          ? data
          : Int32Array.from(data)
        : data instanceof Uint32Array
          ? data
          : Uint32Array.from(data);
  const t = empty(shp, dt, 'fromArray');
  getRuntime().upload(t.storage.buffer, t.byteOffset, typed, 'fromArray');
  return t;
}

/** Wraps raw bytes (e.g. a packed uint8 image batch) as a uint32 tensor of ceil(bytes/4) words. */
export function fromBytes(bytes: Uint8Array, label = 'fromBytes'): Tensor {
  const words = Math.ceil(bytes.byteLength / 4);
  const t = empty([words], 'uint32', label);
  getRuntime().upload(t.storage.buffer, 0, bytes, label);
  return t;
}

export type { GpuRuntime };
