/**
 * The safetensors format, encoded and decoded without Node APIs (browser-safe):
 *   8 bytes: N, the header's length, unsigned little-endian 64-bit
 *   N bytes: a JSON object { "__metadata__": { string: string }, name: { dtype, shape, data_offsets: [begin, end] }, ... }
 *            padded with spaces to a multiple of 8 bytes
 *   then the tensors' raw little-endian bytes; data_offsets are relative to the start of this data section,
 *   contiguous and in header order.
 * Written here: F32 and I64. Read: F32, I64, F64, I32 (F64 / I32 converted on request by the checkpoint code).
 */

export type SafeDType = 'F32' | 'I64' | 'F64' | 'I32';

const DTYPE_BYTES: Record<SafeDType, number> = { F32: 4, I64: 8, F64: 8, I32: 4 };

/** One tensor of a safetensors file, on the CPU. */
export interface SafeTensor {
  /** The element type. */
  dtype: SafeDType;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** F32: Float32Array; I64: BigInt64Array; F64: Float64Array; I32: Int32Array. */
  data: Float32Array | BigInt64Array | Float64Array | Int32Array;
}

/** A decoded safetensors file. */
export interface SafetensorsFile {
  /** In the file's order. */
  tensors: Map<string, SafeTensor>;
  /** The header's `__metadata__` strings. */
  metadata: Record<string, string>;
}

/** A malformed safetensors file: the message names the problem (header, offsets, sizes). */
export class SafetensorsError extends Error {
  /** Always "SafetensorsError". */
  override name = 'SafetensorsError';
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dataMatches(t: SafeTensor): boolean {
  switch (t.dtype) {
    case 'F32':
      return t.data instanceof Float32Array;
    case 'I64':
      return t.data instanceof BigInt64Array;
    case 'F64':
      return t.data instanceof Float64Array;
    case 'I32':
      return t.data instanceof Int32Array;
  }
}

/** Largest header read, as the format's specification bounds it (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes tensors (in the given order) and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: Iterable<[string, SafeTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  if (!littleEndian) throw new SafetensorsError('encodeSafetensors: big-endian hosts are not supported');
  const header: Record<string, unknown> = {};
  const meta = Object.entries(metadata);
  if (meta.length) {
    for (const [k, v] of meta) if (typeof v !== 'string') throw new SafetensorsError(`encodeSafetensors: metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
  const list = [...tensors];
  let at = 0;
  for (const [name, t] of list) {
    if (name === '__metadata__' || name in header) throw new SafetensorsError(`encodeSafetensors: duplicate or reserved tensor name '${name}'`);
    if (!dataMatches(t)) throw new SafetensorsError(`encodeSafetensors: '${name}' has dtype ${t.dtype} but data of type ${t.data.constructor.name}`);
    if (elementCount(t.shape) !== t.data.length) {
      throw new SafetensorsError(`encodeSafetensors: '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
    const bytes = t.data.length * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let pos = 8 + padded;
  for (const [, t] of list) {
    const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/** Decodes safetensors bytes; validates the header, offsets and sizes, and names the problem when they are wrong. */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors'): SafetensorsFile {
  if (!littleEndian) throw new SafetensorsError('decodeSafetensors: big-endian hosts are not supported');
  if (bytes.byteLength < 8) throw new SafetensorsError(`${what}: ${bytes.byteLength} bytes is too short for a safetensors file (8-byte header length missing)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) throw new SafetensorsError(`${what}: header length ${n} exceeds the file (${bytes.byteLength} bytes); not a safetensors file or truncated`);
  const headerLen = Number(n);
  if (headerLen > MAX_HEADER_BYTES) throw new SafetensorsError(`${what}: header length ${headerLen} is over the ${MAX_HEADER_BYTES}-byte limit of safetensors headers; not a safetensors file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(`${what}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError(`${what}: the header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  // Every entry is checked, and the entries together must tile the data section exactly, before any tensor
  // is copied: a header whose entries overlap the same bytes would otherwise cost a copy per entry.
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`${what}: __metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype as SafeDType;
    if (!(typeof dtype === 'string' && Object.hasOwn(DTYPE_BYTES, dtype))) {
      throw new SafetensorsError(`${what}: tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    const shape = e.shape as number[];
    const offs = e.data_offsets as number[];
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new SafetensorsError(`${what}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(Number.isInteger) || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen) {
      throw new SafetensorsError(`${what}: tensor '${name}' has data_offsets ${JSON.stringify(e.data_offsets)} outside the ${dataLen}-byte data section (truncated file?)`);
    }
    const count = elementCount(shape);
    if (offs[1] - offs[0] !== count * DTYPE_BYTES[dtype]) {
      throw new SafetensorsError(`${what}: tensor '${name}' ${dtype} [${shape.join(', ')}] needs ${count * DTYPE_BYTES[dtype]} bytes but data_offsets span ${offs[1] - offs[0]}`);
    }
    entries.push({ name, dtype, shape, begin: offs[0], end: offs[1] });
  }
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let end = 0;
  for (const { begin, end: e, name } of spans) {
    if (begin !== end) throw new SafetensorsError(`${what}: tensor '${name}' starts at byte ${begin} but the previous one ends at ${end}: overlapping or gapped data`);
    end = e;
  }
  if (end !== dataLen) throw new SafetensorsError(`${what}: the tensors cover ${end} bytes but the data section has ${dataLen}`);
  const tensors = new Map<string, SafeTensor>();
  for (const { name, dtype, shape, begin, end: e } of entries) {
    // Copy: the data section need not be aligned for a typed-array view.
    const raw = bytes.slice(dataStart + begin, dataStart + e);
    const data =
      dtype === 'F32'
        ? new Float32Array(raw.buffer)
        : dtype === 'I64'
          ? new BigInt64Array(raw.buffer)
          : dtype === 'F64'
            ? new Float64Array(raw.buffer)
            : new Int32Array(raw.buffer);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}
