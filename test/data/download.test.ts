import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES } from '../../src/data/cifar10.js';
import { RELEASES, type RemoteRelease, downloadFile, extractTarGz, prepareDataset } from '../../src/data/download.js';
import { DatasetError } from '../../src/data/errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../../src/data/idx.js';
import { locateDataset, openDataset } from '../../src/data/open.js';
import { type TarEntry, TarReader } from '../../src/data/tar.js';
import { FileServer, cifarFile, gzip, idxFile, md5, noise, tarFile, tempDir } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let servers: FileServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

async function serve(files: Record<string, Uint8Array>, options = {}): Promise<FileServer> {
  const server = new FileServer(new Map(Object.entries(files)), options);
  servers.push(server);
  await server.start();
  return server;
}

let counter = 0;
function freshDir(): string {
  const dir = join(tmp.dir, `d${counter++}`);
  mkdirSync(dir);
  return dir;
}

/** A miniature cifar-10-binary.tar.gz: 2 records per training batch, 3 test records. */
function miniCifarArchive(): { archive: Uint8Array; release: RemoteRelease } {
  const entries = [{ name: 'cifar-10-batches-bin/' }];
  CIFAR10_TRAIN_FILES.forEach((f, k) => entries.push({ name: `cifar-10-batches-bin/${f}`, data: cifarFile([k, k + 1], noise(2 * 3072, k)) } as never));
  entries.push({ name: `cifar-10-batches-bin/${CIFAR10_TEST_FILE}`, data: cifarFile([9, 8, 7], noise(3 * 3072, 99)) } as never);
  const archive = gzip(tarFile(entries));
  return { archive, release: { baseUrl: 'unused', archive: true, files: [{ name: 'cifar-10-binary.tar.gz', md5: md5(archive), size: archive.length }] } };
}

/** The four Fashion-MNIST files in miniature (gzipped IDX). */
function miniFashionFiles(): Record<string, Uint8Array> {
  const split = (n: number, seed: number): [Uint8Array, Uint8Array] => [
    gzip(idxFile(IDX_IMAGES_MAGIC, [n, 28, 28], noise(n * 784, seed))),
    gzip(idxFile(IDX_LABELS_MAGIC, [n], Uint8Array.from({ length: n }, (_, i) => i % 10))),
  ];
  const [trainImages, trainLabels] = split(30, 1);
  const [testImages, testLabels] = split(10, 2);
  return {
    'train-images-idx3-ubyte.gz': trainImages,
    'train-labels-idx1-ubyte.gz': trainLabels,
    't10k-images-idx3-ubyte.gz': testImages,
    't10k-labels-idx1-ubyte.gz': testLabels,
  };
}

function fashionRelease(files: Record<string, Uint8Array>): RemoteRelease {
  return { baseUrl: 'unused', archive: false, files: Object.entries(files).map(([name, bytes]) => ({ name, md5: md5(bytes), size: bytes.length })) };
}

describe('tar reader', () => {
  async function entriesOf(archive: Uint8Array, chunk: number): Promise<Array<TarEntry & { bytes: number[] }>> {
    const out: Array<TarEntry & { bytes: number[] }> = [];
    const reader = new TarReader({ entry: (e) => void out.push({ ...e, bytes: [] }), data: (c) => void out.at(-1)!.bytes.push(...c) }, 'test.tar');
    for (let p = 0; p < archive.length; p += chunk) await reader.write(archive.subarray(p, p + chunk));
    reader.end();
    return out;
  }

  it('reads files, directories and long (pax) names in any chunking', async () => {
    const long = `dir/${'x'.repeat(150)}.bin`;
    const archive = tarFile([{ name: 'dir/' }, { name: 'dir/a.txt', data: Uint8Array.from([1, 2, 3]) }, { name: long, data: noise(1000, 1) }, { name: 'empty' , data: new Uint8Array(0) }]);
    for (const chunk of [1, 7, 512, 100000]) {
      const entries = await entriesOf(archive, chunk);
      expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([['dir', 'directory', 0], ['dir/a.txt', 'file', 3], [long, 'file', 1000], ['empty', 'file', 0]]);
      expect(entries[1]!.bytes).toEqual([1, 2, 3]);
      expect(entries[2]!.bytes).toEqual(Array.from(noise(1000, 1)));
    }
  });

  it('measures pax records in bytes: long names with accented letters', async () => {
    const long = `données/${'é'.repeat(60)}/${'ü'.repeat(40)}.bin`;
    const entries = await entriesOf(tarFile([{ name: long, data: noise(10, 3) }]), 512);
    expect(entries.map((e) => [e.path, e.size])).toEqual([[long, 10]]);
  });

  it('rejects truncated archives, bad checksums and unsafe paths', async () => {
    const archive = tarFile([{ name: 'a', data: noise(2000, 2) }]);
    await expect(entriesOf(archive.subarray(0, 1500), 512)).rejects.toThrow(/truncated/);
    const corrupt = archive.slice();
    corrupt[10] = 0x41;
    await expect(entriesOf(corrupt, 512)).rejects.toThrow(/checksum/);
    await expect(entriesOf(tarFile([{ name: '../evil', data: new Uint8Array(1) }]), 512)).rejects.toThrow(/unsafe/);
    await expect(entriesOf(tarFile([{ name: '/etc/evil', data: new Uint8Array(1) }]), 512)).rejects.toThrow(DatasetError);
  });
});

describe('downloadFile', () => {
  const body = noise(200_000, 5);

  it('resumes an interrupted download with a Range request', async () => {
    const server = await serve({ 'f.bin': body }, { cutFirstAt: 70_000 });
    const dir = freshDir();
    const dest = join(dir, 'f.bin');
    // One attempt: the broken connection leaves the part for the next run.
    await expect(downloadFile(`${server.url}/f.bin`, dest, { md5: md5(body), size: body.length, attempts: 1 })).rejects.toThrow(/run again to resume/);
    expect(statSync(`${dest}.part`).size).toBe(70_000);
    expect(existsSync(dest)).toBe(false);
    const progress: number[] = [];
    await downloadFile(`${server.url}/f.bin`, dest, { md5: md5(body), size: body.length, onProgress: (p) => progress.push(p.received) });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, 'bytes=70000-']);
    expect(new Uint8Array(readFileSync(dest))).toEqual(body);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(progress.at(-1)).toBe(body.length);
  });

  it('retries within one call after a broken connection', async () => {
    const server = await serve({ 'f.bin': body }, { cutFirstAt: 10_000 });
    const dest = join(freshDir(), 'f.bin');
    await downloadFile(`${server.url}/f.bin`, dest, { md5: md5(body), size: body.length, retryDelayMs: 10 });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, 'bytes=10000-']);
    expect(new Uint8Array(readFileSync(dest))).toEqual(body);
  });

  it('starts clean when the server ignores Range', async () => {
    const server = await serve({ 'f.bin': body }, { ignoreRange: true });
    const dest = join(freshDir(), 'f.bin');
    writeFileSync(`${dest}.part`, noise(5000, 77));
    await downloadFile(`${server.url}/f.bin`, dest, { md5: md5(body), size: body.length });
    expect(server.requests[0]!.range).toBe('bytes=5000-');
    expect(new Uint8Array(readFileSync(dest))).toEqual(body);
  });

  it('rejects a checksum mismatch and leaves nothing behind', async () => {
    const server = await serve({ 'f.bin': body });
    const dir = freshDir();
    const err = await downloadFile(`${server.url}/f.bin`, join(dir, 'f.bin'), { md5: '0'.repeat(32), size: body.length }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(new RegExp(`f\\.bin: checksum mismatch: MD5 is ${md5(body)}, expected 0{32}`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('downloads over https only (plain http only from this machine), and the releases are on https', async () => {
    for (const url of ['http://example.com/f.bin', 'ftp://example.com/f.bin', 'http://127.0.0.1.example.com/f.bin']) {
      const dir = freshDir();
      const err = await downloadFile(url, join(dir, 'f.bin'), { md5: md5(body), size: body.length, attempts: 1 }).catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(DatasetError);
      expect((err as Error).message).toContain(`"${url}" is not an https URL; downloads use https only`);
      expect(readdirSync(dir)).toEqual([]);
    }
    for (const [name, release] of Object.entries(RELEASES)) {
      expect(release.baseUrl, name).toMatch(/^https:\/\//);
      for (const file of release.files) expect(file.size, file.name).toBeGreaterThan(0);
    }
  });

  it('stops a server sending more than the published size, and deletes what it wrote', async () => {
    const big = noise(300_000, 6);
    for (const noLength of [false, true]) {
      const server = await serve({ 'f.bin': big }, { noLength });
      const dir = freshDir();
      const err = await downloadFile(`${server.url}/f.bin`, join(dir, 'f.bin'), { md5: md5(body), size: body.length, attempts: 1 }).catch((e: unknown) => e);
      expect(err, `noLength ${noLength}`).toBeInstanceOf(DatasetError);
      expect((err as Error).message).toMatch(
        noLength ? /f\.bin: the server sent more than the published size of 200000 bytes; stopped there/ : /f\.bin: the server announces 300000 bytes, but the published size is 200000/,
      );
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('follows redirects within the host only', async () => {
    const server = await serve({ 'f.bin': body }, { redirects: { 'old.bin': '/f.bin' } });
    const dest = join(freshDir(), 'f.bin');
    await downloadFile(`${server.url}/old.bin`, dest, { md5: md5(body), size: body.length });
    expect(new Uint8Array(readFileSync(dest))).toEqual(body);
    // The same machine under another name is another host.
    const elsewhere = server.url.replace('127.0.0.1', 'localhost');
    const away = await serve({ 'f.bin': body }, { redirects: { 'old.bin': `${elsewhere}/f.bin` } });
    const dir = freshDir();
    const err = await downloadFile(`${away.url}/old.bin`, join(dir, 'f.bin'), { md5: md5(body), size: body.length, attempts: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/old\.bin: the server redirects to http:\/\/localhost:\d+, another host than http:\/\/127\.0\.0\.1:\d+; not followed/);
    expect(away.requests.map((r) => r.path)).toEqual(['old.bin']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports HTTP errors as one clear DatasetError', async () => {
    const server = await serve({});
    await expect(downloadFile(`${server.url}/missing.bin`, join(freshDir(), 'm'), { md5: '', size: 1 })).rejects.toThrow(/missing\.bin: HTTP 404/);
  });
});

describe('prepareDataset', () => {
  it('downloads, verifies and unpacks an archive release into place', async () => {
    const { archive, release } = miniCifarArchive();
    const server = await serve({ 'cifar-10-binary.tar.gz': archive }, { cutFirstAt: 3000 });
    const dataDir = freshDir();
    const result = await prepareDataset('cifar10', { dataDir, mirror: server.url, release, retryDelayMs: 10 });
    expect(result).toEqual({ name: 'cifar10', dir: join(dataDir, 'cifar-10-batches-bin'), origin: 'downloaded' });
    expect(readdirSync(dataDir)).toEqual(['cifar-10-batches-bin']);
    const opened = await openDataset('cifar10', { dataDir });
    expect([opened.train.length, opened.test!.length]).toEqual([10, 3]);
    expect(Array.from(opened.test!.labels!)).toEqual([9, 8, 7]);
    expect(await opened.test!.readImages([1])).toEqual(noise(3 * 3072, 99).subarray(3072, 6144));
    // A second run finds it in place without contacting the server.
    const requests = server.requests.length;
    expect((await prepareDataset('cifar10', { dataDir, mirror: server.url, release })).origin).toBe('present');
    expect(server.requests.length).toBe(requests);
  });

  it('rejects a corrupted archive (checksum mismatch) and leaves nothing in place', async () => {
    const { archive, release } = miniCifarArchive();
    const corrupted = archive.slice();
    corrupted[corrupted.length >> 1] ^= 0xff;
    const server = await serve({ 'cifar-10-binary.tar.gz': corrupted });
    const dataDir = freshDir();
    await expect(prepareDataset('cifar10', { dataDir, mirror: server.url, release })).rejects.toThrow(/checksum mismatch/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('rejects an archive that matches its checksum but is corrupt, leaving no partial folder', async () => {
    const broken = gzip(tarFile([{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: noise(100, 1) }])).subarray(0, 60);
    const release: RemoteRelease = { baseUrl: 'unused', archive: true, files: [{ name: 'cifar-10-binary.tar.gz', md5: md5(broken), size: broken.length }] };
    const server = await serve({ 'cifar-10-binary.tar.gz': broken });
    const dataDir = freshDir();
    await expect(prepareDataset('cifar10', { dataDir, mirror: server.url, release })).rejects.toThrow(DatasetError);
    expect(readdirSync(dataDir).filter((f) => f !== 'cifar-10-binary.tar.gz')).toEqual([]);
  });

  it('downloads the Fashion-MNIST files and opens them', async () => {
    const files = miniFashionFiles();
    const server = await serve(files);
    const dataDir = freshDir();
    const result = await prepareDataset('fashion-mnist', { dataDir, mirror: `${server.url}/`, release: fashionRelease(files), systemDirs: {} });
    expect(result.origin).toBe('downloaded');
    expect(readdirSync(join(dataDir, 'fashion-mnist')).sort()).toEqual(Object.keys(files).sort());
    const opened = await openDataset('fashion-mnist', { dataDir, systemDirs: {} });
    expect([opened.train.length, opened.test!.length, opened.train.classNames[9]]).toEqual([30, 10, 'Ankle boot']);
  });

  it('uses a system copy of Fashion-MNIST without downloading, after checking it parses', async () => {
    const files = miniFashionFiles();
    const server = await serve(files);
    const systemDir = freshDir();
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(systemDir, name), bytes);
    const dataDir = freshDir();
    const systemDirs = { 'fashion-mnist': [join(tmp.dir, 'nowhere'), systemDir] };
    expect(await locateDataset('fashion-mnist', { dataDir, systemDirs })).toBe(systemDir);
    const result = await prepareDataset('fashion-mnist', { dataDir, mirror: server.url, release: fashionRelease(files), systemDirs });
    expect(result).toEqual({ name: 'fashion-mnist', dir: systemDir, origin: 'system' });
    expect(server.requests).toEqual([]);
    expect((await openDataset('fashion-mnist', { dataDir, systemDirs })).dir).toBe(systemDir);
    // A system copy that does not parse is an error, not a silent download.
    writeFileSync(join(systemDir, 't10k-labels-idx1-ubyte.gz'), noise(50, 1));
    await expect(prepareDataset('fashion-mnist', { dataDir, mirror: server.url, systemDirs })).rejects.toThrow(/t10k-labels-idx1-ubyte\.gz/);
  });

  it('never deletes a folder it did not write: an incomplete one in the way is reported before downloading', async () => {
    const { archive, release } = miniCifarArchive();
    const server = await serve({ 'cifar-10-binary.tar.gz': archive });
    const dataDir = freshDir();
    const target = join(dataDir, 'cifar-10-batches-bin');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    writeFileSync(join(target, CIFAR10_TEST_FILE), cifarFile([1], noise(3072, 1)));
    const err = await prepareDataset('cifar10', { dataDir, mirror: server.url, release }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toBe(
      `${target}: holds an incomplete copy of cifar10 (missing ${CIFAR10_TRAIN_FILES.join(', ')}); move it away or delete it, then run again to download the release`,
    );
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(dataDir)).toEqual(['cifar-10-batches-bin']);
    expect(server.requests).toEqual([]);
  });

  it('names the missing dataset and the command to get it', async () => {
    await expect(openDataset('stl10', { dataDir: freshDir() })).rejects.toThrow(/npm run data -- stl10/);
    await expect(openDataset('imagenet')).rejects.toThrow(/unknown dataset "imagenet"/);
  });
});

describe('extractTarGz', () => {
  it('rejects a gzip stream that is not a tar archive', async () => {
    const dir = freshDir();
    const path = join(dir, 'x.tar.gz');
    writeFileSync(path, gzip(noise(3000, 3)));
    mkdirSync(join(dir, 'out'));
    await expect(extractTarGz(path, join(dir, 'out'))).rejects.toThrow(/x\.tar\.gz: .*tar header.*not a tar archive/);
  });
});

describe('data CLI', () => {
  const run = promisify(execFile);
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, ['scripts/run-ts.mjs', 'src/cli/data.ts', ...args], { env: { ...process.env, BYOL_DATA_MIRROR: '' } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('prints usage for --help, and rejects bad arguments with exit code 2', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run data');
    for (const args of [['--frobnicate', 'stl10'], ['mnist'], [], ['cifar10', '--dir'], ['cifar10', '--mirror', 'ftp://x'], ['cifar10', '--mirror', 'http://example.com/']]) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error: .*\n\nusage: npm run data/);
    }
  });

  it('reports a failure as one line without a stack trace, exit code 1', async () => {
    const server = await serve({});
    const result = await cli('cifar10', '--dir', freshDir(), '--mirror', server.url);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: .*cifar-10-binary\.tar\.gz: HTTP 404/)]);
  });
});
