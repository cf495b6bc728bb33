/**
 * A pool of storage buffers by size class. Released buffers wait in a free list of their class and are
 * handed out again for any request that rounds up to the same class, so a training step that makes the same
 * tensors every time allocates nothing after its first run.
 *
 * Size classes: 256 bytes, then four classes per power of two (×1, ×1.25, ×1.5, ×1.75), so at most a
 * fifth of a buffer is slack.
 */

export interface PoolStats {
  /** Bytes of every buffer the pool has created and not destroyed. */
  allocatedBytes: number;
  /** Bytes of the buffers currently handed out. */
  inUseBytes: number;
  /** Bytes of the buffers waiting in the free lists. */
  pooledBytes: number;
  /** The most bytes ever allocated at once. */
  peakBytes: number;
  /** The most bytes handed out at once since the pool was made or `resetPeakInUse` last ran. */
  peakInUseBytes: number;
  /** Buffers the pool has created and not destroyed. */
  buffers: number;
  /** Buffers handed out so far. */
  acquires: number;
  /** Acquires served from a free list. */
  hits: number;
  /** Acquires that had to create a buffer. */
  misses: number;
}

/** A buffer larger than the adapter allows, or an allocation the GPU refused. */
export class OutOfMemoryError extends RangeError {
  /** Always "OutOfMemoryError". */
  override name = 'OutOfMemoryError';
}

/** The usage of every pooled buffer: storage, copy source and copy destination. */
export const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST

/** The size of the class a request of `bytes` bytes rounds up to. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const quarter = pow / 4;
  return pow + Math.ceil((bytes - pow) / quarter) * quarter;
}

/**
 * Storage buffers pooled by size class (256 bytes, then four classes per power of two): a released buffer
 * serves the next request of its class, so a training step that makes the same tensors every time allocates
 * nothing after its first run. The runtime owns one.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private sizes = new WeakMap<GPUBuffer, number>();
  /**
   * Buffers a replay plan keeps (see record.ts): a release does not put them back in a free list while the
   * plan lives; `released` says whether their last holder has let go (then `disown` frees them).
   */
  private owned = new Map<GPUBuffer, { plans: number; released: boolean }>();
  /** Buffers replay plans bind without owning, with how many plans do. */
  private pins = new Map<GPUBuffer, number>();
  /** Counts releases of pinned buffers: a plan recorded at another count may bind a buffer someone else now holds.
   * @internal (replay plans)
   */
  pinEpoch = 0;
  /** Told of every buffer handed out (set while a step is recorded).
   * @internal (replay plans)
   */
  onAcquire: ((buffer: GPUBuffer) => void) | null = null;
  private stats: PoolStats = {
    allocatedBytes: 0,
    inUseBytes: 0,
    pooledBytes: 0,
    peakBytes: 0,
    peakInUseBytes: 0,
    buffers: 0,
    acquires: 0,
    hits: 0,
    misses: 0,
  };

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /** A buffer of at least `bytes` bytes (its class's size), usable as storage, copy source and copy target. */
  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(Math.max(4, bytes));
    if (size > this.maxBufferSize && bytes <= this.maxBufferSize) return this.create(bytes, bytes, label);
    this.stats.acquires++;
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.stats.hits++;
      this.stats.pooledBytes -= size;
      this.stats.inUseBytes += size;
      this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
      this.onAcquire?.(reused);
      return reused;
    }
    this.stats.misses++;
    const made = this.create(size, bytes, label);
    this.onAcquire?.(made);
    return made;
  }

  private create(size: number, requested: number, label: string): GPUBuffer {
    if (requested > this.maxBufferSize) {
      throw new OutOfMemoryError(
        `${label}: a buffer of ${requested} bytes exceeds this adapter's maxBufferSize of ${this.maxBufferSize} bytes. ` +
          'Use a smaller batch or image size.',
      );
    }
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
    this.sizes.set(buffer, size);
    this.stats.buffers++;
    this.stats.allocatedBytes += size;
    this.stats.inUseBytes += size;
    this.stats.peakBytes = Math.max(this.stats.peakBytes, this.stats.allocatedBytes);
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return buffer;
  }

  /** Starts a new in-use peak from what is handed out now (to measure one training step, say). */
  resetPeakInUse(): void {
    this.stats.peakInUseBytes = this.stats.inUseBytes;
  }

  /** Returns a buffer to its free list. The caller guarantees nothing holds it any more. */
  release(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) throw new Error('BufferPool.release: this buffer was not made by the pool');
    if (this.pins.has(buffer)) this.pinEpoch++;
    const own = this.owned.get(buffer);
    if (own) {
      own.released = true;
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.stats.inUseBytes -= size;
    this.stats.pooledBytes += size;
  }

  /**
   * Keeps `buffer` for a replay plan: taken out of its free list if it waits there, and not put back by a
   * release until every plan that owns it has disowned it.
   * @internal (replay plans)
   */
  own(buffer: GPUBuffer): void {
    const e = this.owned.get(buffer);
    if (e) {
      e.plans++;
      return;
    }
    const size = this.sizes.get(buffer);
    if (size === undefined) throw new Error('BufferPool.own: this buffer was not made by the pool');
    const list = this.free.get(size);
    const i = list ? list.indexOf(buffer) : -1;
    if (i >= 0) {
      list!.splice(i, 1);
      this.stats.pooledBytes -= size;
      this.stats.inUseBytes += size;
    }
    this.owned.set(buffer, { plans: 1, released: i >= 0 });
  }

  /** Ends a plan's hold on `buffer`; a buffer its holder has already released goes back to its free list.
   * @internal (replay plans)
   */
  disown(buffer: GPUBuffer): void {
    const e = this.owned.get(buffer);
    if (!e || --e.plans > 0) return;
    this.owned.delete(buffer);
    if (e.released) this.release(buffer);
  }

  /** Marks `buffer` as bound by a replay plan that does not own it: releasing it then bumps pinEpoch.
   * @internal (replay plans)
   */
  pin(buffer: GPUBuffer): void {
    this.pins.set(buffer, (this.pins.get(buffer) ?? 0) + 1);
  }

  /** Ends one plan's pin of `buffer`.
   * @internal (replay plans)
   */
  unpin(buffer: GPUBuffer): void {
    const n = this.pins.get(buffer);
    if (n === undefined) return;
    if (n <= 1) this.pins.delete(buffer);
    else this.pins.set(buffer, n - 1);
  }

  /** Destroys every buffer in the free lists. */
  trim(): void {
    for (const [size, list] of this.free) {
      for (const b of list) {
        b.destroy();
        this.stats.buffers--;
        this.stats.allocatedBytes -= size;
        this.stats.pooledBytes -= size;
      }
    }
    this.free.clear();
  }

  /** A copy of the statistics. */
  getStats(): PoolStats {
    return { ...this.stats };
  }
}
