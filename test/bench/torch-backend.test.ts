/**
 * The bench's torch backend (bench/torch.ts, bench/torch_worker.py): the pieces of its protocol (line
 * splitting, arrays on the wire), the skip path when the interpreter has no torch, and the report with a torch
 * column, all without Python; then, when /usr/bin/python3 imports torch (always in CI, which installs it and
 * sets BYOL_REQUIRE_TORCH=1, so there it fails instead of skipping), the worker itself: a small matmul against
 * a float64 reference, through the bench's runner with a CPU stand-in for ours, and errors as replies.
 * Also the work counts and the table of `--profile` (bench/profile.ts), from a given per-op profile.
 * No GPU: nothing here needs one. Timings are never asserted.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackends, loadTorch, type Backend } from '../../bench/backends.js';
import { ratioPoints } from '../../bench/chart.js';
import type { BenchRow } from '../../bench/registry.js';
import { headerLines, markdownSection, notes, tableCells, type RunHeader } from '../../bench/report.js';
import { runRow, type RowResult } from '../../bench/runner.js';
import { decodeArray, encodeArray, lineSplitter, torchImpl, TorchWorker, torchMissing, TORCH_PYTHON } from '../../bench/torch.js';
import { rand } from '../helpers.js';
import { byolStepWork, encoderWork, profileCells, profileMarkdown, profileRows, resnetInferWork, resnetStepWork } from '../../bench/profile.js';

describe('torch worker protocol, without Python', () => {
  it('splits a byte stream into lines wherever the chunks break', () => {
    const text = ['{"id":1}', '', 'x'.repeat(100_000), '{"id":2,"ok":true}', 'αβγ'].join('\n') + '\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let trial = 0; trial < 20; trial++) {
      const lines: string[] = [];
      const push = lineSplitter((l) => lines.push(l));
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + Math.floor(rand() * (trial % 2 ? 7 : 40_000));
        push(bytes.subarray(i, i + n));
        i += n;
      }
      // Blank lines are dropped; a multi-byte character split across chunks survives.
      expect(lines).toEqual(['{"id":1}', 'x'.repeat(100_000), '{"id":2,"ok":true}', 'αβγ']);
    }
  });

  it('sends arrays as shape, dtype and base64 little-endian bytes, and reads them back', () => {
    const f = Float32Array.from({ length: 6 }, () => rand() - 0.5);
    const cases = [
      { data: f, shape: [2, 3], dtype: 'float32' },
      { data: Int32Array.of(-3, 0, 7, 2 ** 30), shape: [4], dtype: 'int32' },
      { data: Uint8Array.of(0, 255, 17), shape: [1, 3], dtype: 'uint8' },
      // A view at an offset into a larger buffer sends its own elements only.
      { data: new Float32Array(f.buffer, 8, 2), shape: [2], dtype: 'float32' },
    ] as const;
    for (const c of cases) {
      const w = encodeArray(c.data, c.shape);
      expect(w.dtype).toBe(c.dtype);
      expect(w.shape).toEqual(c.shape);
      expect(Buffer.from(w.data, 'base64').byteLength).toBe(c.data.byteLength);
      const back = decodeArray(JSON.parse(JSON.stringify(w)));
      expect(back.shape).toEqual(c.shape);
      expect(back.data.constructor).toBe(c.data.constructor);
      expect([...back.data]).toEqual([...c.data]);
    }
    expect(() => encodeArray(new Float32Array(5), [2, 3])).toThrow(/\[2, 3\] needs 6 elements, got 5/);
    expect(() => decodeArray({ shape: [3], dtype: 'float32', data: Buffer.alloc(8).toString('base64') })).toThrow(/\[3\] carries 2 elements/);
  });

  it('skips the torch backend with a note when the interpreter cannot import torch', async () => {
    const python = '/nonexistent/python3';
    expect(await torchMissing(python)).toMatch(/^\/nonexistent\/python3 cannot import torch \(.*\); install Debian's python3-torch/);
    await expect(loadTorch(python)).rejects.toThrow(/cannot import torch/);
    const { loaded, unavailable } = await loadBackends(['torch'], python);
    expect(loaded).toEqual([]);
    expect(unavailable).toHaveLength(1);
    expect(unavailable[0]!.name).toBe('torch');
    expect(unavailable[0]!.reason).toMatch(/\/nonexistent\/python3 cannot import torch/);
  });

  it('reports a torch column: its times, ratios, check, header line and chart points', () => {
    const header: RunHeader = {
      date: '2026-12-05T08:00:00Z',
      command: 'npm run bench -- --backends ours,torch',
      adapter: 'llvmpipe (software)',
      tfjsAdapter: null,
      torch: 'PyTorch 1.13.1 on the CPU (AMD EPYC, 2 threads; Python 3.11.2 at /usr/bin/python3)',
      node: 'v20',
      platform: 'linux x64, 2 CPUs',
      packages: { webgpu: '0.6.2' },
      sync: 'fence',
      reps: 5,
      warmup: 1,
      backends: ['ours', 'torch'],
      unavailable: [{ name: 'tfjs-wasm', reason: 'not installed' }],
    };
    const rows: RowResult[] = [
      {
        family: 'matmul',
        label: 'matmul 8×8×8',
        flops: 1024,
        checks: [{ against: 'torch', maxRelDiff: 2e-7, tolerance: 1e-3, ok: true }],
        cells: [
          { backend: 'ours', status: 'ok', samplesMs: [2, 2], medianMs: 2, throughput: 0.5 },
          { backend: 'torch', status: 'ok', samplesMs: [5, 5], medianMs: 5, throughput: 0.2 },
        ],
      },
      {
        family: 'matmul',
        label: 'matmul 9×9×9',
        flops: 1458,
        cells: [
          { backend: 'ours', status: 'ok', samplesMs: [1], medianMs: 1 },
          { backend: 'torch', status: 'error', error: 'torch: ValueError: boom' },
        ],
      },
    ];
    const cells = tableCells(rows, header.backends);
    expect(cells[0]).toEqual(['row', 'ours ms', 'ours GFLOP/s', 'torch ms', 'torch GFLOP/s', 'ratio torch/ours']);
    expect(cells[1]).toEqual(['matmul 8×8×8', '2.00', '0.50', '5.00', '0.20', '2.50']);
    expect(cells[2]!.slice(3)).toEqual(['error', 'error', '—']);
    const lines = headerLines(header);
    expect(lines).toContain('torch:     PyTorch 1.13.1 on the CPU (AMD EPYC, 2 threads; Python 3.11.2 at /usr/bin/python3)');
    expect(lines.find((l) => l.startsWith('timing:'))).toMatch(/torch: each run timed in its worker/);
    expect(notes(rows)).toEqual([
      'matmul 8×8×8: max rel diff vs torch 2.00e-7 (tolerance 0.001) ok',
      'matmul 9×9×9: torch error: torch: ValueError: boom',
    ]);
    expect(markdownSection(header, rows)).toContain('- torch: PyTorch 1.13.1 on the CPU');
    expect(ratioPoints(rows)).toEqual([{ row: 'matmul 8×8×8', backend: 'torch', ratio: 2.5 }]);
  });
});

describe('--profile tables, without a GPU', () => {
  it("counts ResNet-18's work as torchvision's network has it", () => {
    // Multiply-adds of every convolution and elements of every batch norm of torchvision's resnet18 for one
    // image (forward hooks on /usr/bin/python3's torchvision 0.14): 224×224: 1,813,561,344 and 2,483,712;
    // 32×32: 37,011,456 and 50,688.
    expect(encoderWork(1, 224, 1, 0).conv2d!.flops).toBe(2 * 1_813_561_344);
    const w = encoderWork(64, 32, 1, 1);
    expect(w.conv2d!.flops).toBe(64 * 2 * 37_011_456);
    expect(w['conv2d.backwardFilter']!.flops).toBe(w.conv2d!.flops);
    // The stem's input gradient is not computed: 7·7·3 multiply-adds for each of its 64 × 16 × 16 outputs.
    expect(w['conv2d.backwardInput']!.flops).toBe(64 * 2 * (37_011_456 - 64 * 16 * 16 * 7 * 7 * 3));
    expect(w['batchNorm.train']!.bytes).toBe(64 * 50_688 * 2 * 4);
    expect(w['batchNorm.backward']!.bytes).toBe(64 * 50_688 * 3 * 4);
    expect(resnetStepWork()['sgd.step']!.bytes).toBe(5 * 4 * 11_181_642);
    // Inference: the forward alone, batch norm on running statistics (reads x, writes y), the fc layer.
    const inf = resnetInferWork();
    expect(inf.conv2d!.flops).toBe(64 * 2 * 37_011_456);
    expect(inf['batchNorm.eval']!.bytes).toBe(64 * 50_688 * 2 * 4);
    expect(inf.matmul!.flops).toBe(2 * 64 * 512 * 10);
    expect(inf['conv2d.backwardFilter']).toBeUndefined();
    // BYOL: both views (64 images) through the online network and the target network: two forwards, one backward.
    const b = byolStepWork();
    expect(b.conv2d!.flops).toBe(2 * 64 * 2 * 37_011_456);
    expect(b['conv2d.backwardFilter']!.flops).toBe(64 * 2 * 37_011_456);
    const heads = 2 * 64 * (3 * (512 * 4096 + 4096 * 256 + 256 * 4096 + 4096 * 256) + 512 * 4096 + 4096 * 256);
    expect(b.matmul!.flops).toBe(heads);
  });

  it('gives each op its share of the step and its rate, slowest first', () => {
    const rows = profileRows(
      [
        { op: 'conv2d', count: 20, ms: 300, kernels: [{ kernel: 'conv2d_forward_sg', count: 20, ms: 300 }] },
        { op: 'batchNorm.train', count: 20, ms: 100, kernels: [{ kernel: 'batchnorm_channel_forward_sg_vec4', count: 12, ms: 70 }, { kernel: 'batchnorm_channel_forward_sg', count: 8, ms: 30 }] },
        { op: 'crossEntropy', count: 2, ms: 0, kernels: [{ kernel: 'cross_entropy:backward', count: 2, ms: 0 }] },
      ],
      { conv2d: { flops: 6e9 }, 'batchNorm.train': { bytes: 2e8 } },
    );
    expect(rows.map((r) => [r.op, r.share, r.rate])).toEqual([
      ['conv2d', 0.75, 20],
      ['batchNorm.train', 0.25, 2],
      ['crossEntropy', 0, undefined],
    ]);
    const p = { step: 'a step', warmup: 1, totalMs: 400, dispatches: 42, rows };
    expect(profileCells(p)).toEqual([
      ['op', 'dispatches', 'GPU ms', 'share', 'rate', 'kernels'],
      ['conv2d', '20', '300', '75.0 %', '20.0 GFLOP/s', 'conv2d_forward_sg ×20'],
      ['batchNorm.train', '20', '100', '25.0 %', '2.00 GB/s', 'batchnorm_channel_forward_sg_vec4 ×12, batchnorm_channel_forward_sg ×8'],
      ['crossEntropy', '2', '0.00', '0.0 %', '—', 'cross_entropy:backward ×2'],
      ['total', '42', '400', '100 %', '', ''],
    ]);
    const md = profileMarkdown('2026-12-05T08:00:00Z', ['command:   npm run bench -- --profile'], [p]);
    expect(md).toContain('### 2026-12-05T08:00:00Z\n\n- command: `npm run bench -- --profile`\n');
    expect(md).toContain('#### a step, one step after 1 warm-up\n\n| op | dispatches | GPU ms | share | rate | kernels |');
  });
});

const hasTorch = (() => {
  try {
    execFileSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
})();
// CI (.ci/run) installs PyTorch and sets BYOL_REQUIRE_TORCH=1: there these run, and fail without torch.
const requireTorch = process.env.BYOL_REQUIRE_TORCH === '1';

describe.skipIf(!hasTorch && !requireTorch)('torch worker, with Python', () => {
  const workers: TorchWorker[] = [];
  afterAll(() => {
    for (const w of workers) w.close();
  });

  const M = 5;
  const K = 7;
  const N = 3;
  // Positive entries: no cancellation in the products' sums, so torch's float32 product is within K·2⁻²⁴
  // relative of the float64 one in every entry, whatever the draw (with signs, an entry near zero can lose
  // most of its digits and exceed the row's tolerance of 1e-5 by chance).
  const a = Float32Array.from({ length: M * K }, () => 0.5 + rand());
  const b = Float32Array.from({ length: K * N }, () => 0.5 + rand());
  const ref = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) ref[i * N + j]! += a[i * K + k]! * b[k * N + j]!;
  const matmul = { op: 'matmul', inputs: { a: { data: a, shape: [M, K] }, b: { data: b, shape: [K, N] } } };

  it('times a small matmul and returns its result', async () => {
    expect(hasTorch, `BYOL_REQUIRE_TORCH=1, but ${TORCH_PYTHON} cannot import torch (apt-get install -y python3-torch python3-torchvision)`).toBe(true);
    const worker = TorchWorker.start();
    workers.push(worker);
    const info = await worker.hello();
    expect(info.torch).toMatch(/^\d+\.\d+/);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    const h = await worker.setup(matmul);
    const out = await worker.run(h);
    expect(out.first!.shape).toEqual([M, N]);
    expect(out.first!.data).toBeInstanceOf(Float32Array);
    for (let i = 0; i < M * N; i++) expect(Math.abs(out.first!.data[i]! - ref[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(ref[i]!)));
    expect(Number.isFinite(await worker.time(h))).toBe(true);
    // A failure comes back as a rejected request, and the worker goes on serving.
    await expect(worker.setup({ op: 'nosuch' })).rejects.toThrow(/torch: ValueError: unknown op 'nosuch'/);
    await expect(worker.run(12345)).rejects.toThrow(/torch: KeyError/);
    const mismatched = await worker.setup({ op: 'matmul', inputs: { a: matmul.inputs.a, b: matmul.inputs.a } });
    await expect(worker.run(mismatched)).rejects.toThrow(/torch: RuntimeError/);
    worker.dispose(h);
    expect((await worker.run(await worker.setup(matmul))).first!.shape).toEqual([M, N]);
  });

  it("runs a row through the bench's runner: the check against torch, then torch's own timings", async () => {
    const torch = await loadTorch();
    workers.push(torch.worker);
    expect(torch.info).toMatch(/^PyTorch \S+ on the CPU \(.*threads; Python .* at \/usr\/bin\/python3\)$/);
    // A CPU stand-in for ours (the runner only needs the Backend interface): the float64 product, rounded.
    const product = Float32Array.from(ref);
    const wrong = Float32Array.from(ref, (v, i) => (i === 4 ? v + 0.5 : v));
    const stand = (result: Float32Array): Backend => ({
      name: 'ours',
      ctx: torch.ctx,
      info: 'CPU stand-in',
      async activate() {},
      async wait() {},
      async readFirst() {
        return result;
      },
      disposeOutputs() {},
    });
    const row = (label: string, ours: Float32Array): BenchRow => ({
      family: 'matmul',
      label,
      work: { flops: 2 * M * N * K },
      check: { against: ['tfjs-webgpu', 'torch'], tolerance: 1e-5 },
      impls: { ours: { setup: () => ({ run: () => [], dispose() {} }) }, torch: torchImpl(() => matmul) },
    });
    const logs: string[] = [];
    const ok = await runRow(row('agrees', product), [stand(product), torch], { reps: 3, warmup: 1, sync: 'fence' }, (l) => logs.push(l));
    expect(ok.aborted).toBeUndefined();
    expect(ok.checks).toHaveLength(1);
    expect(ok.checks![0]!.against).toBe('torch');
    expect(ok.checks![0]!.maxRelDiff).toBeLessThan(1e-5);
    const t = ok.cells.find((c) => c.backend === 'torch')!;
    expect(t.status).toBe('ok');
    expect(t.samplesMs).toHaveLength(3);
    expect(t.throughput).toBeGreaterThan(0);
    const bad = await runRow(row('differs', wrong), [stand(wrong), torch], { reps: 3, warmup: 1, sync: 'fence' }, (l) => logs.push(l));
    expect(bad.aborted).toMatch(/^ours differs from torch: max rel diff/);
    expect(bad.checks![0]!.ok).toBe(false);
    expect(bad.cells.find((c) => c.backend === 'torch')!.samplesMs).toEqual([]);
  });
});
