// Writers for small files in each dataset format, a tar builder and a local HTTP server for the tests.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeflate, createGzip, crc32, deflateSync, gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A fresh temporary folder and a function removing it. */
export function tempDir(prefix = 'byol-data-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

export function gzip(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(gzipSync(bytes));
}

/** Deterministic pseudo-random bytes (a simple LCG; only for fixture content). */
export function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** An IDX uint8 file with the given magic and dimensions. */
export function idxFile(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** CIFAR-10 records: label byte + 3072 CHW pixel bytes each. */
export function cifarFile(labels: number[], pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((label, i) => {
    out[i * 3073] = label;
    out.set(pixels.subarray(i * 3072, (i + 1) * 3072), i * 3073 + 1);
  });
  return out;
}

/** An STL-10 X file from row-major CHW images: each channel written column-major, as the release does. */
export function stlImagesFile(chw: Uint8Array): Uint8Array {
  const side = 96;
  const image = 3 * side * side;
  const out = new Uint8Array(chw.length);
  for (let n = 0; n * image < chw.length; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) out[n * image + c * side * side + x * side + y] = chw[n * image + c * side * side + y * side + x]!;
      }
    }
  }
  return out;
}

/** A PNG of HWC pixels: one channel gives a greyscale PNG, three an RGB one. */
export function pngFile(width: number, height: number, channels: 1 | 3, hwc: Uint8Array): Uint8Array {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < 3; k++) png.data[4 * p + k] = hwc[p * channels + (channels === 1 ? 0 : k)]!;
    png.data[4 * p + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType: channels === 1 ? 0 : 2 }));
}

/** A JPEG of RGB HWC pixels (lossy). */
export function jpegFile(width: number, height: number, rgb: Uint8Array, quality = 95): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
    rgba[4 * p + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width, height, data: rgba }, quality).data);
}

/**
 * `prefix` followed by `zeros` zero bytes, gzipped or zlib-deflated, streamed so that the zeros are never
 * held in memory: a few hundred KB that decompress to hundreds of MB (the decompression bombs' body).
 */
export async function compressedZeros(prefix: Uint8Array, zeros: number, format: 'gzip' | 'deflate'): Promise<Uint8Array> {
  const stream = format === 'gzip' ? createGzip({ level: 9 }) : createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const block = Buffer.alloc(1 << 20);
  stream.write(prefix);
  for (let left = zeros; left > 0; left -= block.length) {
    if (!stream.write(left >= block.length ? block : block.subarray(0, left))) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
  await done;
  return new Uint8Array(Buffer.concat(parts));
}

/** A PNG built chunk by chunk: IHDR with the given fields, one IDAT holding `idat` (zlib data) as it is, IEND. */
export function pngWithData(ihdr: { width: number; height: number; depth?: number; colorType?: number; interlace?: number }, idat: Uint8Array): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    out.set(data, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const head = Buffer.alloc(13);
  head.writeUInt32BE(ihdr.width, 0);
  head.writeUInt32BE(ihdr.height, 4);
  head.set([ihdr.depth ?? 8, ihdr.colorType ?? 0, 0, 0, ihdr.interlace ?? 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([signature, chunk('IHDR', head), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]));
}

/** The decompression bombs' shapes in miniature (each declares or inflates to far more than it holds), for the fuzz test. */
export function smallBombs(): { png: Uint8Array[]; idxGz: Uint8Array[] } {
  const zeros = new Uint8Array(1 << 20);
  return {
    png: [
      // 1×1, interlaced, whose pixel data inflates to 1 MiB.
      pngWithData({ width: 1, height: 1, interlace: 1 }, deflateSync(zeros)),
      // 100000×100000 declared, a few bytes of data.
      pngWithData({ width: 100_000, height: 100_000 }, deflateSync(new Uint8Array(16))),
      // 4000×4000 16-bit RGBA (512 MB of pixel data declared), 1 MiB of data.
      pngWithData({ width: 4000, height: 4000, depth: 16, colorType: 6 }, deflateSync(zeros)),
    ],
    idxGz: [
      // One 28×28 image declared, 1 MiB inflated.
      gzip(Uint8Array.from([...idxFile(0x803, [1, 28, 28], new Uint8Array(0)), ...zeros.subarray(0, 1 << 20)])),
      // 2^32−1 images declared.
      gzip(idxFile(0x803, [0xffffffff, 28, 28], new Uint8Array(100))),
    ],
  };
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function tarHeader(name: string, size: number, type: string): Uint8Array {
  const header = new Uint8Array(512);
  const put = (text: string, offset: number): void => header.set(new TextEncoder().encode(text), offset);
  put(name, 0);
  put(octal(type === '5' ? 0o755 : 0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(0, 12), 136);
  put('        ', 148);
  put(type, 156);
  put('ustar\0', 257);
  put('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  put(octal(sum, 7) + ' ', 148);
  return header;
}

/** A tar entry for {@link tarFile}; directories end with "/". */
export interface TarInput {
  name: string;
  data?: Uint8Array;
}

/** A ustar archive; names over 100 bytes (UTF-8) get a pax header. */
export function tarFile(entries: TarInput[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const pad = (n: number): Uint8Array => new Uint8Array((512 - (n % 512)) % 512);
  for (const entry of entries) {
    const isDir = entry.name.endsWith('/');
    let name = entry.name;
    if (new TextEncoder().encode(name).length > 100) {
      // A record's length counts its bytes (UTF-8), its own digits included.
      const record = (len: number): Uint8Array => new TextEncoder().encode(`${len} path=${name}\n`);
      let len = record(0).length;
      while (record(len).length !== len) len = record(len).length;
      const body = record(len);
      blocks.push(tarHeader('PaxHeader', body.length, 'x'), body, pad(body.length));
      name = name.slice(0, 99);
      while (new TextEncoder().encode(name).length > 99) name = name.slice(0, -1);
    }
    const data = entry.data ?? new Uint8Array(0);
    blocks.push(tarHeader(name, isDir ? 0 : data.length, isDir ? '5' : '0'));
    if (!isDir) blocks.push(data, pad(data.length));
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of blocks) {
    out.set(b, offset);
    offset += b.length;
  }
  return out;
}

/** How the test server misbehaves. */
export interface ServeOptions {
  /** Close the connection after this many body bytes on the first request for a file. */
  cutFirstAt?: number;
  /** Answer Range requests with the whole file (status 200). */
  ignoreRange?: boolean;
  /** Paths answered with a 302 to the given URL. */
  redirects?: Record<string, string>;
  /** Send bodies without a Content-Length (chunked). */
  noLength?: boolean;
}

/** A local HTTP server for the downloader tests, recording each request's path and Range header. */
export class FileServer {
  readonly requests: Array<{ path: string; range: string | undefined }> = [];
  private server: Server;
  private port = 0;
  private served = new Set<string>();

  constructor(readonly files: Map<string, Uint8Array>, readonly options: ServeOptions = {}) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').replace(/^\/+/, '');
      this.requests.push({ path, range: req.headers.range });
      const to = this.options.redirects?.[path];
      if (to !== undefined) {
        res.writeHead(302, { Location: to }).end();
        return;
      }
      const body = this.files.get(path);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const first = !this.served.has(path);
      this.served.add(path);
      if (range !== null && !this.options.ignoreRange) {
        const start = Number(range[1]);
        if (start >= body.length) {
          res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
          return;
        }
        res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
        res.end(body.subarray(start));
        return;
      }
      res.writeHead(200, this.options.noLength ? {} : { 'Content-Length': body.length });
      if (first && this.options.cutFirstAt !== undefined) {
        res.write(body.subarray(0, this.options.cutFirstAt), () => setTimeout(() => res.destroy(), 20));
        return;
      }
      res.end(body);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
