/**
 * The GPU runtime: one device, its buffer pool, a pipeline cache, command batching, uniform staging,
 * error reporting and optional per-op GPU timestamps. The layers above record dispatches through
 * `dispatch()` and read results through `read()`; they never touch a command encoder themselves.
 *
 * Batching: dispatches go into one compute pass of one command encoder and are submitted together when
 * a readback needs them, when `flush()` is called, or every `maxDispatchesPerSubmit` dispatches.
 * Each dispatch's small parameter block is written into a uniform chunk that belongs to the open batch and
 * is uploaded just before the batch is submitted, so the queue's ordering keeps every batch's parameters
 * apart from the next batch's.
 */
import { acquireDevice, adapterCaps, type AdapterCaps, type AdapterReport, type DeviceRequest } from './device.js';
import { BufferPool, type PoolStats } from './pool.js';
import { awaitGpu } from './poll.js';
import { eagerEncoder, setRecordingStep, type StepEncoder } from './step-encoder.js';

/** WGSL source for compute pipelines; pipelines are cached by its name, entry point and constants. */
export interface ShaderSource {
  /** A short name for labels, errors and profiles, e.g. 'matmul'. */
  name: string;
  /** The WGSL text. */
  code: string;
}

/** A range of a GPU buffer bound as a storage buffer (`tensor.binding(op)` gives one for a tensor). */
export interface StorageBinding {
  /** The buffer. */
  buffer: GPUBuffer;
  /** Byte offset; a multiple of the adapter's minStorageBufferOffsetAlignment (256 almost everywhere). */
  offset: number;
  /** Bytes bound from `offset`. */
  size: number;
}

/** One compute dispatch for {@link GpuRuntime.dispatch}: shader, bindings and workgroup counts. */
export interface DispatchSpec {
  /** The op this dispatch belongs to, for errors and profiles, e.g. 'matmul' or 'conv2d.backwardFilter'. */
  op: string;
  /** The shader to run. */
  shader: ShaderSource;
  /** The entry point; default 'main'. */
  entry?: string;
  /** Values for the shader's `override` constants (tile and workgroup sizes, op codes). */
  constants?: Record<string, number | boolean>;
  /** The parameter block, bound at binding 0 as a uniform buffer. Omit for shaders without one. */
  uniforms?: ArrayBuffer | ArrayBufferView;
  /** Storage buffers, bound at 1, 2, ... (or 0, 1, ... when there are no uniforms), in the shader's order. */
  storage: StorageBinding[];
  /** Workgroups in x, y and z (y and z default to 1); {@link grid} splits a large count over x and y. */
  workgroups: [number, number?, number?];
}

/**
 * A WebGPU error (validation, out of memory, internal, device lost) turned into an exception naming the ops
 * of the batch it came from.
 */
export class GpuError extends Error {
  /** Always "GpuError". */
  override name = 'GpuError';
  constructor(
    message: string,
    /** What kind of error WebGPU reported. */
    readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost',
    /** The ops recorded in the batch the error came from (exactly one with `debug`). */
    readonly ops: string[],
  ) {
    super(message);
  }
}

/** One op's GPU time from timestamp queries ({@link GpuRuntime.profile}). */
export interface OpProfile {
  /** The op's name, as given in its dispatches. */
  op: string;
  /** Dispatches timed. */
  count: number;
  /** Total GPU time in milliseconds, from timestamp queries. */
  ms: number;
  /** The kernels its dispatches ran, slowest first. */
  kernels: KernelProfile[];
}

/** One kernel's share of an op's profile ({@link OpProfile.kernels}). */
export interface KernelProfile {
  /**
   * The shader's name, with `:entry` where the entry point is not 'main' (e.g. 'conv2d_forward_sg',
   * 'matmul_vec4:nt'): the variant the op's plan chose.
   */
  kernel: string;
  /** Dispatches of it timed. */
  count: number;
  /** Their GPU time in milliseconds. */
  ms: number;
}

/** Options of {@link init}: the device request and how the runtime batches work. */
export interface RuntimeOptions extends DeviceRequest {
  /** Dispatches per submit before a batch is sent without waiting for a readback. */
  maxDispatchesPerSubmit?: number;
  /**
   * Submit every dispatch on its own with its own error scope, so an error names the exact op.
   * Slow; for debugging. Also on with the environment variable BYOL_GPU_DEBUG=1 in Node.
   */
  debug?: boolean;
}

const UNIFORM_CHUNK = 64 * 1024;
const MAP_READ = 0x0001;
const COPY_DST = 0x0008;
const COPY_SRC = 0x0004;
const UNIFORM = 0x0040;
const QUERY_RESOLVE = 0x0200;

interface UniformChunk {
  buffer: GPUBuffer;
  mirror: Uint8Array<ArrayBuffer>;
  used: number;
}

/** Splits a count of workgroups into an (x, y) grid within the per-dimension limit. */
export function grid(workgroups: number, maxPerDim = 65535): [number, number, number] {
  if (workgroups <= maxPerDim) return [Math.max(1, workgroups), 1, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  return [Math.ceil(workgroups / y), y, 1];
}

/**
 * The GPU runtime: one device, its buffer pool, a pipeline cache and the batching of dispatches into command
 * buffers. {@link init} makes the one the engine uses; {@link getRuntime} returns it. Ops of one's own record
 * work through {@link GpuRuntime.dispatch} (see examples/custom-op.ts).
 */
export class GpuRuntime {
  /** The pool every tensor's storage comes from. */
  readonly pool: BufferPool;
  /** The adapter's minStorageBufferOffsetAlignment: storage bindings must start at a multiple of it. */
  readonly storageAlignment: number;
  /** What the variant choices read of the adapter and device (see AdapterCaps). */
  readonly caps: AdapterCaps;
  /** The adapter's minUniformBufferOffsetAlignment: parameter blocks start at a multiple of it. */
  readonly uniformAlignment: number;
  private readonly maxDispatches: number;
  private readonly debug: boolean;

  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  /**
   * Bind groups by (pipeline, bound ranges). A training step binds the same pooled buffers in the same
   * order every time, so after the first step every dispatch finds its bind group here: no creation cost and
   * no garbage for the collector (Dawn's objects hold native memory V8 does not see).
   */
  private bindGroups = new Map<string, GPUBindGroup>();
  private objectIds = new WeakMap<object, number>();
  private nextObjectId = 1;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchOps: string[] = [];
  private uniformChunks: UniformChunk[] = [];
  private freeUniformChunks: UniformChunk[] = [];
  private pendingErrors: Promise<GpuError | null>[] = [];
  private uncaptured: GpuError | null = null;
  private lostInfo: string | null = null;
  private submits = 0;
  private dispatches = 0;
  private clears = 0;
  private readStaging = new Map<number, GPUBuffer[]>();
  /** What each command goes to besides the batch (step-encoder.ts): nothing when eager; src/capture sets others. */
  private encoderInUse: StepEncoder = eagerEncoder;
  /** Called as the runtime starts to wait for the GPU (sync, read): work that is best done while it waits. */
  private waitTasks: (() => void)[] = [];
  private destroyed = false;
  private replays = 0;
  private encodedAhead = 0;
  private aheadMs = 0;

  // Profiling with timestamp queries.
  private profiling = false;
  private querySet: GPUQuerySet | null = null;
  private queryOps: string[] = [];
  /** The kernel of each timed dispatch, beside queryOps. */
  private queryKernels: string[] = [];
  private profileTotals = new Map<string, { count: number; ns: number; kernels: Map<string, { count: number; ns: number }> }>();
  private pendingProfiles: Promise<void>[] = [];

  constructor(
    /** The WebGPU device everything runs on. */
    readonly device: GPUDevice,
    /** The adapter's name, kind, features and limits. */
    readonly report: AdapterReport,
    options: RuntimeOptions = {},
  ) {
    const limits = device.limits;
    this.pool = new BufferPool(device, Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize));
    this.storageAlignment = limits.minStorageBufferOffsetAlignment;
    this.caps = adapterCaps(device, report);
    this.uniformAlignment = limits.minUniformBufferOffsetAlignment;
    this.maxDispatches = options.maxDispatchesPerSubmit ?? 512;
    const env = typeof process !== 'undefined' ? process.env?.BYOL_GPU_DEBUG : undefined;
    this.debug = options.debug ?? (env === '1' || env === 'true');
    device.lost.then((info) => {
      this.lostInfo = `${info.reason}: ${info.message}`;
    });
    device.addEventListener('uncapturederror', (event) => {
      const err = (event as GPUUncapturedErrorEvent).error;
      this.uncaptured ??= new GpuError(`Uncaptured GPU error: ${err.message}`, 'internal', []);
    });
  }

  /** Requests a device as {@link acquireDevice} does and makes a runtime on it ({@link init} calls this). */
  static async create(options: RuntimeOptions = {}): Promise<GpuRuntime> {
    const { device, report } = await acquireDevice(options);
    return new GpuRuntime(device, report, options);
  }

  /** Whether the device has timestamp-query (needed by {@link GpuRuntime.setProfiling}). */
  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /** Whether the device was lost; every later call then throws a GpuError of kind device-lost. */
  get isLost(): boolean {
    return this.lostInfo !== null;
  }

  /** Turns per-op GPU timing on or off; needs the timestamp-query feature. Costs a pass per dispatch. */
  setProfiling(on: boolean): void {
    if (on && !this.hasTimestamps) throw new Error('Profiling needs the timestamp-query feature, which this adapter lacks.');
    this.flush();
    this.profiling = on;
    if (on && !this.querySet) {
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * this.maxDispatches });
    }
  }

  /** Totals per op since profiling was turned on or last reset, slowest first. Awaits pending timings. */
  async profile(reset = false): Promise<OpProfile[]> {
    this.flush();
    await awaitGpu(() => Promise.all(this.pendingProfiles));
    this.pendingProfiles = [];
    const rows = [...this.profileTotals].map(([op, t]) => ({
      op,
      count: t.count,
      ms: t.ns / 1e6,
      kernels: [...t.kernels].map(([kernel, k]) => ({ kernel, count: k.count, ms: k.ns / 1e6 })).sort((a, b) => b.ms - a.ms),
    }));
    if (reset) this.profileTotals.clear();
    return rows.sort((a, b) => b.ms - a.ms);
  }

  /** How much work was recorded since the runtime was made. */
  counters(): {
    /** Command buffers submitted. */
    submits: number;
    /** Compute dispatches recorded (replayed ones included). */
    dispatches: number;
    /** Buffer clears recorded (zero fills done by the encoder, not by a shader). */
    clears: number;
    /** Replays of captured steps. */
    replays: number;
    /** Replays that submitted commands encoded ahead of them, while the host waited (CaptureOptions.ahead). */
    encodedAhead: number;
    /** Host milliseconds spent encoding replays ahead, off the steps' own path. */
    aheadMs: number;
  } {
    return {
      submits: this.submits,
      dispatches: this.dispatches,
      clears: this.clears,
      replays: this.replays,
      encodedAhead: this.encodedAhead,
      aheadMs: this.aheadMs,
    };
  }

  /** The buffer pool's statistics. */
  poolStats(): PoolStats {
    return this.pool.getStats();
  }

  /** Starts a new peak of the bytes handed out (PoolStats.peakInUseBytes) from what is handed out now. */
  resetPeakInUse(): void {
    this.pool.resetPeakInUse();
  }

  /** Throws a GpuError of kind device-lost when the device was lost. @internal */
  assertAlive(op: string): void {
    if (this.lostInfo) {
      throw new GpuError(
        `${op}: the GPU device was lost (${this.lostInfo}). Nothing more can run on it; restart the process ` +
          '(training can continue from its last checkpoint with --resume).',
        'device-lost',
        [op],
      );
    }
  }

  private moduleFor(shader: ShaderSource): GPUShaderModule {
    let m = this.modules.get(shader.code);
    if (!m) {
      m = this.device.createShaderModule({ code: shader.code, label: shader.name });
      this.modules.set(shader.code, m);
    }
    return m;
  }

  /** The compute pipeline for a shader, entry point and override constants, made once and cached. */
  pipeline(shader: ShaderSource, entry = 'main', constants: Record<string, number | boolean> = {}): GPUComputePipeline {
    const keys = Object.keys(constants).sort();
    const key = `${shader.name}|${entry}|${keys.map((k) => `${k}=${constants[k]}`).join(',')}|${shader.code.length}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const c: Record<string, number> = {};
      for (const k of keys) c[k] = Number(constants[k]);
      p = this.device.createComputePipeline({
        layout: 'auto',
        label: `${shader.name}:${entry}`,
        compute: { module: this.moduleFor(shader), entryPoint: entry, constants: c },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private openBatch(): GPUCommandEncoder {
    if (!this.encoder) {
      this.openScopes();
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private uniformSlot(data: ArrayBuffer | ArrayBufferView): StorageBinding {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    let chunk = this.uniformChunks[this.uniformChunks.length - 1];
    const start = chunk ? Math.ceil(chunk.used / this.uniformAlignment) * this.uniformAlignment : 0;
    if (!chunk || start + size > UNIFORM_CHUNK) {
      chunk = this.freeUniformChunks.pop() ?? {
        buffer: this.device.createBuffer({ size: UNIFORM_CHUNK, usage: UNIFORM | COPY_DST, label: 'uniforms' }),
        mirror: new Uint8Array(UNIFORM_CHUNK),
        used: 0,
      };
      chunk.used = 0;
      this.uniformChunks.push(chunk);
    }
    const offset = Math.ceil(chunk.used / this.uniformAlignment) * this.uniformAlignment;
    chunk.mirror.set(bytes, offset);
    chunk.used = offset + size;
    return { buffer: chunk.buffer, offset, size };
  }

  private idOf(o: object): number {
    let id = this.objectIds.get(o);
    if (id === undefined) this.objectIds.set(o, (id = this.nextObjectId++));
    return id;
  }

  private bindGroupFor(pipeline: GPUComputePipeline, entries: GPUBindGroupEntry[], label: string): GPUBindGroup {
    let key = `${this.idOf(pipeline)}`;
    for (const e of entries) {
      const r = e.resource as GPUBufferBinding;
      key += `|${this.idOf(r.buffer)}:${r.offset}:${r.size}`;
    }
    let group = this.bindGroups.get(key);
    if (group) {
      // Least recently used goes first: re-insert on every hit.
      this.bindGroups.delete(key);
    } else {
      group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label });
      if (this.bindGroups.size >= 16384) this.bindGroups.delete(this.bindGroups.keys().next().value!);
    }
    this.bindGroups.set(key, group);
    return group;
  }

  /** Destroys the pool's idle buffers (and forgets the bind groups that could name them). */
  trimPool(): void {
    this.flush();
    this.bindGroups.clear();
    this.pool.trim();
  }

  /** Records one compute dispatch into the open batch. */
  dispatch(spec: DispatchSpec): void {
    this.assertAlive(spec.op);
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    // Open the batch first: its error scopes then also catch shader and pipeline creation errors.
    const encoder = this.openBatch();
    const pipeline = this.pipeline(spec.shader, spec.entry ?? 'main', spec.constants);
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (spec.uniforms) {
      const u = this.uniformSlot(spec.uniforms);
      entries.push({ binding: binding++, resource: { buffer: u.buffer, offset: u.offset, size: u.size } });
    }
    for (const s of spec.storage) {
      entries.push({ binding: binding++, resource: { buffer: s.buffer, offset: s.offset, size: s.size } });
    }
    const bindGroup = this.bindGroupFor(pipeline, entries, spec.op);
    if (this.profiling && this.querySet) {
      this.endPass();
      const q = this.queryOps.length;
      this.queryOps.push(spec.op);
      this.queryKernels.push(spec.entry && spec.entry !== 'main' ? `${spec.shader.name}:${spec.entry}` : spec.shader.name);
      this.pass = encoder.beginComputePass({
        label: spec.op,
        timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 },
      });
    } else if (!this.pass) {
      this.pass = encoder.beginComputePass();
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.encoderInUse.dispatch(spec.op, pipeline, spec.uniforms, spec.storage, [x, y, z]);
    this.batchOps.push(spec.op);
    this.dispatches++;
    if (this.profiling) this.endPass();
    if (this.debug || this.batchOps.length >= this.maxDispatches) this.flush();
  }

  /**
   * Zeroes `size` bytes of `dst` from `offset` (both multiples of 4) with the encoder's clearBuffer: a
   * memset on software adapters, where a fill shader's per-invocation stores run many times slower (figures:
   * bench/RESULTS.md, "Figures behind the kernel choices (moved from code comments, 2026-12-05)").
   */
  clear(dst: GPUBuffer, offset: number, size: number, op = 'clear'): void {
    this.assertAlive(op);
    if (size === 0) return;
    const encoder = this.openBatch();
    this.endPass();
    encoder.clearBuffer(dst, offset, size);
    this.encoderInUse.clear(op, dst, offset, size);
    this.clears++;
    this.batchOps.push(op);
  }

  /** Records a buffer-to-buffer copy in order with the dispatches around it. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number, op = 'copy'): void {
    if (size > 0) this.encoderInUse.copy(op, src, srcOffset, dst, dstOffset, size);
    this.encodeCopy(src, srcOffset, dst, dstOffset, size, op);
  }

  private encodeCopy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number, op: string): void {
    this.assertAlive(op);
    if (size === 0) return;
    const encoder = this.openBatch();
    this.endPass();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.batchOps.push(op);
  }

  /**
   * Writes bytes into a buffer, in order with the recorded work: straight through the queue when nothing is
   * recorded, else through a staging buffer copied inside the batch (a queue write would overtake the batch).
   */
  upload(dst: GPUBuffer, dstOffset: number, data: ArrayBufferView, op = 'upload'): void {
    this.assertAlive(op);
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    if (size === 0) return;
    this.encoderInUse.upload(op, dst, dstOffset, bytes, size, () => this.writeUpload(dst, dstOffset, bytes, size, op));
  }

  /** Puts an upload in order with the batch: a queue write when no batch is open, else a staged copy in it. */
  private writeUpload(dst: GPUBuffer, dstOffset: number, bytes: Uint8Array, size: number, op: string): void {
    if (!this.encoder) {
      this.device.queue.writeBuffer(dst, dstOffset, size === bytes.byteLength ? (bytes as Uint8Array<ArrayBuffer>) : padTo(bytes, size));
      return;
    }
    const staging = this.device.createBuffer({ size, usage: COPY_SRC, mappedAtCreation: true, label: `${op}:staging` });
    new Uint8Array(staging.getMappedRange()).set(bytes);
    staging.unmap();
    this.encodeCopy(staging, 0, dst, dstOffset, size, op);
    // Destroying now is allowed: WebGPU keeps a buffer alive until the submitted work that uses it is done.
    this.afterSubmit.push(() => staging.destroy());
  }

  private afterSubmit: (() => void)[] = [];

  /** Submits everything recorded so far. Errors surface at the next `read()` or `sync()`. */
  flush(): void {
    this.submitBatch(null);
  }

  /** Submits the open batch, then `after` (commands encoded apart from the batch) in the same submit. */
  private submitBatch(after: GPUCommandBuffer | null): void {
    if (!this.encoder) return;
    this.endPass();
    const encoder = this.encoder;
    const ops = this.batchOps;
    let resolveBuffer: GPUBuffer | null = null;
    let profileRead: GPUBuffer | null = null;
    const queryOps = this.queryOps;
    const queryKernels = this.queryKernels;
    if (this.profiling && this.querySet && queryOps.length > 0) {
      const bytes = queryOps.length * 2 * 8;
      resolveBuffer = this.device.createBuffer({ size: bytes, usage: QUERY_RESOLVE | COPY_SRC });
      profileRead = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
      encoder.resolveQuerySet(this.querySet, 0, queryOps.length * 2, resolveBuffer, 0);
      encoder.copyBufferToBuffer(resolveBuffer, 0, profileRead, 0, bytes);
    }
    for (const chunk of this.uniformChunks) {
      this.device.queue.writeBuffer(chunk.buffer, 0, chunk.mirror, 0, Math.ceil(chunk.used / 4) * 4);
    }
    this.device.queue.submit(after ? [encoder.finish(), after] : [encoder.finish()]);
    this.submits++;
    this.closeScopes(ops);
    this.encoder = null;
    this.batchOps = [];
    this.queryOps = [];
    this.queryKernels = [];
    this.freeUniformChunks.push(...this.uniformChunks);
    this.uniformChunks = [];
    for (const f of this.afterSubmit) f();
    this.afterSubmit = [];
    if (profileRead) {
      const buf = profileRead;
      const resolve = resolveBuffer!;
      this.pendingProfiles.push(
        buf.mapAsync(MAP_READ).then(() => {
          const t = new BigInt64Array(buf.getMappedRange());
          queryOps.forEach((op, i) => {
            const ns = Number(t[2 * i + 1] - t[2 * i]);
            const e = this.profileTotals.get(op) ?? { count: 0, ns: 0, kernels: new Map() };
            e.count++;
            e.ns += Math.max(0, ns);
            this.profileTotals.set(op, e);
            const k = e.kernels.get(queryKernels[i]!) ?? { count: 0, ns: 0 };
            k.count++;
            k.ns += Math.max(0, ns);
            e.kernels.set(queryKernels[i]!, k);
          });
          buf.unmap();
          buf.destroy();
          resolve.destroy();
        }),
      );
    }
  }

  /** Opens the error scopes that a submit (or an encoding ahead) reports through: see closeScopes. */
  private openScopes(): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
  }

  /** Closes the scopes openScopes opened; their errors, named by `ops`, surface at the next sync or read. */
  private closeScopes(ops: readonly string[]): void {
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.pendingErrors.push(
      Promise.all([validation, oom]).then(([v, o]) => {
        const err = o ?? v;
        if (!err) return null;
        const kind = o ? 'out-of-memory' : 'validation';
        const names = [...new Set(ops)];
        const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, ...` : names.join(', ');
        const hint = this.debug ? '' : ' (set BYOL_GPU_DEBUG=1 to submit op by op and name the exact op)';
        const what =
          kind === 'out-of-memory'
            ? 'The GPU ran out of memory. Use a smaller batch size or image size.'
            : 'A GPU validation error.';
        return new GpuError(`${what} In ops: ${shown}${hint}. ${err.message}`, kind, names);
      }),
    );
  }

  /** Throws the first GPU error reported by submitted batches, if any. */
  async checkErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const errors = await awaitGpu(() => Promise.all(pending));
    const first = this.uncaptured ?? errors.find((e) => e !== null);
    this.uncaptured = null;
    if (first) throw first;
    this.assertAlive('sync');
  }

  /** Submits the batch and waits until the GPU has finished everything, then reports errors. */
  async sync(): Promise<void> {
    this.assertAlive('sync');
    // The flush inside: its error scopes are promises too, and Dawn's polling starts with the first of them.
    await awaitGpu(() => {
      this.flush();
      this.runWaitTasks();
      return this.device.queue.onSubmittedWorkDone();
    });
    await this.checkErrors();
  }

  private stagingFor(size: number): GPUBuffer {
    const list = this.readStaging.get(size);
    return (
      list?.pop() ?? this.device.createBuffer({ size, usage: MAP_READ | COPY_DST, label: 'readback' })
    );
  }

  /** Copies bytes out of a buffer after all recorded work; resolves with a fresh ArrayBuffer. */
  async read(src: GPUBuffer, offset: number, size: number, op = 'read'): Promise<ArrayBuffer> {
    this.assertAlive(op);
    if (this.encoderInUse.step !== null) {
      throw new Error(`${op}: a step being captured (${this.encoderInUse.step}) cannot read from the GPU; return the tensor from the step and read it afterwards`);
    }
    if (size === 0) return new ArrayBuffer(0);
    const padded = Math.ceil(size / 4) * 4;
    const classSize = Math.max(256, 2 ** Math.ceil(Math.log2(padded)));
    const staging = this.stagingFor(classSize);
    this.encodeCopy(src, offset, staging, 0, padded, op);
    try {
      await awaitGpu(() => {
        this.flush();
        this.runWaitTasks();
        return staging.mapAsync(MAP_READ, 0, padded);
      });
    } catch (e) {
      await this.checkErrors();
      throw new GpuError(`${op}: reading back from the GPU failed: ${(e as Error).message}`, 'internal', [op]);
    }
    const out = staging.getMappedRange(0, padded).slice(0, size);
    staging.unmap();
    let list = this.readStaging.get(classSize);
    if (!list) this.readStaging.set(classSize, (list = []));
    list.push(staging);
    await this.checkErrors();
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------
  // What src/capture builds step capture on (the runtime itself knows nothing of records and plans).

  /** The encoder every command is reported to besides the batch: `eagerEncoder` unless src/capture set one. @internal */
  get stepEncoder(): StepEncoder {
    return this.encoderInUse;
  }

  /** Sets the encoder every command is reported to; returns the one it replaces. @internal (src/capture) */
  useStepEncoder(encoder: StepEncoder): StepEncoder {
    const previous = this.encoderInUse;
    this.encoderInUse = encoder;
    setRecordingStep(encoder.step);
    return previous;
  }

  /** Whether dispatches may be recorded, or must run eagerly (profiling and debug mode need them to). */
  get canRecord(): boolean {
    return !this.profiling && !this.debug;
  }

  /** Whether destroy() was called. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Runs `task` each time the runtime starts to wait for the GPU (sync, read), after it submitted. @internal */
  onWait(task: () => void): void {
    this.waitTasks.push(task);
  }

  private runWaitTasks(): void {
    for (const t of this.waitTasks) t();
  }

  /**
   * Submits a replayed step: the open batch (if any) with `copies` and then `encode`'s commands appended,
   * and `ready` (commands encoded earlier) after it, in one submit; with no batch open, nothing to encode and
   * no copies, `ready` goes alone under error scopes of its own. Counts the replay and its dispatches.
   * @internal (src/capture)
   */
  submitReplay(
    ops: readonly string[],
    dispatches: number,
    copies: readonly { src: StorageBinding; dst: StorageBinding }[],
    encode: ((encoder: GPUCommandEncoder) => void) | null,
    ready: GPUCommandBuffer | null,
  ): void {
    this.dispatches += dispatches;
    this.replays++;
    if (ready) this.encodedAhead++;
    if (ready && !encode && !this.encoder && copies.length === 0) {
      this.openScopes();
      this.device.queue.submit([ready]);
      this.submits++;
      this.closeScopes(ops);
      return;
    }
    const encoder = this.openBatch();
    this.endPass();
    for (const { src, dst } of copies) encoder.copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, Math.ceil(src.size / 4) * 4);
    encode?.(encoder);
    for (const op of ops) this.batchOps.push(op);
    this.submitBatch(ready);
  }

  /**
   * Encodes commands into a command buffer of their own, for a later submitReplay; errors are reported as a
   * submit's, naming `ops`. @internal (src/capture)
   */
  encodeApart(ops: readonly string[], encode: (encoder: GPUCommandEncoder) => void): GPUCommandBuffer {
    const t0 = performance.now();
    // Encoding errors surface at finish(): scopes of its own, reported like a submit's.
    this.openScopes();
    const encoder = this.device.createCommandEncoder();
    encode(encoder);
    const buffer = encoder.finish();
    this.closeScopes(ops);
    this.aheadMs += performance.now() - t0;
    return buffer;
  }

  /** Destroys buffers once the work recorded so far is submitted (now, when no batch is open). @internal */
  destroyAfterSubmit(buffers: readonly GPUBuffer[]): void {
    const destroy = () => buffers.forEach((b) => b.destroy());
    if (this.encoder) this.afterSubmit.push(destroy);
    else destroy();
  }

  /** Destroys the device. Everything made on it becomes unusable. */
  destroy(): void {
    // No wait task (encoding a replay ahead) runs on the destroyed device.
    this.destroyed = true;
    this.waitTasks = [];
    this.encoder = null;
    this.pass = null;
    this.device.destroy();
  }
}

function padTo(bytes: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  out.set(bytes);
  return out;
}
