/** Checkpoint files in Node: atomic writes (temporary file in the same folder, fsync, rename) and reads. */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { encodeCheckpoint, loadCheckpoint, type CheckpointContents, type LoadCheckpointOptions } from './checkpoint.js';

/**
 * Writes bytes to `path` atomically: into a temporary file in the same folder, fsync'd, then renamed over
 * `path` (and the folder fsync'd where the platform allows), so a crash leaves the old file or the new one,
 * never a torn one.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  removeStaleTemporaries(dir, basename(path));
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w', 0o644);
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

/** Deletes temporary files of `name` left by writers that were killed (their process is gone). */
function removeStaleTemporaries(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `.${name}.tmp-`;
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    try {
      unlinkSync(join(dir, e));
    } catch {
      // another process removed it
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Encodes a checkpoint and writes it atomically. */
export async function saveCheckpointFile(path: string, contents: CheckpointContents): Promise<void> {
  writeFileAtomic(path, await encodeCheckpoint(contents));
}

/** The bytes of a checkpoint file. */
export function readCheckpointFile(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads and loads a checkpoint file; returns its metadata. */
export function loadCheckpointFile(path: string, options: LoadCheckpointOptions): Record<string, string> {
  return loadCheckpoint(readCheckpointFile(path), options, path);
}
