/**
 * What step capture records and how a record is replayed (see src/capture/capture.ts for the user-facing
 * `captureStep`). The runtime appends every dispatch, clear, copy and upload of a step to a `Recording`
 * while the step runs eagerly once; `compileRecording` turns it into a `ReplayPlan` whose commands can be
 * encoded again with no JavaScript beyond three encoder calls per dispatch: pipelines and bind groups made
 * once, every dispatch's parameter block at its own offset of one uniform buffer, the values that change per
 * step (`StepValue`s) patched into that buffer's mirror before it is written, host-side bookkeeping
 * (`perStep` hooks: step counters, augmentation draws) run again, and the uploads those hooks make written
 * into staging buffers that the record copies from at the point where the eager step uploaded.
 */
import type { StorageBinding } from '../gpu/runtime.js';
import { uniformPatches, type StepEncoder, type StepValue, type UniformPatch } from '../gpu/step-encoder.js';

export type Command =
  | {
      kind: 'dispatch';
      op: string;
      pipeline: GPUComputePipeline;
      uniform: Uint8Array | null;
      patches: readonly UniformPatch[];
      storage: StorageBinding[];
      workgroups: [number, number, number];
    }
  | { kind: 'clear'; op: string; buffer: GPUBuffer; offset: number; size: number }
  | { kind: 'copy'; op: string; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'upload'; op: string; dst: GPUBuffer; dstOffset: number; bytes: Uint8Array; hook: boolean };

/** The commands of one step as it ran, with the host hooks it registered and the buffers it acquired. */
export class Recording implements StepEncoder {
  readonly commands: Command[] = [];
  readonly hooks: (() => void)[] = [];
  /** Buffers the pool handed out while recording (the step's intermediates and outputs). */
  readonly acquired = new Set<GPUBuffer>();
  /** The encoder of the step's hooks while it is recorded: their uploads are re-made on every replay, their other commands are not recorded. */
  readonly hookEncoder: StepEncoder;
  constructor(
    readonly name: string,
    /** false: the commands of an eager call, kept to check a recording against (they may read from the GPU). */
    readonly capturing = true,
  ) {
    const commands = this.commands;
    const step = capturing ? name : null;
    this.hookEncoder = {
      step,
      dispatch() {},
      clear() {},
      copy() {},
      upload(op, dst, dstOffset, bytes, _size, write) {
        commands.push({ kind: 'upload', op, dst, dstOffset, bytes: bytes.slice(), hook: true });
        write();
      },
    };
  }

  get step(): string | null {
    return this.capturing ? this.name : null;
  }

  dispatch(op: string, pipeline: GPUComputePipeline, u: ArrayBuffer | ArrayBufferView | undefined, storage: readonly StorageBinding[], workgroups: [number, number, number]): void {
    const bytes = !u ? null : u instanceof ArrayBuffer ? new Uint8Array(u.slice(0)) : new Uint8Array(u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength));
    this.commands.push({
      kind: 'dispatch',
      op,
      pipeline,
      uniform: bytes,
      patches: (u instanceof ArrayBuffer && uniformPatches.get(u)) || [],
      storage: storage.map((b) => ({ buffer: b.buffer, offset: b.offset, size: b.size })),
      workgroups,
    });
  }

  clear(op: string, buffer: GPUBuffer, offset: number, size: number): void {
    this.commands.push({ kind: 'clear', op, buffer, offset, size });
  }

  copy(op: string, src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.commands.push({ kind: 'copy', op, src, srcOffset, dst, dstOffset, size });
  }

  upload(op: string, dst: GPUBuffer, dstOffset: number, bytes: Uint8Array, _size: number, write: () => void): void {
    this.commands.push({ kind: 'upload', op, dst, dstOffset, bytes: bytes.slice(), hook: false });
    write();
  }
}

/**
 * The encoder of a replayed plan's hooks: each upload goes, in order, into the staging buffer of the
 * matching hook upload of the record (which the plan copies from), and must match it in place and size.
 */
export class ReplayHookEncoder implements StepEncoder {
  /** Hook uploads made so far. */
  done = 0;
  constructor(
    private readonly queue: GPUQueue,
    private readonly plan: ReplayPlan,
  ) {}

  get step(): null {
    return null;
  }

  dispatch(): void {}
  clear(): void {}
  copy(): void {}

  upload(op: string, dst: GPUBuffer, dstOffset: number, bytes: Uint8Array, size: number): void {
    const u = this.plan.hookUploads[this.done++];
    if (!u || u.dst !== dst || u.dstOffset !== dstOffset || u.size !== size) {
      throw new Error(`${this.plan.name}: a replayed step's hook uploaded other data than when it was recorded (${op}); record the step again`);
    }
    let data = bytes as Uint8Array<ArrayBuffer>;
    if (bytes.byteLength !== size) {
      data = new Uint8Array(size);
      data.set(bytes);
    }
    this.queue.writeBuffer(u.staging, 0, data);
  }
}

/**
 * Compares two runs of one step, the call before its recording (`before`) and the recording (`after`): a
 * parameter word that differs between them, and is not a StepValue in either, or the data of an upload made
 * outside `perStep` that differs, would be baked into the record with one step's value. Returns a
 * description of the first such difference, or null. Runs whose dispatches (or uploads) do not line up one
 * to one (same op, pipeline and grid; uploads of the same offset and size, their buffers being the pool's
 * and so free to differ: a first call that made lazy state does more) are not compared on that count, and give null.
 */
export function bakedChange(before: Recording, after: Recording): string | null {
  return bakedParameter(before, after) ?? bakedUpload(before, after);
}

function bakedParameter(before: Recording, after: Recording): string | null {
  const a = before.commands.filter((c) => c.kind === 'dispatch');
  const b = after.commands.filter((c) => c.kind === 'dispatch');
  if (a.length !== b.length) return null;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.op !== y.op || x.pipeline !== y.pipeline || x.workgroups.some((w, k) => w !== y.workgroups[k]) || (x.uniform?.byteLength ?? 0) !== (y.uniform?.byteLength ?? 0)) return null;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!x.uniform || !y.uniform) continue;
    const wx = new Uint32Array(x.uniform.buffer, x.uniform.byteOffset, x.uniform.byteLength >> 2);
    const wy = new Uint32Array(y.uniform.buffer, y.uniform.byteOffset, y.uniform.byteLength >> 2);
    const declared = new Set([...x.patches, ...y.patches].map((p) => p.word));
    for (let w = 0; w < wx.length; w++) {
      if (wx[w] !== wy[w] && !declared.has(w)) return `${y.op}: parameter word ${w} was ${wx[w]} on the call before and ${wy[w]} when recorded`;
    }
  }
  return null;
}

function bakedUpload(before: Recording, after: Recording): string | null {
  const uploads = (r: Recording) => r.commands.filter((c) => c.kind === 'upload' && !c.hook) as Extract<Command, { kind: 'upload' }>[];
  const a = uploads(before);
  const b = uploads(after);
  if (a.length !== b.length) return null;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.dstOffset !== y.dstOffset || x.bytes.byteLength !== y.bytes.byteLength) return null;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.bytes;
    const y = b[i]!.bytes;
    for (let k = 0; k < x.byteLength; k++) {
      if (x[k] !== y[k]) return `${b[i]!.op}: an upload made outside perStep held other data on the call before than when recorded (byte ${k})`;
    }
  }
  return null;
}

const enum Kind {
  Dispatch = 0,
  Clear = 1,
  Copy = 2,
}

/** A compiled recording: everything a replay encodes, made once. */
export interface ReplayPlan {
  readonly name: string;
  readonly kinds: Uint8Array;
  readonly pipelines: (GPUComputePipeline | null)[];
  readonly groups: (GPUBindGroup | null)[];
  readonly workgroups: Uint32Array;
  /** For clears and copies: [buffer or src, offset, dst, dstOffset, size]. */
  readonly transfers: ([GPUBuffer, number, GPUBuffer | null, number, number] | null)[];
  readonly uniformBuffer: GPUBuffer | null;
  readonly mirror: Uint8Array<ArrayBuffer>;
  /** Patches as (word index into the mirror, type, value). */
  readonly patches: readonly { word: number; type: 'u' | 'f'; value: StepValue }[];
  readonly hooks: readonly (() => void)[];
  /** The uploads made by hooks, in order: each replay writes them into their staging buffers. */
  readonly hookUploads: readonly { dst: GPUBuffer; dstOffset: number; size: number; staging: GPUBuffer }[];
  /** Buffers the plan keeps out of the pool while it lives. */
  readonly owned: readonly GPUBuffer[];
  /** Buffers made for the plan (uniforms, staging), destroyed with it. */
  readonly made: readonly GPUBuffer[];
  /** Buffers the plan binds but does not own (parameters, optimizer state, ...). */
  readonly external: readonly GPUBuffer[];
  readonly dispatches: number;
  readonly opNames: readonly string[];
}

const UNIFORM = 0x0040;
const COPY_DST = 0x0008;
const COPY_SRC = 0x0004;

/**
 * Builds the plan of a recording: one uniform buffer holding every dispatch's block at an aligned offset,
 * a bind group per dispatch (against that buffer), a staging buffer per upload (copied from at the upload's
 * place in the stream; hook uploads are rewritten on every replay, the others hold their recorded bytes).
 */
export function compileRecording(
  device: GPUDevice,
  rec: Recording,
  uniformAlignment: number,
  owned: readonly GPUBuffer[],
): ReplayPlan {
  const cmds = hoistClears(rec.commands);
  let uniformBytes = 0;
  for (const c of cmds) {
    if (c.kind === 'dispatch' && c.uniform) uniformBytes = Math.ceil(uniformBytes / uniformAlignment) * uniformAlignment + Math.max(16, c.uniform.byteLength);
  }
  const mirror = new Uint8Array(Math.max(16, Math.ceil(uniformBytes / 16) * 16));
  const uniformBuffer = uniformBytes > 0 ? device.createBuffer({ size: mirror.byteLength, usage: UNIFORM | COPY_DST, label: `${rec.name}:uniforms` }) : null;
  const made: GPUBuffer[] = uniformBuffer ? [uniformBuffer] : [];
  const kinds: number[] = [];
  const pipelines: (GPUComputePipeline | null)[] = [];
  const groups: (GPUBindGroup | null)[] = [];
  const workgroups: number[] = [];
  const transfers: ([GPUBuffer, number, GPUBuffer | null, number, number] | null)[] = [];
  const patches: { word: number; type: 'u' | 'f'; value: StepValue }[] = [];
  const hookUploads: { dst: GPUBuffer; dstOffset: number; size: number; staging: GPUBuffer }[] = [];
  const external = new Set<GPUBuffer>();
  const ownedSet = new Set(owned);
  const note = (b: GPUBuffer) => {
    if (!ownedSet.has(b)) external.add(b);
  };
  const opNames = new Set<string>();
  let offset = 0;
  let dispatches = 0;
  for (const c of cmds) {
    opNames.add(c.op);
    if (c.kind === 'dispatch') {
      const entries: GPUBindGroupEntry[] = [];
      if (c.uniform) {
        offset = Math.ceil(offset / uniformAlignment) * uniformAlignment;
        mirror.set(c.uniform, offset);
        const size = Math.max(16, Math.ceil(c.uniform.byteLength / 16) * 16);
        entries.push({ binding: 0, resource: { buffer: uniformBuffer!, offset, size } });
        for (const p of c.patches) patches.push({ word: offset / 4 + p.word, type: p.type, value: p.value });
        offset += size;
      }
      for (const s of c.storage) {
        entries.push({ binding: entries.length, resource: { buffer: s.buffer, offset: s.offset, size: s.size } });
        note(s.buffer);
      }
      kinds.push(Kind.Dispatch);
      pipelines.push(c.pipeline);
      groups.push(device.createBindGroup({ layout: c.pipeline.getBindGroupLayout(0), entries, label: `${rec.name}:${c.op}` }));
      workgroups.push(...c.workgroups);
      transfers.push(null);
      dispatches++;
      continue;
    }
    kinds.push(c.kind === 'clear' ? Kind.Clear : Kind.Copy);
    pipelines.push(null);
    groups.push(null);
    workgroups.push(0, 0, 0);
    if (c.kind === 'clear') {
      note(c.buffer);
      transfers.push([c.buffer, c.offset, null, 0, c.size]);
    } else if (c.kind === 'copy') {
      note(c.src);
      note(c.dst);
      transfers.push([c.src, c.srcOffset, c.dst, c.dstOffset, c.size]);
    } else {
      note(c.dst);
      const size = Math.ceil(c.bytes.byteLength / 4) * 4;
      const staging = device.createBuffer({ size, usage: COPY_SRC | COPY_DST, label: `${rec.name}:${c.op}:staging` });
      const padded = new Uint8Array(size);
      padded.set(c.bytes);
      device.queue.writeBuffer(staging, 0, padded);
      made.push(staging);
      if (c.hook) hookUploads.push({ dst: c.dst, dstOffset: c.dstOffset, size, staging });
      transfers.push([staging, 0, c.dst, c.dstOffset, size]);
    }
  }
  return {
    name: rec.name,
    kinds: Uint8Array.from(kinds),
    pipelines,
    groups,
    workgroups: Uint32Array.from(workgroups),
    transfers,
    uniformBuffer,
    mirror,
    patches,
    hooks: [...rec.hooks],
    hookUploads,
    owned,
    made,
    external: [...external],
    dispatches,
    opNames: [...opNames],
  };
}

/** The buffers a command reads or writes. */
function buffersOf(c: Command): GPUBuffer[] {
  switch (c.kind) {
    case 'dispatch':
      return c.storage.map((s) => s.buffer);
    case 'clear':
      return [c.buffer];
    case 'copy':
      return [c.src, c.dst];
    case 'upload':
      return [c.dst];
  }
}

/**
 * The commands with every clear of a buffer that no earlier command touches moved to the front (in their
 * order): the same results, since nothing before it reads or writes that buffer, and the dispatches then run
 * in one compute pass instead of one per stretch between clears (zeroGrad after the augmentation, a
 * gradient cleared before its kernel adds into it).
 */
export function hoistClears(commands: readonly Command[]): Command[] {
  const seen = new Set<GPUBuffer>();
  const front: Command[] = [];
  const rest: Command[] = [];
  for (const c of commands) {
    if (c.kind === 'clear' && !seen.has(c.buffer)) front.push(c);
    else rest.push(c);
    for (const b of buffersOf(c)) seen.add(b);
  }
  return [...front, ...rest];
}

/** Encodes a plan's commands into `encoder` (one compute pass between transfers). */
export function encodePlan(encoder: GPUCommandEncoder, plan: ReplayPlan): void {
  const { kinds, pipelines, groups, workgroups, transfers } = plan;
  let pass: GPUComputePassEncoder | null = null;
  let last: GPUComputePipeline | null = null;
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === Kind.Dispatch) {
      if (!pass) {
        pass = encoder.beginComputePass();
        last = null;
      }
      const p = pipelines[i]!;
      if (p !== last) {
        pass.setPipeline(p);
        last = p;
      }
      pass.setBindGroup(0, groups[i]!);
      pass.dispatchWorkgroups(workgroups[3 * i]!, workgroups[3 * i + 1]!, workgroups[3 * i + 2]!);
      continue;
    }
    if (pass) {
      pass.end();
      pass = null;
    }
    const [a, aOff, b, bOff, size] = transfers[i]!;
    if (kinds[i] === Kind.Clear) encoder.clearBuffer(a, aOff, size);
    else encoder.copyBufferToBuffer(a, aOff, b!, bOff, size);
  }
  if (pass) pass.end();
}

/** Writes the current StepValues into the plan's uniform mirror. */
export function patchUniforms(plan: ReplayPlan, u32: Uint32Array, f32: Float32Array): void {
  for (const p of plan.patches) {
    if (p.type === 'u') u32[p.word] = p.value.value >>> 0;
    else f32[p.word] = p.value.value;
  }
}
