/**
 * Step capture and replay: record what a training step encodes once, then encode the record again on
 * later calls, with no autograd graph, no tensor objects and no parameter blocks built in JavaScript.
 *
 *   const step = captureStep(([x], { s }) => {
 *     const y = zeros(x.shape);
 *     axpyInPlace(y, x, 1, s); // y ← s·x, with s read afresh on every replay
 *     return y;
 *   }, { name: 'scale' });
 *   for (...) { const y = step.run([x], { s: schedule(i) }); ... }
 *
 * The project's training steps are written once each on top of it: classifierStep (src/nn/train-step.ts)
 * and byolStep (src/byol/step.ts).
 *
 * The first `warmup` calls (default 1) run eagerly, as plain code does, so that state made lazily on a first
 * step (optimizer tables, cached constants) exists; the next call runs eagerly while the runtime records its
 * dispatches, clears, copies and uploads; later calls with the same input shapes and dtypes, the same value
 * names, the same kernel overrides in force (withKernelOverrides: the launches a record holds were planned
 * under them) and the same `key()` replay the record. Another shape (a short last batch, say), other
 * overrides or another key records again.
 *
 * What a step may do, and what it gets on replay:
 *  - Tensor inputs are copied into the buffers the recorded step read; `values` (numbers) reach the step as
 *    StepValues, which the kernels read afresh on every replay (learning rate, τ, step counter).
 *  - Each kernel declares which of its parameters change from step to step ('step f32' / 'step u32' in
 *    defineKernel's schema): those take StepValues only (a plain number does not compile), every other
 *    parameter a plain number, baked into the record: shapes, constants, hyperparameters. The layers hold
 *    their per-step values as StepValues made once (an optimizer's lr, SGD's first-step flag, AdamW's bias
 *    corrections) or derived from the step's values (`StepValue.derived`: 1 − τ); a layer given a plain
 *    number for one inside a captured step refuses it (`stepScalar`: `opt.step(0.05)`), and a StepValue
 *    made while the step is recorded throws, since its value would be fixed in every replay.
 *  - Host-side bookkeeping that must happen on every step goes through `perStep(fn)` (optimizers' step
 *    counters, batch norm's num_batches_tracked, the augmentation's random draws and their upload).
 *  - What slips past those is checked when the step is recorded, against the eager call before it (the
 *    last warm-up call): a baked parameter word, or the data of an upload made outside perStep, that
 *    differs between the two throws, naming the op. This check needs warmup ≥ 1, compares only calls
 *    whose dispatches (uploads) line up one to one, and sees only values that changed between those calls.
 *  - A captured step must not read from the GPU, and must be synchronous.
 *  - Its outputs are views of buffers the next replay overwrites: read or copy them before the next call.
 *  - If a buffer the record binds without owning (a parameter, an optimizer slot) is released, the record is
 *    dropped: the step's next call runs eagerly (checked against, as the last warm-up call is) and the one
 *    after records it again.
 *
 * Eager mode stays the default of the engine; profiling and BYOL_GPU_DEBUG=1 run captured steps eagerly.
 */
import { recordingStep, StepValue, type Scalar } from '../gpu/step-encoder.js';
import { bakedChange, type Recording } from './record.js';
import { replayerOf, type CompiledPlan } from './replayer.js';
import { overridesKey } from '../gpu/overrides.js';
import { isGradEnabled } from '../autograd/tape.js';
import { getRuntime, keep, scope } from '../tensor/engine.js';
import { empty, fromArray, Storage, Tensor, type DType } from '../tensor/tensor.js';
import type { StorageBinding } from '../gpu/runtime.js';

export { StepValue, valueOf, type Scalar } from '../gpu/step-encoder.js';

/** Whether captured steps replay unless told otherwise: yes, except with BYOL_EAGER=1 in the environment (Node). */
function replayByDefault(): boolean {
  const env = typeof process !== 'undefined' ? process.env?.BYOL_EAGER : undefined;
  return !(env === '1' || env === 'true');
}

/**
 * Runs `fn` now and, when a step is being captured, again before every replay of it: host-side state a
 * replayed step must still update (counters, random draws and the uploads made from them). `fn` may upload
 * (tensor data) but not dispatch.
 */
export function perStep(fn: () => void): void {
  replayerOf(getRuntime()).runHook(fn);
}

/**
 * A per-step scalar as a StepValue: `s` itself when it is one; a plain number becomes one in eager code, and
 * is refused inside a step being captured, where it would be fixed in every replay. `what` names the value
 * in the error (e.g. 'SGD.step: lr').
 */
export function stepScalar(s: Scalar, what: string): StepValue {
  if (s instanceof StepValue) return s;
  if (typeof s !== 'number') throw new TypeError(`${what}: expected a number or a StepValue, got ${String(s)}`);
  const step = recordingStep();
  if (step !== null) {
    throw new Error(
      `${what}: the plain number ${s} inside the captured step '${step}' would be fixed in every replay; pass one of the step's values (captureStep's values) or a StepValue made once outside the step`,
    );
  }
  return new StepValue(s);
}

/** What a captured step returns: a tensor, an array or an object of tensors, or nothing. */
export type StepOutputs = Tensor | readonly Tensor[] | Readonly<Record<string, Tensor>> | void;

/** How a step is captured (see captureStep). */
export interface CaptureOptions {
  /** A name for errors and profiles. */
  name?: string;
  /** Calls that run eagerly before the step is recorded. Default 1. */
  warmup?: number;
  /** false runs every call eagerly (for comparisons and debugging). Default true (false with BYOL_EAGER=1). */
  replay?: boolean;
  /** Anything else a record depends on (e.g. the model's train/eval mode); a new key records again. */
  key?: () => string;
  /**
   * Encode each replay's commands ahead, when the host next waits, so that the replay itself only writes
   * its inputs and values and submits (GpuRuntime.replay). Default true; false encodes on the step's path.
   */
  ahead?: boolean;
}

interface OutputSlot {
  name: string | number | null;
  buffer: GPUBuffer;
  byteOffset: number;
  byteLength: number;
  shape: readonly number[];
  dtype: Tensor['dtype'];
}

interface Entry {
  calls: number;
  values: Record<string, StepValue>;
  plan: CompiledPlan | null;
  inputs: Tensor[];
  outputs: OutputSlot[];
  shape: 'tensor' | 'array' | 'object' | 'none';
  u32: Uint32Array;
  f32: Float32Array;
  /** The commands of the eager call just before the recording, to check the record against (see bakedChange). */
  before: Recording | null;
}

/** How the calls of a captured step ran. */
export interface CaptureStats {
  /** Calls that ran eagerly (warm-up, profiling, replay off). */
  eager: number;
  /** Calls that ran eagerly while recording. */
  recorded: number;
  /** Calls replayed from a record. */
  replayed: number;
}

/** A step function with its records, made by captureStep: `run` it as the function itself would be called. */
export class CapturedStep<Out extends StepOutputs> {
  /** For errors and profiles. */
  readonly name: string;
  /** How its calls ran so far. */
  readonly stats: CaptureStats = { eager: 0, recorded: 0, replayed: 0 };
  private readonly warmup: number;
  private readonly replayOn: boolean;
  private readonly aheadOn: boolean;
  private readonly entries = new Map<string, Entry>();
  private disposed = false;

  constructor(
    private readonly fn: (inputs: readonly Tensor[], values: Readonly<Record<string, StepValue>>) => Out,
    private readonly options: CaptureOptions = {},
  ) {
    this.name = options.name ?? 'step';
    this.warmup = options.warmup ?? 1;
    this.replayOn = options.replay ?? replayByDefault();
    this.aheadOn = options.ahead ?? true;
    if (!Number.isInteger(this.warmup) || this.warmup < 0) throw new RangeError(`captureStep: warmup must be a whole number ≥ 0, got ${options.warmup}`);
  }

  /**
   * Runs one step on `inputs` with `values` (eagerly, recording, or replayed); returns its outputs. An input
   * may be a tensor or host data (`{ data, shape }`): host data is uploaded by the step, on replay straight
   * into the buffer the record reads, with no tensor made for it.
   */
  run(inputs: readonly StepInput[], values: Readonly<Record<string, number>> = {}): Out {
    if (this.disposed) throw new Error(`${this.name}: the captured step was disposed`);
    const rt = getRuntime();
    const names = Object.keys(values).sort();
    const kinds = inputs.map((t, i) => (t instanceof Tensor ? t : hostInput(this.name, t, i)));
    let key = kinds.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';') + `|${names.join(',')}|${isGradEnabled()}|${overridesKey()}`;
    if (this.options.key) key += `|${this.options.key()}`;
    let e = this.entries.get(key);
    if (!e) {
      e = { calls: 0, values: {}, plan: null, inputs: [], outputs: [], shape: 'none', u32: new Uint32Array(0), f32: new Float32Array(0), before: null };
      for (const n of names) e.values[n] = new StepValue(0);
      this.entries.set(key, e);
    }
    for (const n of names) {
      const v = values[n]!;
      if (typeof v !== 'number') throw new TypeError(`${this.name}: value '${n}' must be a number, got ${typeof v}`);
      e.values[n]!.value = v;
    }
    if (e.plan && !replayerOf(rt).planValid(e.plan)) this.drop(e);
    if (e.plan && rt.canRecord) return this.replay(e, inputs);
    e.calls++;
    // Host data becomes tensors for an eager or recorded call, freed after it.
    const made: Tensor[] = [];
    const tensors = inputs.map((t, i) => (t instanceof Tensor ? t : (made[made.length] = fromArray(t.data, t.shape, kinds[i]!.dtype))));
    try {
      if (!this.replayOn || !rt.canRecord || e.calls <= this.warmup) {
        this.stats.eager++;
        if (!this.replayOn || !rt.canRecord || e.calls < this.warmup) return scope(() => this.fn(tensors, e.values));
        // The last eager call before the recording: its commands are kept, to check the record against.
        replayerOf(rt).beginRecording(this.name, false);
        try {
          return scope(() => this.fn(tensors, e.values));
        } finally {
          e.before = replayerOf(rt).endRecording();
        }
      }
      return this.record(e, tensors);
    } finally {
      for (const t of made) t.dispose();
    }
  }

  private record(e: Entry, inputs: readonly Tensor[]): Out {
    const rt = getRuntime();
    // The record reads its inputs from buffers of its own, filled before each replay.
    e.inputs = inputs.map((t) => {
      t.assertAlive(this.name);
      const own = keep(empty(t.shape, t.dtype, `${this.name}.input`));
      rt.copy(t.storage.buffer, t.byteOffset, own.storage.buffer, 0, Math.ceil(t.byteLength / 4) * 4, `${this.name}.input`);
      return own;
    });
    const replayer = replayerOf(rt);
    const rec = replayer.beginRecording(this.name);
    let out: Out;
    try {
      out = scope(() => this.fn(e.inputs, e.values));
    } catch (err) {
      replayer.endRecording();
      for (const t of e.inputs) t.dispose();
      e.inputs = [];
      throw err;
    }
    replayer.endRecording();
    const before = e.before;
    e.before = null;
    const baked = before && bakedChange(before, rec);
    if (baked) {
      for (const t of e.inputs) t.dispose();
      e.inputs = [];
      // The next call is the checked eager one again, then another recording: the error stays.
      e.calls = this.warmup - 1;
      throw new Error(
        `${this.name}: ${baked}; a value that changes from step to step must reach the kernel as a StepValue (a value of the step, or one set in perStep), else every replay would reuse the recorded one`,
      );
    }
    const outs: [string | number | null, Tensor][] =
      out instanceof Tensor
        ? [[null, out]]
        : Array.isArray(out)
          ? (out as Tensor[]).map((t, i) => [i, t])
          : out && typeof out === 'object'
            ? Object.entries(out as Record<string, Tensor>)
            : [];
    for (const [, t] of outs) {
      if (!(t instanceof Tensor)) throw new TypeError(`${this.name}: a captured step returns tensors (one, an array or an object of them)`);
    }
    e.shape = out instanceof Tensor ? 'tensor' : Array.isArray(out) ? 'array' : out ? 'object' : 'none';
    e.outputs = outs.map(([name, t]) => ({ name, buffer: t.storage.buffer, byteOffset: t.byteOffset, byteLength: t.byteLength, shape: t.shape, dtype: t.dtype }));
    const owned = [...rec.acquired, ...e.inputs.map((t) => t.storage.buffer)];
    e.plan = replayer.compile(rec, owned);
    e.u32 = new Uint32Array(e.plan.mirror.buffer);
    e.f32 = new Float32Array(e.plan.mirror.buffer);
    if (this.aheadOn) replayer.queueAhead(e.plan);
    this.stats.recorded++;
    return out;
  }

  private replay(e: Entry, inputs: readonly StepInput[]): Out {
    const rt = getRuntime();
    const plan = e.plan!;
    const copies: { src: StorageBinding; dst: StorageBinding }[] = [];
    inputs.forEach((t, i) => {
      const own = e.inputs[i]!;
      if (t instanceof Tensor) {
        t.assertAlive(this.name);
        copies.push({ src: t.binding(this.name), dst: own.binding(this.name) });
      } else rt.upload(own.storage.buffer, own.byteOffset, t.data, `${this.name}.input`);
    });
    replayerOf(rt).replay(plan, copies, e.u32, e.f32, this.aheadOn);
    this.stats.replayed++;
    const wrap = (o: OutputSlot) => new Tensor(o.shape, o.dtype, new Storage(o.buffer, o.byteLength, rt, false), o.byteOffset);
    if (e.shape === 'tensor') return wrap(e.outputs[0]!) as Out;
    if (e.shape === 'array') return e.outputs.map(wrap) as unknown as Out;
    if (e.shape === 'object') return Object.fromEntries(e.outputs.map((o) => [o.name, wrap(o)])) as unknown as Out;
    return undefined as Out;
  }

  private drop(e: Entry): void {
    if (e.plan) replayerOf(getRuntime()).releasePlan(e.plan);
    e.plan = null;
    for (const t of e.inputs) t.dispose();
    e.inputs = [];
    // The next call is the last warm-up call again (eager, kept to check the new record against), then the
    // recording: a record made again is checked as the first one was.
    e.calls = Math.max(0, this.warmup - 1);
  }

  /** Records held, for tests and statistics. */
  get records(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.plan) n++;
    return n;
  }

  /** Frees every record (its buffers go back to the pool). The step can still run; it records again. */
  reset(): void {
    for (const e of this.entries.values()) this.drop(e);
    this.entries.clear();
  }

  /** Frees every record; the step cannot run after. */
  dispose(): void {
    this.reset();
    this.disposed = true;
  }
}

/** A captured step's input given as host data, uploaded by the step (see CapturedStep.run). */
export interface HostInput {
  /** The values, in the tensor's row-major order. */
  data: Float32Array | Int32Array | Uint32Array;
  /** The tensor's shape. */
  shape: readonly number[];
}

/** What a captured step takes as an input: a tensor, or host data it uploads itself. */
export type StepInput = Tensor | HostInput;

/** Checks host data against its shape; gives its dtype (from the array's type) and shape. */
function hostInput(name: string, h: HostInput, i: number): { dtype: DType; shape: readonly number[] } {
  const dtype: DType | null = h?.data instanceof Float32Array ? 'float32' : h?.data instanceof Int32Array ? 'int32' : h?.data instanceof Uint32Array ? 'uint32' : null;
  if (!dtype || !Array.isArray(h.shape)) {
    throw new TypeError(`${name}: input ${i} must be a tensor or { data, shape } with data a Float32Array, Int32Array or Uint32Array`);
  }
  const n = h.shape.reduce((a, b) => a * b, 1);
  if (!h.shape.every((d) => Number.isInteger(d) && d >= 0) || n !== h.data.length) {
    throw new RangeError(`${name}: input ${i} has ${h.data.length} values for shape [${h.shape.join(', ')}] (${n} elements)`);
  }
  return { dtype, shape: h.shape };
}

/** Wraps a step function for capture and replay; see the file's comment. */
export function captureStep<Out extends StepOutputs>(
  fn: (inputs: readonly Tensor[], values: Readonly<Record<string, StepValue>>) => Out,
  options: CaptureOptions = {},
): CapturedStep<Out> {
  return new CapturedStep(fn, options);
}
