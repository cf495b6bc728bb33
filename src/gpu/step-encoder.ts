/**
 * What a kernel launch hands the layer that captures steps (src/capture): the per-step scalars (`StepValue`)
 * a parameter block may hold, and the encoder interface the runtime reports every command to. The runtime
 * knows nothing more of capture: recording, plans and replay live in src/capture.
 */
import type { StorageBinding } from './runtime.js';

/**
 * The step being recorded, else null: the `step` of the encoder the runtime reports to, which
 * GpuRuntime.useStepEncoder keeps here so that StepValue (which sees no runtime) can read it.
 */
let recording: string | null = null;

/** Sets what recordingStep() returns. @internal (GpuRuntime.useStepEncoder) */
export function setRecordingStep(name: string | null): void {
  recording = name;
}

/** The name of the step being recorded (its work must not read from the GPU nor make StepValues), else null. */
export function recordingStep(): string | null {
  return recording;
}

/**
 * A number that a recorded step reads afresh on every replay: learning rate, τ, a step counter. A kernel
 * declares which of its parameters are per step (`'step f32'`, `'step u32'` in defineKernel's schema): those
 * take a StepValue and nothing else, the others a plain number, which a record bakes in.
 *
 * A StepValue is made once, outside the step (a module's field, a captured step's value), and its value set
 * before each step (the step's values, or a `perStep` hook): one made while a step is recorded would keep
 * its recorded value in every replay, so its constructor refuses. `StepValue.derived(fn)` is the exception:
 * its value is `fn()`, computed whenever it is read (by an eager launch, or by each replay as it writes its
 * parameter blocks), so it may be made anywhere, from other StepValues.
 */
export class StepValue {
  private v: number;
  private readonly compute: (() => number) | null = null;

  constructor(value: number, compute: (() => number) | null = null) {
    if (compute) this.compute = compute;
    else if (recording !== null) {
      throw new Error(
        `a StepValue made while step '${recording}' is recorded would keep its value (${value}) in every replay: make it once outside the step (a module's field, or one of the step's values) and set its value in perStep, or use StepValue.derived(() => ...) to compute it from other StepValues`,
      );
    }
    this.v = value;
  }

  /** A StepValue whose value is `compute()`, read afresh at every use (see the class's comment). */
  static derived(compute: () => number): StepValue {
    return new StepValue(Number.NaN, compute);
  }

  /** The value the next step (eager, recorded or replayed) uses. */
  get value(): number {
    return this.compute ? this.compute() : this.v;
  }

  /** Sets the value of the next step (refused for a derived StepValue). */
  set value(v: number) {
    if (this.compute) throw new TypeError('a derived StepValue is computed from others: set those instead');
    this.v = v;
  }
}

/** A kernel parameter: baked into a record as a number, or read afresh on every replay as a StepValue. */
export type Scalar = number | StepValue;

/** The number a Scalar stands for now. */
export function valueOf(s: Scalar): number {
  return typeof s === 'number' ? s : s.value;
}

/** Where a StepValue sits in a parameter block: its 32-bit word and how it is stored. */
export interface UniformPatch {
  word: number;
  type: 'u' | 'f';
  value: StepValue;
}

/** The StepValues of each parameter block a kernel launch wrote (src/kernels/define.ts), by the block's bytes. */
export const uniformPatches = new WeakMap<ArrayBuffer, UniformPatch[]>();

/**
 * What the runtime does with each command besides putting it in its batch: the encoder it is given. The
 * runtime calls every method on every command and tests no mode itself; `eagerEncoder` (the default) does
 * nothing more, a `Recording` keeps the commands of a step being captured, its `hookEncoder` keeps only the
 * uploads of a `perStep` hook run while recording, and `ReplayHookEncoder` sends the uploads of a hook run
 * by a replay into the staging buffers its plan copies from.
 */
export interface StepEncoder {
  /** The name of the step being captured, whose work must not read from the GPU; null otherwise. */
  readonly step: string | null;
  /** A compute dispatch the runtime encoded. `uniforms` are the launch's parameter bytes, if any. */
  dispatch(op: string, pipeline: GPUComputePipeline, uniforms: ArrayBuffer | ArrayBufferView | undefined, storage: readonly StorageBinding[], workgroups: [number, number, number]): void;
  /** A buffer clear the runtime encoded. */
  clear(op: string, buffer: GPUBuffer, offset: number, size: number): void;
  /** A buffer-to-buffer copy the runtime encodes (size > 0). */
  copy(op: string, src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void;
  /** An upload of `bytes` (padded to `size`, a multiple of 4); `write` puts it in the batch. */
  upload(op: string, dst: GPUBuffer, dstOffset: number, bytes: Uint8Array, size: number, write: () => void): void;
}

/** The encoder of eager work: each command goes into the batch and nowhere else. */
export const eagerEncoder: StepEncoder = {
  step: null,
  dispatch() {},
  clear() {},
  copy() {},
  upload(_op, _dst, _dstOffset, _bytes, _size, write) {
    write();
  },
};

