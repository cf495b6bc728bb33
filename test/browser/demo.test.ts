/**
 * The demo page in a real browser: Debian's Chromium, headless, driven by playwright-core. The page is served
 * by `src/cli/demo.ts` (started as `npm run demo` would, on a free port), trains BYOL with the tiny preset on
 * a WebGPU adapter, draws its curves and augmented views and, after pretraining, the random and pretrained
 * encoders' evaluation, nearest neighbours and embedding map, pauses and resumes, saves the encoder, and its
 * fixed-seed matmul and conv2d match Node's.
 *
 * The adapter: Chromium's compatibility mode on OpenGL ES (llvmpipe) — about ten times faster here than its
 * SwiftShader fallback, and enough for the engine (storage buffers in compute). Set DEMO_TEST_ADAPTER=core
 * to run on the core adapter (SwiftShader without a GPU) instead.
 *
 * Nothing is skipped: without Chromium the suite fails and says how to install it.
 * Artifacts: test-artifacts/browser/demo.png (a full-page screenshot after training) and pictures.png (the
 * panel with the encoders' evaluation, nearest neighbours and embedding map).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { init } from '../../src/index.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';
import { runSelfTest, type ReplayTestResult, type SelfTestResult } from '../../web/selftest.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(ROOT, 'test-artifacts/browser');
const ADAPTER = process.env.DEMO_TEST_ADAPTER === 'core' ? 'core' : 'compat';

const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // (playwright starts every launch with a fresh, temporary --user-data-dir of its own)
  ...(ADAPTER === 'compat' ? ['--use-angle=gl-egl', '--use-webgpu-adapter=opengles'] : []),
];

interface Rec {
  phase: string;
  epoch: number;
  trainLoss?: number;
  knnAccuracy?: number;
  heldOutLoss?: number;
  randomDraws?: { knnAccuracy: number[] };
}

let server: ChildProcess | null = null;
let serverOutput = '';
let url = '';
let browser: Browser | null = null;
let page: Page | null = null;
const pageErrors: string[] = [];
let firstRun: Rec[] = [];

function startServer(): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'src/cli/demo.ts', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    const timer = setTimeout(() => fail(new Error(`the demo server printed no address within 60 s:\n${serverOutput}`)), 60_000);
    const onData = (d: Buffer): void => {
      serverOutput += String(d);
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(serverOutput);
      if (m) {
        clearTimeout(timer);
        ok(m[0]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the demo server exited with ${code}:\n${serverOutput}`));
    });
  });
}

/** Whether a canvas has more than one colour in it (something was drawn). */
async function canvasesDrawn(p: Page, selector: string): Promise<{ count: number; drawn: number }> {
  return p.$$eval(selector, (els) => {
    let drawn = 0;
    for (const el of els as HTMLCanvasElement[]) {
      if (!el.width || !el.height) continue;
      const data = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
      const colours = new Set<number>();
      for (let i = 0; i < data.length && colours.size < 3; i += 4) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      if (colours.size >= 3) drawn++;
    }
    return { count: els.length, drawn };
  });
}

async function waitForState(p: Page, states: string[], timeout: number): Promise<string> {
  await p.waitForFunction((s) => s.includes(window.__demo?.state), states, { timeout, polling: 100 });
  const state = await p.evaluate(() => window.__demo.state);
  if (state === 'error' || state === 'no-webgpu') {
    const info = await p.evaluate(() => ({ error: window.__demo.error, log: window.__demo.lines.join('\n') }));
    throw new Error(`the page reports '${state}': ${info.error}\n${info.log}\npage errors: ${pageErrors.join('\n')}`);
  }
  return state;
}

const byolEpochs = (records: Rec[]): Rec[] => records.filter((r) => r.phase === 'byol' && r.epoch > 0);

describe('the demo page in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the browser test needs Debian's chromium. Run \`bash scripts/setup.sh\` ` +
          '(it installs it), or `apt-get install -y chromium` (or set CHROMIUM_PATH to a Chromium binary). Never `npx playwright install`.',
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    url = await startServer();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1300, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
  });

  it('trains BYOL on the tiny preset: finite, falling loss; curves, views and the adapter line on screen', async () => {
    const p = page!;
    await p.goto(`${url}?preset=tiny&autostart=1&seed=0&adapter=${ADAPTER}`);
    await waitForState(p, ['done', 'error', 'no-webgpu'], 100_000);
    const demo = await p.evaluate(() => ({ records: window.__demo.records, adapter: window.__demo.adapter, previews: window.__demo.previewsDrawn, charts: window.__demo.chartsDrawn, dataset: window.__demo.dataset }));
    firstRun = demo.records as Rec[];
    const epochs = byolEpochs(firstRun);
    const losses = epochs.map((r) => r.trainLoss!);
    console.log(`demo page: adapter ${demo.adapter?.name} (${demo.adapter?.featureLevel}), dataset ${demo.dataset}, BYOL loss per step ${losses.map((l) => l.toFixed(3)).join(' ')}`);
    // The tiny preset trains one repeated batch of 8 for 8 one-step epochs.
    expect(epochs.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    const first = (losses[0]! + losses[1]!) / 2;
    const last = (losses[6]! + losses[7]!) / 2;
    expect(last).toBeLessThan(first);
    for (const r of firstRun.filter((r) => r.knnAccuracy !== undefined)) {
      expect(r.knnAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.knnAccuracy).toBeLessThanOrEqual(1);
    }
    expect(firstRun.some((r) => r.phase === 'byol' && r.epoch === 0 && r.knnAccuracy !== undefined)).toBe(true);

    // The adapter line, the curves (vega's canvas) and the augmented views are on the page.
    expect(demo.adapter).not.toBeNull();
    await expect.poll(() => p.textContent('#adapter')).toMatch(/^Adapter: .+ · WebGPU (core|compatibility)/);
    expect(demo.charts).toBeGreaterThan(0);
    const chart = await canvasesDrawn(p, '#chart canvas');
    expect(chart.count).toBeGreaterThan(0);
    expect(chart.drawn).toBe(chart.count);
    expect(demo.previews).toBeGreaterThan(0);
    const views = await canvasesDrawn(p, '#views canvas');
    expect(views.count).toBe(18); // 6 images × (image, view 1, view 2)
    expect(views.drawn).toBeGreaterThanOrEqual(12);

    // After pretraining: the evaluation of both encoders, the nearest-neighbour grid and the embedding map.
    const pics = await p.evaluate(() => ({ drawn: window.__demo.picturesDrawn, pictures: window.__demo.pictures }));
    expect(pics.drawn).toBe(1);
    expect(pics.pictures!.encoders.map((e) => e.name)).toEqual(['random encoder', 'pretrained encoder']);
    // The kNN accuracy beside the pictures is the experiment's own: the random arm's first draw (the encoder BYOL
    // starts from) for the random encoder, the last epoch for the pretrained one.
    const knnOf = (epoch: number) => firstRun.find((r) => r.phase === 'byol' && r.epoch === epoch)!.knnAccuracy!;
    const random = firstRun.find((r) => r.phase === 'byol' && r.epoch === 0)!.randomDraws!;
    expect(pics.pictures!.encoders[0]!.knnAccuracy).toBeCloseTo(random.knnAccuracy[0]!, 6);
    expect(pics.pictures!.encoders[1]!.knnAccuracy).toBeCloseTo(knnOf(8), 6);
    for (const e of pics.pictures!.encoders) {
      for (const v of [e.neighbourMatch, e.queryMatch]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    expect(await p.isVisible('#pictures-panel')).toBe(true);
    const rows = await p.$$eval('#evaluation tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(rows).toHaveLength(2);
    for (const row of rows) for (const cell of row.slice(1)) expect(cell).toMatch(/^\d+\.\d %$/);
    const grid = await canvasesDrawn(p, '#neighbours canvas');
    expect(grid).toEqual({ count: 1, drawn: 1 });
    // The grid is the SVG drawn at its own size: two panels of the 10 queries' rows, wider than tall.
    const gridSize = await p.$eval('#neighbours canvas', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect(gridSize[0]!).toBeGreaterThan(gridSize[1]!);
    const map = await canvasesDrawn(p, '#embedding canvas');
    expect(map.count).toBe(1);
    expect(map.drawn).toBe(1);
    await p.locator('#pictures-panel').screenshot({ path: resolve(ARTIFACTS, 'pictures.png') });
    await p.waitForTimeout(300);
    await p.screenshot({ path: resolve(ARTIFACTS, 'demo.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('pauses, resumes from the in-memory checkpoint to the same losses, and saves the encoder as safetensors', async () => {
    const p = page!;
    expect(firstRun.length).toBeGreaterThan(0);
    // Start over in the same page and press pause once the third epoch is under way.
    await p.evaluate(() => {
      void window.__demo.start();
      return new Promise<void>((ok) => {
        const t = setInterval(() => {
          if (window.__demo.state === 'training' && window.__demo.speed.some((s) => s.epoch >= 3)) {
            clearInterval(t);
            window.__demo.pause();
            ok();
          }
        }, 5);
      });
    });
    await waitForState(p, ['paused', 'done', 'error'], 60_000);
    const paused = await p.evaluate(() => ({ state: window.__demo.state, records: window.__demo.records }));
    expect(paused.state).toBe('paused');
    const done = byolEpochs(paused.records as Rec[]).length;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(8);
    await p.click('#resume');
    await waitForState(p, ['done', 'error'], 60_000);
    const lines = await p.evaluate(() => window.__demo.lines.join('\n'));
    expect(lines).toMatch(/resuming: byol has \d finished epoch/);
    const resumed = byolEpochs(await p.evaluate(() => window.__demo.records as Rec[]));
    expect(resumed.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Every random choice is keyed by the seed: a paused and resumed run repeats the uninterrupted one.
    const before = byolEpochs(firstRun);
    resumed.forEach((r, i) => expect(r.trainLoss!).toBeCloseTo(before[i]!.trainLoss!, 4));

    // Save: a download of the online encoder's state dict with torchvision's names.
    const [download] = await Promise.all([p.waitForEvent('download', { timeout: 30_000 }), p.click('#save')]);
    expect(download.suggestedFilename()).toMatch(/^byol-encoder-.*-epoch8\.safetensors$/);
    const path = resolve(ARTIFACTS, 'encoder.safetensors');
    await download.saveAs(path);
    const file = decodeSafetensors(new Uint8Array(readFileSync(path)), 'encoder.safetensors');
    expect(file.metadata['byol.epochs']).toBe('8');
    expect(file.tensors.get('conv1.weight')?.shape).toEqual([4, 3, 7, 7]);
    expect(file.tensors.has('layer4.1.bn2.running_var')).toBe(true);
    expect([...file.tensors.keys()].some((k) => k.startsWith('projector') || k.startsWith('optim.') || k.startsWith('fc.'))).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it("trains on the user's own CIFAR-10 batch file given by the file picker (browser-safe readers)", async () => {
    const p = page!;
    // 120 records of 3,073 bytes: a label byte, then 3×32×32 pixels (a class-dependent pattern with noise).
    const n = 120;
    const bytes = new Uint8Array(n * 3073);
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    for (let i = 0; i < n; i++) {
      const label = i % 10;
      bytes[i * 3073] = label;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 32; y++)
          for (let x = 0; x < 32; x++) bytes[i * 3073 + 1 + c * 1024 + y * 32 + x] = ((x + y * label) % (label + 2) === 0 ? 200 : 40) + (rand() >> 3);
    }
    await p.setInputFiles('#files', { name: 'data_batch_1.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await waitForState(p, ['ready', 'error'], 30_000);
    expect(await p.inputValue('#dataset')).toBe('user');
    await p.click('#start');
    await waitForState(p, ['done', 'error'], 60_000);
    const info = await p.evaluate(() => ({ dataset: window.__demo.dataset, records: window.__demo.records as Rec[] }));
    expect(info.dataset).toBe('cifar10 (your files)');
    const losses = byolEpochs(info.records).map((r) => r.trainLoss!);
    expect(losses).toHaveLength(8);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('says that WebGPU is missing, and how to turn it on, where navigator.gpu is absent', async () => {
    const p = await browser!.newPage();
    try {
      await p.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
      await p.goto(`${url}?preset=tiny&autostart=1`);
      await p.waitForFunction(() => window.__demo?.state === 'no-webgpu', null, { timeout: 20_000 });
      expect(await p.isVisible('#no-webgpu')).toBe(true);
      const text = (await p.textContent('#no-webgpu')) ?? '';
      expect(text).toContain('WebGPU is not available');
      expect(text).toContain('--enable-unsafe-webgpu');
      expect(await p.isDisabled('#start')).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('computes the same fixed-seed matmul and conv2d in the page as in Node', async () => {
    const inPage = (await page!.evaluate(() => window.__selfTest())) as SelfTestResult;
    await init();
    const inNode = await runSelfTest();
    for (const key of ['matmul', 'conv2d'] as const) {
      expect(inPage[key].shape).toEqual(inNode[key].shape);
      const a = inPage[key].values;
      const b = inNode[key].values;
      expect(a.length).toBe(b.length);
      const scale = Math.max(...b.map(Math.abs));
      let worst = 0;
      a.forEach((v, i) => {
        // Relative error, measured against the output's scale for entries near zero.
        worst = Math.max(worst, Math.abs(v - b[i]!) / Math.max(Math.abs(b[i]!), 1e-2 * scale));
      });
      console.log(`self-test ${key}: ${a.length} values, worst relative difference page vs Node ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('replays captured training steps in the page bit-identically to the eager steps', async () => {
    const r = (await page!.evaluate(() => window.__replayTest())) as ReplayTestResult;
    expect(r.cases.map((c) => c.name)).toEqual(['resnet18 (width 8) + SGD', 'byol (width 8) + LARS']);
    for (const c of r.cases) {
      console.log(`replay in the page, ${c.name}: ${c.replayed} replays, identical: ${c.identical}`);
      expect(c.replayed, c.name).toBe(18);
      expect(c.firstDifference, c.name).toBeNull();
      expect(c.identical, c.name).toBe(true);
    }
  }, 300_000);
});
