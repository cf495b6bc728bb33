/**
 * Random-access byte sources: the one abstraction the dataset readers read files through, so that the
 * same readers serve Node (files on disk, see node-files.ts) and browsers (File objects, ArrayBuffers).
 * This module must stay free of Node imports.
 */
import { DatasetError } from './errors.js';

/** A read-only, random-access sequence of bytes with a name used in error messages. */
export interface ByteSource {
  /** Path or file name, used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Bytes [offset, offset + length). May return fewer bytes only at the end of the source; use
   * {@link readExactly} where a short read is an error.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases any handle the source holds; further reads fail. */
  close?(): Promise<void>;
}

/** A source over bytes already in memory. */
export class MemoryByteSource implements ByteSource {
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array | ArrayBuffer, readonly name: string) {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  }

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, Math.min(offset + length, this.bytes.length));
  }
}

/** A source over a Blob or a browser `File` (read with `Blob.slice`, so large files are never loaded whole). */
export class BlobByteSource implements ByteSource {
  readonly name: string;

  constructor(private readonly blob: Blob, name?: string) {
    this.name = name ?? ('name' in blob && typeof blob.name === 'string' ? blob.name : 'blob');
  }

  async size(): Promise<number> {
    return this.blob.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
}

/** Reads exactly `length` bytes at `offset`, or throws a `DatasetError` naming the source if it is too short. */
export async function readExactly(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new DatasetError(
      `truncated: needed bytes ${offset}..${offset + length} but only ${offset + bytes.length} are there`,
      { file: source.name },
    );
  }
  return bytes;
}

/** Reads a whole source into memory. */
export async function readAll(source: ByteSource): Promise<Uint8Array> {
  return readExactly(source, 0, await source.size());
}
