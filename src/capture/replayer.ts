/**
 * Recording and replaying steps on one runtime: the runtime is handed a `Recording` as its step encoder while
 * a step is captured, and a plan compiled from it is submitted again on every replay, encoded ahead where
 * the host would otherwise wait. The runtime gives only primitives (useStepEncoder, submitReplay,
 * encodeApart, onWait, its pool's pins); everything about records and plans is here.
 */
import type { GpuRuntime, StorageBinding } from '../gpu/runtime.js';
import { eagerEncoder } from '../gpu/step-encoder.js';
import { compileRecording, encodePlan, patchUniforms, Recording, ReplayHookEncoder, type ReplayPlan } from './record.js';

/** A plan with the pool's pin epoch when it was made (see BufferPool.pinEpoch). */
export type CompiledPlan = ReplayPlan & {
  /** BufferPool.pinEpoch when the plan was made; another value later means a pinned buffer was released. */
  pinEpoch: number;
};

/** The records and plans of one runtime (see replayerOf). */
export class Replayer {
  /**
   * Command buffers encoded ahead, one per live plan at most: the plan's commands encoded while the host
   * had nothing else to do (see `replay`), ready for its next replay to submit.
   */
  private ahead = new WeakMap<ReplayPlan, GPUCommandBuffer>();
  /** Plans with an encode-ahead task queued. */
  private aheadQueued = new Set<CompiledPlan>();
  /** Plans compiled and not yet released: only these are encoded ahead. */
  private livePlans = new WeakSet<ReplayPlan>();

  constructor(private readonly rt: GpuRuntime) {
    rt.onWait(() => this.encodeQueued());
  }

  /**
   * Starts recording everything the runtime encodes until `endRecording`. `capturing` false: the commands of
   * an eager call, kept only to check a recording against; it may read from the GPU.
   */
  beginRecording(name: string, capturing = true): Recording {
    const busy = this.rt.stepEncoder.step;
    if (busy !== null) throw new Error(`${name}: another step (${busy}) is being captured; captured steps cannot nest`);
    const rec = new Recording(name, capturing);
    this.rt.useStepEncoder(rec);
    this.rt.pool.onAcquire = (b) => rec.acquired.add(b);
    return rec;
  }

  /** Stops recording; returns the recording (null when none was under way). */
  endRecording(): Recording | null {
    const previous = this.rt.useStepEncoder(eagerEncoder);
    this.rt.pool.onAcquire = null;
    return previous instanceof Recording ? previous : null;
  }

  /**
   * Runs host code that a replayed step must run again every time: now, and, while a step is recorded,
   * again on every replay of it, before its commands. Its uploads are remade on replay; it must not dispatch.
   */
  runHook(fn: () => void): void {
    const rec = this.rt.stepEncoder;
    if (!(rec instanceof Recording)) {
      fn();
      return;
    }
    rec.hooks.push(fn);
    this.rt.useStepEncoder(rec.hookEncoder);
    try {
      fn();
    } finally {
      this.rt.useStepEncoder(rec);
    }
  }

  /**
   * Compiles a recording into a plan. `owned`: the buffers the plan keeps out of the pool (everything the
   * step acquired); every other buffer it binds is pinned, so releasing one marks the plan stale.
   */
  compile(rec: Recording, owned: Iterable<GPUBuffer>): CompiledPlan {
    const pool = this.rt.pool;
    const ownedList = [...new Set(owned)];
    for (const b of ownedList) pool.own(b);
    const plan = compileRecording(this.rt.device, rec, this.rt.uniformAlignment, ownedList);
    for (const b of plan.external) pool.pin(b);
    const compiled = { ...plan, pinEpoch: pool.pinEpoch };
    this.livePlans.add(compiled);
    return compiled;
  }

  /** Whether a plan may still be replayed: none of the buffers it binds without owning was released since. */
  planValid(plan: CompiledPlan): boolean {
    return plan.pinEpoch === this.rt.pool.pinEpoch && !this.rt.isLost && !this.rt.isDestroyed;
  }

  /** Gives a plan's buffers back (owned ones to the pool, made ones destroyed). */
  releasePlan(plan: ReplayPlan): void {
    this.livePlans.delete(plan);
    this.ahead.delete(plan);
    for (const b of plan.external) this.rt.pool.unpin(b);
    for (const b of plan.owned) this.rt.pool.disown(b);
    this.rt.destroyAfterSubmit(plan.made);
  }

  /**
   * Replays a plan: copies `inputs` into the buffers the recorded step read them from, runs its hooks,
   * writes its parameter blocks with the current StepValues, encodes its commands and submits them.
   *
   * With `ahead`, the encoding leaves the step's path: after the submit, the plan's commands are encoded
   * again into a command buffer of their own, and the next replay only writes its inputs and parameter
   * blocks and submits that buffer. The encoding waits for the host to wait: the runtime's own waits
   * (`sync`, a read) do it once they have submitted, and a task queued on the event loop (`setImmediate` in
   * Node, a zero timeout in a page) does it on any other return to the event loop. So a loop that awaits
   * anything between steps encodes while the GPU works; one that never yields encodes on the step's path
   * as without `ahead`. A command buffer holds buffers and bind groups, not their contents, so one
   * encoded before the writes of the replay that submits it reads what those writes put there.
   */
  replay(plan: CompiledPlan, inputs: readonly { src: StorageBinding; dst: StorageBinding }[], u32: Uint32Array, f32: Float32Array, ahead = false): void {
    const rt = this.rt;
    rt.assertAlive(plan.name);
    const busy = rt.stepEncoder.step;
    if (busy !== null) throw new Error(`${plan.name}: cannot replay a step while another (${busy}) is being captured`);
    const hooks = new ReplayHookEncoder(rt.device.queue, plan);
    rt.useStepEncoder(hooks);
    try {
      for (const h of plan.hooks) h();
    } finally {
      rt.useStepEncoder(eagerEncoder);
      if (hooks.done !== plan.hookUploads.length) {
        // eslint-disable-next-line no-unsafe-finally
        throw new Error(`${plan.name}: a replayed step's hooks made ${hooks.done} uploads, ${plan.hookUploads.length} when recorded; record the step again`);
      }
    }
    if (plan.uniformBuffer) {
      patchUniforms(plan, u32, f32);
      rt.device.queue.writeBuffer(plan.uniformBuffer, 0, plan.mirror);
    }
    const ready = this.ahead.get(plan) ?? null;
    if (ready) this.ahead.delete(plan);
    // Its own submit: the next replay rewrites the uniform and staging buffers this one reads.
    rt.submitReplay(plan.opNames, plan.dispatches, inputs, ready ? null : (encoder) => encodePlan(encoder, plan), ready);
    if (ahead) this.queueAhead(plan);
  }

  /** Queues the encoding of a plan's next replay (see `replay`). */
  queueAhead(plan: CompiledPlan): void {
    if (this.aheadQueued.has(plan) || this.ahead.has(plan)) return;
    this.aheadQueued.add(plan);
    const task = () => this.encodeQueued();
    if (typeof globalThis.setImmediate === 'function') globalThis.setImmediate(task);
    else setTimeout(task, 0);
  }

  /** Encodes every queued plan ahead now: from the event loop's task, or as the runtime starts a wait. */
  private encodeQueued(): void {
    for (const plan of this.aheadQueued) {
      this.aheadQueued.delete(plan);
      if (this.livePlans.has(plan) && this.planValid(plan) && !this.ahead.has(plan)) {
        this.ahead.set(plan, this.rt.encodeApart(plan.opNames, (encoder) => encodePlan(encoder, plan)));
      }
    }
  }
}

const replayers = new WeakMap<GpuRuntime, Replayer>();

/** The Replayer of a runtime, made on first use. */
export function replayerOf(rt: GpuRuntime): Replayer {
  let r = replayers.get(rt);
  if (!r) replayers.set(rt, (r = new Replayer(rt)));
  return r;
}
