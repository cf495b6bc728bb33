/**
 * examples/browser-convnet in a real browser: the plain page (an import map, no bundler) imports the engine's
 * browser bundle, built here as `npm run build` builds it, and trains its small convnet in Debian's Chromium,
 * headless (playwright-core). Served by a static file server on 127.0.0.1.
 *
 * Chromium runs with its OpenGL ES backend on (llvmpipe): a core request gets the SwiftShader adapter, a
 * request for WebGPU's compatibility mode gets the OpenGL ES one. The page runs twice: as it is (core), and in
 * a browser made to offer no core adapter (an init script), where the page falls back to compatibility mode.
 * Without Chromium the tests fail and say how to install it.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
// @ts-expect-error plain ESM helper without types
import { esbuildWgslLoader } from '../../scripts/wgsl-plugin.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=gl-egl',
  '--use-webgpu-adapter=opengles',
];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

interface PageResult {
  adapter?: string;
  losses?: number[];
  testAccuracy?: number;
  error?: string;
}

let dist = '';
let server: Server | null = null;
let browser: Browser | null = null;
let origin = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the browser tests need Debian's chromium. Run \`bash scripts/setup.sh\` ` +
        '(it installs it), or `apt-get install -y chromium` (or set CHROMIUM_PATH). Never `npx playwright install`.',
    );
  }
  // The browser bundle exactly as scripts/build.mjs makes it, into a folder of this test's own.
  dist = mkdtempSync(join(tmpdir(), 'byol-examples-'));
  await build({
    entryPoints: [join(ROOT, 'src/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: esbuildWgslLoader,
    external: ['webgpu', 'node:*'],
    outfile: join(dist, 'byol-webgpu.browser.js'),
    logLevel: 'warning',
  });
  // /examples/... from the repository, /dist/... from the fresh build; nothing else.
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = path.startsWith('/examples/') ? join(ROOT, path) : path.startsWith('/dist/') ? join(dist, path.slice('/dist/'.length)) : null;
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

/** Opens the example page, waits for its result and checks the training; returns the adapter requests. */
async function trainInPage(coreHidden: boolean): Promise<string[]> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  // Records every adapter request; with coreHidden, answers the core ones with null (no core adapter).
  await page.addInitScript((hide: boolean) => {
    const w = window as unknown as { __requests: string[] };
    w.__requests = [];
    const gpu = (navigator as unknown as { gpu?: { requestAdapter: (o?: { featureLevel?: string }) => Promise<unknown> } }).gpu;
    if (!gpu) return;
    const original = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (options) => {
      const level = options?.featureLevel ?? 'core';
      w.__requests.push(level);
      return hide && level === 'core' ? Promise.resolve(null) : original(options);
    };
  }, coreHidden);
  await page.goto(`${origin}/examples/browser-convnet/index.html`);
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 240_000, polling: 200 });
  const result = await page.evaluate(() => (window as unknown as { result: PageResult }).result);
  const requests = await page.evaluate(() => (window as unknown as { __requests: string[] }).__requests);
  const log = await page.textContent('#log');
  console.log(`browser-convnet (${coreHidden ? 'no core adapter' : 'as it is'}): ${log?.trim().split('\n').join(' | ')}`);
  expect(result.error, log ?? '').toBeUndefined();
  const losses = result.losses!;
  expect(losses).toHaveLength(8);
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
  // Cross-entropy starts near ln 4 = 1.39 for four classes.
  expect((losses[6]! + losses[7]!) / 2).toBeLessThan(0.7 * losses[0]!);
  expect(result.testAccuracy!).toBeGreaterThanOrEqual(0.7);
  expect(errors).toEqual([]);
  await page.close();
  return requests;
}

it('examples/browser-convnet trains its convnet in the page: the loss falls, the test accuracy is far above chance', async () => {
  expect(await trainInPage(false)).toEqual(['core']);
}, 300_000);

it('examples/browser-convnet falls back to a compatibility-mode adapter where the browser has no core one', async () => {
  expect(await trainInPage(true)).toEqual(['core', 'compatibility']);
}, 300_000);
