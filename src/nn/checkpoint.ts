/**
 * Checkpoints: a model's state dict (torchvision's names; parameters and float buffers as F32,
 * num_batches_tracked as I64 scalars), optionally an optimizer's state as `optim.<parameter>.<slot>` F32
 * tensors, and metadata in the safetensors header's `__metadata__` string map:
 *   format: 'pt'; byol.optimizer: 'SGD' | 'AdamW' | 'LARS'; byol.optimizer.step; byol.optimizer.hparams
 *   (JSON); byol.generator.<name>: JSON { seed, offset } per Generator; and any caller metadata.
 * A file without optimizer state is a plain state dict that torch loads with load_state_dict(strict=True).
 * Encoding and decoding are browser-safe; file IO lives in checkpoint-node.ts.
 */
import type { Generator } from '../kernels/creation.js';
import { getRuntime } from '../tensor/engine.js';
import { shapeString } from '../tensor/tensor.js';
import { Counter, Module, Parameter } from './module.js';
import type { Optimizer } from './optim.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafeTensor } from './safetensors.js';

/** Prefix of the optimizer-state entries in a checkpoint (`optim.<parameter>.<slot>`). */
export const OPTIM_PREFIX = 'optim.';

/** A checkpoint that does not fit: missing or unknown keys, shape mismatches, another optimizer's state. */
export class CheckpointError extends Error {
  /** Always "CheckpointError". */
  override name = 'CheckpointError';
}

/** The model's state dict read back to the CPU, in torch's order. Reads a flattened model's parameters in one go. */
export async function modelStateDict(model: Module): Promise<[string, SafeTensor][]> {
  const flatData = model._flat ? new Float32Array((await model._flat.params.data()).buffer) : null;
  const out: [string, SafeTensor][] = [];
  for (const { name, value } of model.stateEntries()) {
    if (value instanceof Counter) {
      out.push([name, { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(value.value)) }]);
    } else if (value instanceof Parameter) {
      const seg = flatData ? model._flat!.segments.find((s) => s.param === value) : undefined;
      const data = seg && flatData ? flatData.slice(seg.offset, seg.offset + seg.size) : new Float32Array((await value.value.data()).buffer);
      out.push([name, { dtype: 'F32', shape: [...value.shape], data }]);
    } else {
      out.push([name, { dtype: 'F32', shape: [...value.shape], data: new Float32Array((await value.data()).buffer) }]);
    }
  }
  return out;
}

function asFloat32(name: string, t: SafeTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array || t.data instanceof Int32Array) return Float32Array.from(t.data);
  throw new CheckpointError(`checkpoint: '${name}' is ${t.dtype}; expected a float tensor`);
}

/** Options of {@link loadModelState}. */
export interface LoadStateOptions {
  /** Every model key must be present and no unknown model key may appear (as torch's strict). Default true. */
  strict?: boolean;
}

/** Loads a state dict into a model in place (uploads into the existing tensors, flat views included). */
export function loadModelState(
  model: Module,
  tensors: Map<string, SafeTensor>,
  options: LoadStateOptions = {},
): {
  /** Model keys the file lacks (only without `strict`, which throws instead). */
  missing: string[];
  /** File keys the model lacks, optimizer state aside (only without `strict`). */
  unexpected: string[];
} {
  const strict = options.strict ?? true;
  const entries = model.stateEntries();
  const known = new Set(entries.map((e) => e.name));
  const missing = entries.filter((e) => !tensors.has(e.name)).map((e) => e.name);
  const unexpected = [...tensors.keys()].filter((k) => !k.startsWith(OPTIM_PREFIX) && !known.has(k));
  if (strict && (missing.length || unexpected.length)) {
    const show = (l: string[]) => (l.length > 6 ? `${l.slice(0, 6).join(', ')}, ... (${l.length})` : l.join(', '));
    throw new CheckpointError(
      `checkpoint: the state dict does not match the model` +
        (missing.length ? `; missing keys: ${show(missing)}` : '') +
        (unexpected.length ? `; unexpected keys: ${show(unexpected)}` : '') +
        ' (pass { strict: false } to load what matches)',
    );
  }
  // Check every shape before writing anything, so a bad file leaves the model as it was.
  for (const { name, value } of entries) {
    const t = tensors.get(name);
    if (!t) continue;
    const want = value instanceof Counter ? [] : value instanceof Parameter ? value.shape : value.shape;
    if (value instanceof Counter) {
      if (t.shape.length > 1 || t.data.length !== 1) throw new CheckpointError(`checkpoint: '${name}' must be one integer, got shape ${shapeString(t.shape)}`);
      continue;
    }
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new CheckpointError(`checkpoint: '${name}' has shape ${shapeString(t.shape)} in the file but ${shapeString(want)} in the model`);
    }
    asFloat32(name, t);
  }
  const rt = getRuntime();
  for (const { name, value } of entries) {
    const t = tensors.get(name);
    if (!t) continue;
    if (value instanceof Counter) {
      value.value = Number(t.data[0]);
      continue;
    }
    const dst = value instanceof Parameter ? value.value : value;
    rt.upload(dst.storage.buffer, dst.byteOffset, asFloat32(name, t), 'loadState');
  }
  return { missing, unexpected };
}

/** What {@link encodeCheckpoint} writes. */
export interface CheckpointContents {
  /** The model: its state dict with torchvision's names. */
  model: Module;
  /** The optimizer, whose state is saved under `optim.`. */
  optimizer?: Optimizer | null;
  /** Generators whose state (seed, offset) should be saved, by name. */
  generators?: Record<string, Generator>;
  /** Extra metadata (strings). */
  metadata?: Record<string, string>;
}

/** Encodes a checkpoint (model state dict, optimizer state, metadata) into safetensors bytes. */
export async function encodeCheckpoint(c: CheckpointContents): Promise<Uint8Array> {
  const entries = await modelStateDict(c.model);
  const metadata: Record<string, string> = { format: 'pt', ...(c.metadata ?? {}) };
  if (c.optimizer) {
    for (const s of await c.optimizer.stateTensors()) entries.push([`${OPTIM_PREFIX}${s.name}`, { dtype: 'F32', shape: [...s.shape], data: s.data }]);
    metadata['byol.optimizer'] = c.optimizer.kind;
    metadata['byol.optimizer.step'] = String(c.optimizer.stepCount);
    metadata['byol.optimizer.hparams'] = JSON.stringify(c.optimizer.hyperparameters());
  }
  for (const [name, g] of Object.entries(c.generators ?? {})) metadata[`byol.generator.${name}`] = JSON.stringify(g.state());
  return encodeSafetensors(entries, metadata);
}

/** Where {@link loadCheckpoint} puts what it reads. */
export interface LoadCheckpointOptions extends LoadStateOptions {
  /** The model to load the state dict into (same names and shapes). */
  model: Module;
  /** The optimizer to restore (must be of the saved kind). */
  optimizer?: Optimizer | null;
  /** Generators to restore, by the names they were saved under. */
  generators?: Record<string, Generator>;
}

/**
 * Loads a checkpoint into a model (and optimizer and generators, when given and present in the file).
 * Returns the file's metadata.
 */
export function loadCheckpoint(bytes: Uint8Array, o: LoadCheckpointOptions, what = 'checkpoint'): Record<string, string> {
  let file;
  try {
    file = decodeSafetensors(bytes, what);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
  const { tensors, metadata } = file;
  if (o.optimizer) {
    const kind = metadata['byol.optimizer'];
    if (kind !== o.optimizer.kind) throw new CheckpointError(`${what}: holds ${kind ? `${kind} state` : 'no optimizer state'}, but a ${o.optimizer.kind} optimizer was given`);
  }
  for (const name of Object.keys(o.generators ?? {})) {
    if (!metadata[`byol.generator.${name}`]) throw new CheckpointError(`${what}: no state for generator '${name}'`);
  }
  loadModelState(o.model, tensors, o);
  if (o.optimizer) {
    const step = Number(metadata['byol.optimizer.step'] ?? '0');
    o.optimizer.loadStateTensors((n) => {
      const t = tensors.get(`${OPTIM_PREFIX}${n}`);
      return t ? asFloat32(n, t) : undefined;
    }, step);
  }
  for (const [name, g] of Object.entries(o.generators ?? {})) g.setState(JSON.parse(metadata[`byol.generator.${name}`]));
  return metadata;
}
