/**
 * Gzip decompression with a size bound, over the standard `DecompressionStream` (browsers and Node ≥ 18),
 * so compressed dataset files decode in both environments. Browser-safe.
 */
import { DatasetError, describeError } from './errors.js';

/** True if `bytes` starts with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses a whole gzip stream. Stops with a `DatasetError` naming `file` as soon as the output would
 * exceed `maxBytes` (`limit` says what set it, for the message), so a file cannot make this allocate more
 * than the caller allowed; memory grows only with data actually decompressed.
 */
export async function gunzip(bytes: Uint8Array, file: string, maxBytes: number, limit = 'expected'): Promise<Uint8Array> {
  return inflate(bytes, file, maxBytes, `decompresses to more than the ${maxBytes} bytes ${limit}`);
}

/**
 * The first `length` bytes a gzip stream decompresses to (fewer if it is shorter), decompressing no more
 * than that: for reading a header before deciding how much of the rest to accept.
 */
export async function gunzipHead(bytes: Uint8Array, file: string, length: number): Promise<Uint8Array> {
  return inflate(bytes, file, length, null);
}

/** Inflates up to `maxBytes`: past them, throws `tooLarge`, or (null) returns the first `maxBytes`. */
async function inflate(bytes: Uint8Array, file: string, maxBytes: number, tooLarge: string | null): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (total + value.length > maxBytes) {
          if (tooLarge !== null) throw new DatasetError(tooLarge, { file });
          chunks.push(value.subarray(0, maxBytes - total));
          total = maxBytes;
          break;
        }
        total += value.length;
        chunks.push(value);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`corrupt gzip data (${describeError(err)})`, { file, cause: err });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
