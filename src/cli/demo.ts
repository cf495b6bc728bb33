/**
 * `npm run demo`: the in-browser demo. Bundles web/main.ts for the browser with esbuild (the same WGSL text
 * loader as every other build; 'webgpu' and node:* external, as scripts/build.mjs does), serves the page on
 * 127.0.0.1 and prints its address. It also offers small dataset samples as IDX bytes, which the page parses
 * with the same browser-safe readers as Node does:
 *
 *   GET /api/datasets                                   → [{ id, name, available, classNames, ... }]
 *   GET /sample/<id>?split=train|test&part=images|labels&count=N
 *                                                      → an IDX file (uint8 images N×H×W, or labels N)
 *
 * <id> is 'fashion-mnist' (read from the machine through src/data: Debian's dataset-fashion-mnist or the
 * data folder) or 'synthetic' (ten classes of drawn shapes, always there).
 *
 * Only requests addressed to this machine by name (Host 127.0.0.1:PORT, localhost:PORT or [::1]:PORT) are
 * answered, so that a page from elsewhere whose name was rebound to 127.0.0.1 reads nothing (the dataset list
 * holds local paths); a failed request is answered with its message, never a stack trace.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error plain ESM helper without types
import { esbuildWgslLoader } from '../../scripts/wgsl-plugin.mjs';
import { openDataset, locateDataset, type OpenedDataset } from '../data/open.js';
import { FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../data/idx.js';
import { Rng } from '../data/prng.js';
import { imageBytes, type ImageDataset } from '../data/dataset.js';
import { notAFile, parseCommandLine, type CommandSpec, type FlagSpec } from './args.js';

const USAGE = `usage: npm run demo -- [options]

Serves the in-browser BYOL demo on 127.0.0.1: pick a dataset (a Fashion-MNIST sample from this machine,
a synthetic one, or your own files), train BYOL with WebGPU in the page, watch the curves and the augmented
views, and save the trained encoder as safetensors.

  --port N          port to listen on (default 8080; 0 picks a free one)
  --data-dir DIR    where datasets live (default $BYOL_DATA_DIR or ~/.cache/byol-webgpu/data)
  -h, --help        show this text

Open the printed address in a browser with WebGPU (Chrome/Edge 113+; on Linux start Chrome with
--enable-unsafe-webgpu). The page says what to do where WebGPU is missing.`;

const FLAGS: Record<string, FlagSpec> = {
  port: { kind: 'int', min: 0, max: 65535 },
  'data-dir': { kind: 'string', check: notAFile },
};

/** The command line of `npm run demo`. */
export const DEMO: CommandSpec = { usage: USAGE, flags: FLAGS };

const MAX_SAMPLE = 20_000;

/** The synthetic dataset's classes: simple shapes drawn at random positions and sizes, with noise. */
export const SYNTHETIC_CLASSES = ['disc', 'square', 'ring', 'cross', 'horizontal bars', 'vertical bars', 'diagonal', 'triangle', 'dots', 'checker'];
const SYNTH_SIDE = 28;

/** Image i of the synthetic split `split` (deterministic): its label and 28×28 grey pixels. */
export function syntheticImage(split: 'train' | 'test', i: number): { label: number; pixels: Uint8Array } {
  const rng = new Rng((split === 'train' ? 0x5eed : 0x7e57) * 100_003 + i);
  const label = i % SYNTHETIC_CLASSES.length;
  const s = SYNTH_SIDE;
  const px = new Uint8Array(s * s);
  const cx = 10 + rng.nextFloat() * 8;
  const cy = 10 + rng.nextFloat() * 8;
  const r = 5 + rng.nextFloat() * 4;
  const period = 3 + Math.floor(rng.nextFloat() * 3);
  const bright = 150 + rng.nextFloat() * 105;
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const d = Math.hypot(dx, dy);
      const inBox = Math.abs(dx) <= r && Math.abs(dy) <= r;
      let on = false;
      switch (label) {
        case 0: on = d <= r; break;
        case 1: on = inBox; break;
        case 2: on = d <= r && d >= r - 2.2; break;
        case 3: on = inBox && (Math.abs(dx) <= 1.5 || Math.abs(dy) <= 1.5); break;
        case 4: on = inBox && Math.floor(y / period) % 2 === 0; break;
        case 5: on = inBox && Math.floor(x / period) % 2 === 0; break;
        case 6: on = inBox && Math.abs(dx - dy) <= 1.8; break;
        case 7: on = dy <= r && dy >= -r && Math.abs(dx) <= (dy + r) / 2; break;
        case 8: on = inBox && x % period === 0 && y % period === 0; break;
        case 9: on = inBox && (Math.floor(x / period) + Math.floor(y / period)) % 2 === 0; break;
      }
      const noise = rng.nextFloat() * 40;
      px[y * s + x] = Math.min(255, Math.round((on ? bright : 0) + noise));
    }
  return { label, pixels: px };
}

function idxHeader(magic: number, dims: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  return header;
}

/** An IDX file: header + bytes. */
function idxFile(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const header = idxHeader(magic, dims);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

interface SampleSource {
  id: string;
  name: string;
  classNames: readonly string[];
  read(split: 'train' | 'test', part: 'images' | 'labels', count: number): Promise<Uint8Array>;
  lengths(): Promise<{ train: number; test: number }>;
}

function syntheticSource(): SampleSource {
  return {
    id: 'synthetic',
    name: 'Synthetic shapes (28×28 grey, 10 classes)',
    classNames: SYNTHETIC_CLASSES,
    async lengths() {
      return { train: MAX_SAMPLE, test: MAX_SAMPLE };
    },
    async read(split, part, count) {
      if (part === 'labels') return idxFile(IDX_LABELS_MAGIC, [count], Uint8Array.from({ length: count }, (_, i) => i % SYNTHETIC_CLASSES.length));
      const data = new Uint8Array(count * SYNTH_SIDE * SYNTH_SIDE);
      for (let i = 0; i < count; i++) data.set(syntheticImage(split, i).pixels, i * SYNTH_SIDE * SYNTH_SIDE);
      return idxFile(IDX_IMAGES_MAGIC, [count, SYNTH_SIDE, SYNTH_SIDE], data);
    },
  };
}

/** The first `count` images of a seeded shuffle of the split (so a sample has every class). */
async function sampleOf(ds: ImageDataset, part: 'images' | 'labels', count: number, seed: number): Promise<Uint8Array> {
  const order = Int32Array.from({ length: ds.length }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const pick = order.slice(0, count);
  if (part === 'labels') {
    if (!ds.labels) throw new Error(`${ds.name} has no labels`);
    return idxFile(IDX_LABELS_MAGIC, [count], Uint8Array.from(pick, (i) => ds.labels![i]!));
  }
  if (ds.channels !== 1) throw new Error(`${ds.name}: only grey images are served as IDX`);
  const data = await ds.readImages(pick, new Uint8Array(count * imageBytes(ds)));
  return idxFile(IDX_IMAGES_MAGIC, [count, ds.height, ds.width], data);
}

function fashionSource(dataDir: string | undefined): SampleSource {
  let opened: Promise<OpenedDataset> | null = null;
  const open = (): Promise<OpenedDataset> => (opened ??= openDataset('fashion-mnist', dataDir ? { dataDir } : {}));
  return {
    id: 'fashion-mnist',
    name: 'Fashion-MNIST (a sample, 28×28 grey, 10 classes)',
    classNames: FASHION_MNIST_CLASSES,
    async lengths() {
      const d = await open();
      return { train: d.train.length, test: d.test?.length ?? 0 };
    },
    async read(split, part, count) {
      const d = await open();
      const ds = split === 'train' ? d.train : d.test;
      if (!ds) throw new Error('fashion-mnist has no test split');
      return sampleOf(ds, part, Math.min(count, ds.length), split === 'train' ? 1 : 2);
    },
  };
}

export interface DemoServerOptions {
  port?: number;
  dataDir?: string;
  /** The repository root (web/ lives there); default: found from this file or the working directory. */
  root?: string;
}

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

function findRoot(): string {
  // Bundled by scripts/run-ts.mjs into .cache/run/, or run from the sources: web/ is two levels up either way;
  // fall back on the working directory (npm runs scripts in the package root).
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '../..');
}

/** Bundles the page: one ES module (and its source map) in memory. */
export async function bundlePage(root: string): Promise<Map<string, { body: Uint8Array; type: string }>> {
  const result = await build({
    entryPoints: [resolve(root, 'web/main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // Reached only on the Node path of src/gpu/device.ts.
    external: ['webgpu', 'node:*'],
    loader: esbuildWgslLoader as Record<string, 'text'>,
    sourcemap: 'linked',
    outdir: resolve(root, '.cache/demo'),
    write: false,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files = new Map<string, { body: Uint8Array; type: string }>();
  for (const f of result.outputFiles) {
    const name = '/' + f.path.split('/').pop()!;
    files.set(name, { body: f.contents, type: name.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8' });
  }
  return files;
}

export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  let root = options.root ?? findRoot();
  try {
    await readFile(resolve(root, 'web/index.html'));
  } catch {
    root = process.cwd();
  }
  const bundle = await bundlePage(root);
  const statics: Record<string, { file: string; type: string }> = {
    '/': { file: 'web/index.html', type: 'text/html; charset=utf-8' },
    '/index.html': { file: 'web/index.html', type: 'text/html; charset=utf-8' },
    '/styles.css': { file: 'web/styles.css', type: 'text/css; charset=utf-8' },
  };
  const fashionDir = await locateDataset('fashion-mnist', options.dataDir ? { dataDir: options.dataDir } : {});
  const sources: SampleSource[] = [];
  if (fashionDir) sources.push(fashionSource(options.dataDir));
  sources.push(syntheticSource());

  const send = (res: ServerResponse, status: number, type: string, body: Uint8Array | string): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const host = req.headers.host ?? '';
    if (!['127.0.0.1', 'localhost', '[::1]'].some((name) => host === `${name}:${port}`)) {
      return send(res, 421, 'text/plain', `this server answers requests for 127.0.0.1:${port} or localhost:${port} only, not for "${host}"`);
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET');
    const js = bundle.get(path);
    if (js) return send(res, 200, js.type, js.body);
    const st = statics[path];
    if (st) return send(res, 200, st.type, await readFile(resolve(root, st.file)));
    if (path === '/favicon.ico') return send(res, 204, 'text/plain', '');
    if (path === '/api/datasets') {
      const list = await Promise.all(
        sources.map(async (s) => ({ id: s.id, name: s.name, classNames: s.classNames, ...(await s.lengths()) })),
      );
      const body = { datasets: list, fashionMnist: fashionDir ?? null, hint: fashionDir ? null : 'Fashion-MNIST is not installed: run `bash scripts/setup.sh` (Debian package dataset-fashion-mnist) or `npm run data -- fashion-mnist`.' };
      return send(res, 200, 'application/json', JSON.stringify(body));
    }
    const m = /^\/sample\/([a-z0-9-]+)$/.exec(path);
    if (m) {
      const src = sources.find((s) => s.id === m[1]);
      if (!src) return send(res, 404, 'text/plain', `no dataset '${m[1]}' here; GET /api/datasets lists them`);
      const split = url.searchParams.get('split') ?? 'train';
      const part = url.searchParams.get('part') ?? 'images';
      const count = Number(url.searchParams.get('count') ?? '1000');
      if ((split !== 'train' && split !== 'test') || (part !== 'images' && part !== 'labels') || !Number.isInteger(count) || count < 1 || count > MAX_SAMPLE) {
        return send(res, 400, 'text/plain', `use ?split=train|test&part=images|labels&count=1..${MAX_SAMPLE}`);
      }
      return send(res, 200, 'application/octet-stream', await src.read(split, part, count));
    }
    send(res, 404, 'text/plain', 'not found');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // The stack goes to the terminal that started the server; the page gets the message.
      process.stderr.write(`demo: ${req.method} ${req.url} failed: ${(e as Error).stack ?? String(e)}\n`);
      if (!res.headersSent) send(res, 500, 'text/plain', `error: ${e instanceof Error ? e.message : String(e)}`);
      else res.end();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv, DEMO);
  if (typeof parsed === 'number') return parsed;
  const flags = parsed.flags;
  const port = (flags.port as number | undefined) ?? 8080;
  let server: DemoServer;
  try {
    server = await startDemoServer({ port, ...(flags['data-dir'] ? { dataDir: flags['data-dir'] as string } : {}) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') {
      process.stderr.write(`error: port ${port} is in use; choose another with --port N (0 picks a free one)\n`);
      return 1;
    }
    throw e;
  }
  process.stdout.write(`BYOL demo: ${server.url}  (Ctrl-C to stop)\n`);
  await new Promise<void>((ok) => {
    const stop = (): void => {
      void server.close().then(ok);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
