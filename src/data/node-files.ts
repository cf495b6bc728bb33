/**
 * Byte sources over files on disk, and image-folder listing, for Node entry points only (browsers use
 * byte-source.ts's Blob and memory sources).
 */
import type { Dirent } from 'node:fs';
import { type FileHandle, open, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteSource } from './byte-source.js';
import { DatasetError } from './errors.js';
import type { ImageFile } from './image-folder.js';

/** A file kept open for random access (STL-10's large X files). Call `close` when done. */
export class FileByteSource implements ByteSource {
  private constructor(
    readonly name: string,
    private readonly handle: FileHandle,
    private readonly bytes: number,
  ) {}

  /** Opens `path`; a missing or unreadable file is a `DatasetError`. */
  static async open(path: string): Promise<FileByteSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new DatasetError(`cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file: path, cause: err });
    }
    const { size } = await handle.stat();
    return new FileByteSource(path, handle, size);
  }

  async size(): Promise<number> {
    return this.bytes;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.bytes - offset));
    const buffer = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.handle.read(buffer, done, n - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buffer.subarray(0, done);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** A file opened anew for each read: for many small files read once (folder images). */
export class PathByteSource implements ByteSource {
  /** `name` defaults to the path. */
  constructor(private readonly path: string, readonly name: string = path) {}

  async size(): Promise<number> {
    try {
      return (await stat(this.path)).size;
    } catch (err) {
      throw new DatasetError(`cannot stat (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file: this.name, cause: err });
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const source = await FileByteSource.open(this.path);
    try {
      return await source.read(offset, length);
    } finally {
      await source.close();
    }
  }
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;

/**
 * What a folder entry is, following symbolic links (splits are often built as folders of links): 'file',
 * 'dir' or 'other'. A link whose target is missing is a `DatasetError` naming the link.
 */
async function entryKind(dir: string, entry: Dirent): Promise<'file' | 'dir' | 'other'> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (!entry.isSymbolicLink()) return 'other';
  const path = join(dir, entry.name);
  try {
    const target = await stat(path);
    return target.isFile() ? 'file' : target.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    let to = '?';
    try {
      to = await readlink(path);
    } catch {
      // keep '?'
    }
    throw new DatasetError(`a symbolic link to ${to}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      file: path,
      cause: err,
    });
  }
}

async function entriesOfKind(dir: string, entries: Dirent[], kind: 'file' | 'dir'): Promise<string[]> {
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (kind === 'file' && !IMAGE_EXTENSIONS.test(e.name)) continue;
    if ((await entryKind(dir, e)) === kind) names.push(e.name);
  }
  return names.sort();
}

/**
 * Lists an image folder: one sub-folder per class (sorted by name), the PNG and JPEG files in each
 * (sorted by name). Symbolic links to class folders and to images are followed. Hidden entries and other
 * files are ignored; a class folder without images is an error (it would otherwise be dropped, and the run
 * would train on one class fewer).
 */
export async function listImageFolder(root: string): Promise<ImageFile[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new DatasetError(`cannot read folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file: root, cause: err });
  }
  const classes = await entriesOfKind(root, entries, 'dir');
  if (classes.length === 0) throw new DatasetError('no class sub-folders found', { file: root });
  const files: ImageFile[] = [];
  for (const className of classes) {
    const dir = join(root, className);
    const names = await entriesOfKind(dir, await readdir(dir, { withFileTypes: true }), 'file');
    if (names.length === 0) {
      throw new DatasetError('this class folder holds no PNG or JPEG images; add its images, or remove the folder if it is not a class', { file: dir });
    }
    for (const name of names) files.push({ className, source: new PathByteSource(join(dir, name)) });
  }
  return files;
}
