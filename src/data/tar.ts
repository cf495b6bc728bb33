/**
 * A streaming reader for tar archives (ustar, with GNU long names and pax path records), used to unpack
 * the dataset archives as they are decompressed. Pure TypeScript, no I/O of its own.
 */
import { DatasetError } from './errors.js';

const BLOCK = 512;

/** One archive member, announced before its data. */
export interface TarEntry {
  /** Relative path with "/" separators, no "." or ".." components. */
  path: string;
  type: 'file' | 'directory' | 'other';
  /** Bytes of data that follow (0 for directories). */
  size: number;
}

/** Receives the archive's contents, in order. Returned promises are awaited (back-pressure). */
export interface TarSink {
  /** Start of a member; for a file, its data follows through `data`. */
  entry(entry: TarEntry): void | Promise<void>;
  /** Next piece of the current file's data. */
  data(chunk: Uint8Array): void | Promise<void>;
}

function field(header: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && header[end] !== 0) end++;
  return new TextDecoder().decode(header.subarray(offset, end));
}

function numeric(header: Uint8Array, offset: number, length: number, archive: string, what: string): number {
  if ((header[offset]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement in the remaining bytes; only non-negative sizes make sense.
    if ((header[offset]! & 0x40) !== 0) throw new DatasetError(`negative ${what} in a tar header`, { file: archive });
    let value = header[offset]! & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + header[offset + i]!;
    if (!Number.isSafeInteger(value)) throw new DatasetError(`${what} too large in a tar header`, { file: archive });
    return value;
  }
  const text = field(header, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new DatasetError(`${what} field of a tar header is not octal (corrupt or not a tar archive)`, { file: archive });
  return parseInt(text, 8);
}

/** Normalises a member path; rejects absolute paths and ones that climb out of the target folder. */
function safePath(raw: string, archive: string): string {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (raw.startsWith('/') || parts.some((p) => p === '..' || p.includes('\\') || p.includes('\0'))) {
    throw new DatasetError(`unsafe member path "${raw}"`, { file: archive });
  }
  return parts.join('/');
}

/**
 * Parses the records of a pax extended header; returns the "path" value if present. Each record is
 * "LENGTH KEY=VALUE\n", LENGTH counting the record's bytes (UTF-8), so the records are cut on bytes and only
 * then decoded.
 */
function paxPath(body: Uint8Array, archive: string): string | undefined {
  const decoder = new TextDecoder();
  let p = 0;
  let path: string | undefined;
  while (p < body.length) {
    const space = body.indexOf(0x20, p);
    const digits = space > p ? decoder.decode(body.subarray(p, space)) : '';
    const length = /^\d+$/.test(digits) ? Number(digits) : NaN;
    if (!Number.isInteger(length) || length <= space - p || p + length > body.length) {
      throw new DatasetError('malformed pax extended header', { file: archive });
    }
    const record = decoder.decode(body.subarray(space + 1, p + length)).replace(/\n$/, '');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    p += length;
  }
  return path;
}

/** Largest pax or GNU long-name record accepted. */
const MAX_META_BYTES = 1 << 20;

/**
 * Push parser: feed the decompressed archive with `write` (any chunk sizes), then call `end`, which
 * throws `DatasetError` if the archive stopped in the middle of a member.
 */
export class TarReader {
  private pending = new Uint8Array(0);
  /** Data bytes of the current member still to come, and padding after them. */
  private remaining = 0;
  private padding = 0;
  /** Whether the current member's data goes to the sink (files) or is collected (metadata) or dropped. */
  private mode: 'sink' | 'meta' | 'skip' = 'skip';
  private meta: Uint8Array[] = [];
  private metaKind: 'pax' | 'longname' | null = null;
  private nextPath: string | undefined;
  private finished = false;

  constructor(private readonly sink: TarSink, private readonly archive: string) {}

  async write(chunk: Uint8Array): Promise<void> {
    let p = 0;
    while (p < chunk.length) {
      if (this.finished) return;
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - p);
        const piece = chunk.subarray(p, p + n);
        if (this.mode === 'sink') await this.sink.data(piece);
        else if (this.mode === 'meta') this.meta.push(piece.slice());
        this.remaining -= n;
        p += n;
        if (this.remaining === 0 && this.mode === 'meta') this.finishMeta();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - p);
        this.padding -= n;
        p += n;
        continue;
      }
      const need = BLOCK - this.pending.length;
      const take = Math.min(need, chunk.length - p);
      const header = new Uint8Array(this.pending.length + take);
      header.set(this.pending);
      header.set(chunk.subarray(p, p + take), this.pending.length);
      p += take;
      if (header.length < BLOCK) {
        this.pending = header;
        continue;
      }
      this.pending = new Uint8Array(0);
      await this.header(header);
    }
  }

  /** Checks that the archive ended on a member boundary. */
  end(): void {
    if (this.remaining > 0 || this.pending.length > 0) {
      throw new DatasetError('archive is truncated (ends inside a member)', { file: this.archive });
    }
  }

  private async header(block: Uint8Array): Promise<void> {
    if (block.every((b) => b === 0)) {
      // End-of-archive marker; anything after it is ignored.
      this.finished = true;
      return;
    }
    const stored = numeric(block, 148, 8, this.archive, 'checksum');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (sum !== stored) {
      throw new DatasetError(`tar header checksum is ${stored}, computed ${sum} (corrupt or not a tar archive)`, { file: this.archive });
    }
    const size = numeric(block, 124, 12, this.archive, 'size');
    const typeflag = String.fromCharCode(block[156]!);
    const magic = field(block, 257, 6);
    let name = field(block, 0, 100);
    if (magic === 'ustar') {
      const prefix = field(block, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    if (this.nextPath !== undefined) {
      name = this.nextPath;
      this.nextPath = undefined;
    }
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;

    if (typeflag === 'x' || typeflag === 'L') {
      if (size > MAX_META_BYTES) throw new DatasetError(`extended header of ${size} bytes is too large`, { file: this.archive });
      this.mode = 'meta';
      this.metaKind = typeflag === 'x' ? 'pax' : 'longname';
      this.meta = [];
      if (size === 0) this.finishMeta();
      return;
    }
    if (typeflag === 'g' || typeflag === 'K') {
      this.mode = 'skip';
      return;
    }
    const path = safePath(name, this.archive);
    const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    if (type === 'file' && path === '') throw new DatasetError(`file member with empty name "${name}"`, { file: this.archive });
    if (type === 'directory') {
      this.remaining = 0;
      this.padding = 0;
    }
    this.mode = type === 'file' ? 'sink' : 'skip';
    await this.sink.entry({ path, type, size: type === 'directory' ? 0 : size });
  }

  private finishMeta(): void {
    const total = this.meta.reduce((n, c) => n + c.length, 0);
    const body = new Uint8Array(total);
    let offset = 0;
    for (const c of this.meta) {
      body.set(c, offset);
      offset += c.length;
    }
    this.meta = [];
    if (this.metaKind === 'pax') {
      const path = paxPath(body, this.archive);
      if (path !== undefined) this.nextPath = path;
    } else {
      const end = body.indexOf(0);
      this.nextPath = new TextDecoder().decode(end < 0 ? body : body.subarray(0, end));
    }
    this.mode = 'skip';
    this.metaKind = null;
  }
}
