/**
 * Fetching the datasets' official releases into the data folder, for Node entry points.
 *
 * Nothing is left half-written: each file is downloaded to DIR/NAME.part (resumed with an HTTP Range
 * request when a .part exists), checked against its published MD5, renamed to DIR/NAME, then unpacked
 * into a temporary folder that is renamed into place only once complete and readable.
 *
 * What a server can make it do is bounded: https only (plain http only for a mirror on this machine), no
 * more bytes than the published size, redirects only within the host asked; and nothing it did not write is
 * deleted (a folder in the way is reported, not replaced).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, lstat, mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DatasetError, describeError } from './errors.js';
import { DATASET_FOLDERS, type OpenDatasetOptions, REQUIRED_FILES, defaultDataDir, locateDataset, openDatasetDir } from './open.js';
import { TarReader } from './tar.js';

/** Datasets `prepareDataset` can download. */
export const DOWNLOADABLE_DATASETS = ['fashion-mnist', 'stl10', 'cifar10'] as const;
/** A dataset `prepareDataset` can download. */
export type DownloadableDataset = (typeof DOWNLOADABLE_DATASETS)[number];

/** One file of an official release. */
export interface RemoteFile {
  /** File name in the release (appended to the base URL). */
  name: string;
  /** MD5 (hex) of the file, as published. */
  md5: string;
  /** Size of the file in bytes, as published: no more is accepted from a server. */
  size: number;
}

/** Where a dataset's release lives and what it consists of. */
export interface RemoteRelease {
  /** Canonical base URL; each file is fetched from base + name. */
  baseUrl: string;
  /** The release's files. */
  files: readonly RemoteFile[];
  /** A .tar.gz whose top folder is the dataset folder (true), or the dataset's files themselves (false). */
  archive: boolean;
}

/** The official releases: where each downloadable dataset is fetched from, and the published checksums. */
export const RELEASES: Record<DownloadableDataset, RemoteRelease> = {
  stl10: {
    baseUrl: 'https://ai.stanford.edu/~acoates/stl10/',
    files: [{ name: 'stl10_binary.tar.gz', md5: '91f7769df0f17e558f3565bffb0c7dfb', size: 2_640_397_119 }],
    archive: true,
  },
  cifar10: {
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    files: [{ name: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', size: 170_052_171 }],
    archive: true,
  },
  'fashion-mnist': {
    // The release's own repository (its S3 website answers over http only).
    baseUrl: 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    files: [
      { name: 'train-images-idx3-ubyte.gz', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d', size: 26_421_880 },
      { name: 'train-labels-idx1-ubyte.gz', md5: '25c81989df183df01b3e8a0aad5dffbe', size: 29_515 },
      { name: 't10k-images-idx3-ubyte.gz', md5: 'bef4ecab320f06d8554ea6380940ec79', size: 4_422_102 },
      { name: 't10k-labels-idx1-ubyte.gz', md5: 'bb300cfdad3c16e7a12a480ee83cd310', size: 5_148 },
    ],
    archive: false,
  },
};

/** Progress of one file's download. */
export interface DownloadProgress {
  /** The file being downloaded. */
  file: string;
  /** Bytes of the file on disk so far (including a resumed part). */
  received: number;
  /** Size of the whole file, when the server tells. */
  total: number | null;
  /** Average speed of the current request, bytes per second. */
  bytesPerSecond: number;
}

/** Options of one file's download. */
export interface DownloadOptions {
  /** Expected MD5 (hex) of the complete file. */
  md5: string;
  /** Published size of the complete file: a server sending more is stopped there. */
  size: number;
  /** Called as bytes arrive. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Requests tried before giving up when a connection breaks (default 3); each resumes the last. */
  attempts?: number;
  /** Pause before retry k is k × this many milliseconds (default 1000). */
  retryDelayMs?: number;
}

/** Options of {@link prepareDataset}. */
export interface PrepareOptions extends OpenDatasetOptions {
  /** Base URL replacing every release's canonical one; default `$BYOL_DATA_MIRROR`. */
  mirror?: string;
  /** Replaces the built-in description in {@link RELEASES} (a repackaged release, test fixtures). */
  release?: RemoteRelease;
  /** Called as bytes arrive, per file. */
  onProgress?: (progress: DownloadProgress) => void;
  /** One-line status messages (verifying, extracting, …). */
  log?: (line: string) => void;
  /** As in {@link DownloadOptions}. */
  attempts?: number;
  /** As in {@link DownloadOptions}. */
  retryDelayMs?: number;
}

/** Result of {@link prepareDataset}. */
export interface PreparedDataset {
  /** The dataset. */
  name: DownloadableDataset;
  /** Folder holding the dataset. */
  dir: string;
  /** "present": already in the data folder; "system": a system package's copy; "downloaded": just fetched. */
  origin: 'present' | 'system' | 'downloaded';
}

/** MD5 (hex) of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

/** Hosts plain http is allowed to: a mirror on this machine. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** What is wrong with downloading from `url` (not https, unless the host is this machine), or null. */
export function downloadUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.protocol === 'https:') return null;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return null;
  return `"${url}" is not an https URL; downloads use https only (plain http only from 127.0.0.1, localhost or [::1])`;
}

/** Redirects followed per request, each within the host asked. */
const MAX_REDIRECTS = 5;

/** Fetches `url`, following redirects only to the same host (and scheme); a redirect elsewhere is a `DatasetError`. */
async function fetchSameHost(url: string, headers: Record<string, string>): Promise<Response> {
  let at = new URL(url);
  for (let hop = 0; ; hop++) {
    const response = await fetch(at, { headers, redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return response;
    await response.body?.cancel();
    const next = new URL(location, at);
    if (next.host !== at.host || next.protocol !== at.protocol) {
      throw new DatasetError(`the server redirects to ${next.origin}, another host than ${at.origin}; not followed (give that host as the mirror if you trust it)`, { file: url });
    }
    if (hop === MAX_REDIRECTS) throw new DatasetError(`more than ${MAX_REDIRECTS} redirects`, { file: url });
    at = next;
  }
}

/** Outcome of one HTTP request of a download. */
type Attempt = { complete: true } | { complete: false; error: string };

async function attemptDownload(url: string, part: string, size: number, onProgress: DownloadOptions['onProgress']): Promise<Attempt> {
  let have = (await fileSize(part)) ?? 0;
  if (have > size) {
    // Not a part of this file: start clean.
    await rm(part, { force: true });
    have = 0;
  }
  let response: Response;
  try {
    response = await fetchSameHost(url, have > 0 ? { Range: `bytes=${have}-` } : {});
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    return { complete: false, error: describeError((err as Error).cause ?? err) };
  }
  // 416 on a resume: the part already holds the whole file; the checksum decides.
  if (response.status === 416 && have > 0) return { complete: true };
  let start: number;
  let total: number | null;
  const length = response.headers.get('content-length');
  if (response.status === 206 && have > 0) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
    if (range === null || Number(range[1]) !== have) {
      await response.body?.cancel();
      throw new DatasetError(`server answered the resume request with range "${response.headers.get('content-range')}", expected bytes ${have}-`, { file: url });
    }
    start = have;
    total = range[2] === '*' ? null : Number(range[2]);
  } else if (response.status === 200) {
    // No resume (first request, or the server ignored Range): start clean.
    start = 0;
    total = length === null ? null : Number(length);
  } else {
    await response.body?.cancel();
    throw new DatasetError(`HTTP ${response.status} ${response.statusText}`, { file: url });
  }
  if (total !== null && total !== size) {
    await response.body?.cancel();
    throw new DatasetError(`the server announces ${total} bytes, but the published size is ${size}; not downloaded`, { file: url });
  }

  const handle = await open(part, start === 0 ? 'w' : 'a');
  let received = start;
  const began = Date.now();
  const report = (): void =>
    onProgress?.({ file: url, received, total, bytesPerSecond: ((received - start) * 1000) / Math.max(1, Date.now() - began) });
  let oversize = false;
  try {
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (received + value.length > size) {
        oversize = true;
        await reader.cancel().catch(() => undefined);
        break;
      }
      await handle.write(value);
      received += value.length;
      report();
    }
  } catch (err) {
    return { complete: false, error: describeError((err as Error).cause ?? err) };
  } finally {
    await handle.close();
  }
  if (oversize) {
    await rm(part, { force: true });
    throw new DatasetError(`the server sent more than the published size of ${size} bytes; stopped there and deleted the download`, { file: url });
  }
  report();
  if (total !== null && received !== total) return { complete: false, error: `connection closed after ${received} of ${total} bytes` };
  return { complete: true };
}

/**
 * Downloads `url` to `dest` through `dest.part`, resuming a part left by an earlier run, retrying broken
 * connections, and checking the MD5. On a checksum mismatch the part is deleted and a `DatasetError` thrown;
 * on a broken connection after the last attempt the part is kept for the next run to resume.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions): Promise<void> {
  const problem = downloadUrlProblem(url);
  if (problem !== null) throw new DatasetError(problem, { file: url });
  const part = `${dest}.part`;
  const attempts = options.attempts ?? 3;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, (attempt - 1) * (options.retryDelayMs ?? 1000)));
    const result = await attemptDownload(url, part, options.size, options.onProgress);
    if (result.complete) {
      const actual = await md5File(part);
      if (actual !== options.md5) {
        await rm(part, { force: true });
        throw new DatasetError(`checksum mismatch: MD5 is ${actual}, expected ${options.md5} (download deleted)`, { file: url });
      }
      await rename(part, dest);
      return;
    }
    lastError = result.error;
  }
  throw new DatasetError(`download failed after ${attempts} attempts (${lastError}); run again to resume`, { file: url });
}

/** Unpacks a .tar.gz into `destDir` (which must exist). Corrupt or truncated archives are a `DatasetError`. */
export async function extractTarGz(archive: string, destDir: string): Promise<void> {
  let current: FileHandle | null = null;
  const closeCurrent = async (): Promise<void> => {
    const handle = current;
    current = null;
    await handle?.close();
  };
  const tar = new TarReader(
    {
      async entry(entry) {
        await closeCurrent();
        const target = join(destDir, entry.path);
        if (entry.type === 'directory') {
          await mkdir(target, { recursive: true });
        } else if (entry.type === 'file') {
          await mkdir(dirname(target), { recursive: true });
          current = await open(target, 'w');
        }
      },
      async data(chunk) {
        await current!.write(chunk);
      },
    },
    archive,
  );
  try {
    for await (const chunk of createReadStream(archive).pipe(createGunzip())) await tar.write(chunk as Buffer);
    tar.end();
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`cannot extract (${describeError(err)})`, { file: archive, cause: err });
  } finally {
    await closeCurrent();
  }
}

async function verifies(name: DownloadableDataset, dir: string): Promise<void> {
  const opened = await openDatasetDir(name, dir);
  await opened.close();
}

/**
 * Makes a dataset available: uses the data folder's copy or a system package's if present and readable,
 * otherwise downloads, verifies and unpacks the official release into the data folder.
 */
export async function prepareDataset(name: DownloadableDataset, options: PrepareOptions = {}): Promise<PreparedDataset> {
  const dataDir = options.dataDir ?? defaultDataDir();
  const log = options.log ?? (() => undefined);
  const target = join(dataDir, DATASET_FOLDERS[name]);

  const found = await locateDataset(name, options);
  if (found !== null) {
    log(`checking ${found}`);
    await verifies(name, found);
    return { name, dir: found, origin: found === target ? 'present' : 'system' };
  }

  // A folder in the way failed the lookup above: it is someone's, incomplete. Reported, never replaced.
  if (await exists(target)) {
    const missing = [];
    for (const file of REQUIRED_FILES[name]) {
      if ((await fileSize(join(target, file))) === null && (await fileSize(join(target, `${file}.gz`))) === null) missing.push(file);
    }
    throw new DatasetError(
      `holds an incomplete copy of ${name}${missing.length ? ` (missing ${missing.join(', ')})` : ''}; move it away or delete it, then run again to download the release`,
      { file: target },
    );
  }
  const release = options.release ?? RELEASES[name];
  const mirror = options.mirror ?? process.env.BYOL_DATA_MIRROR;
  const base = mirror ? `${mirror.replace(/\/+$/, '')}/` : release.baseUrl;
  await mkdir(dataDir, { recursive: true });
  for (const file of release.files) {
    const dest = join(dataDir, file.name);
    if ((await fileSize(dest)) !== null) {
      log(`checking ${dest}`);
      if ((await md5File(dest)) === file.md5) continue;
      await rm(dest);
    }
    await downloadFile(base + file.name, dest, {
      md5: file.md5,
      size: file.size,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    });
  }

  const staging = await mkdtemp(join(dataDir, `.${DATASET_FOLDERS[name]}.tmp-`));
  try {
    const unpacked = join(staging, DATASET_FOLDERS[name]);
    if (release.archive) {
      log(`extracting ${release.files[0]!.name}`);
      await extractTarGz(join(dataDir, release.files[0]!.name), staging);
    } else {
      await mkdir(unpacked);
      for (const file of release.files) await rename(join(dataDir, file.name), join(unpacked, file.name));
    }
    const missing = [];
    for (const file of REQUIRED_FILES[name]) {
      if ((await fileSize(join(unpacked, file))) === null && (await fileSize(join(unpacked, `${file}.gz`))) === null) missing.push(file);
    }
    if (missing.length > 0) throw new DatasetError(`release lacks ${missing.join(', ')} under ${DATASET_FOLDERS[name]}/`, { file: base + release.files[0]!.name });
    log(`checking ${unpacked}`);
    await verifies(name, unpacked);
    if (await exists(target)) throw new DatasetError('appeared while the release was being unpacked; nothing replaced', { file: target });
    await rename(unpacked, target);
    if (release.archive) await rm(join(dataDir, release.files[0]!.name), { force: true });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { name, dir: target, origin: 'downloaded' };
}
