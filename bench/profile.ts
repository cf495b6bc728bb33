/**
 * `npm run bench -- --profile`: where a training step's GPU time goes. One eager ResNet-18 training step
 * (the 'resnet18-step' row's: batch 64 at 32×32, SGD momentum), one eager inference (the 'resnet18-infer'
 * row's: the same batch, eval mode) and one eager BYOL step (the 'byol-step' row's:
 * batch 32, two views, online + EMA target, 4096-wide heads, LARS), each after warm-up steps, timed per
 * dispatch with timestamp queries (GpuRuntime.setProfiling / profile: every dispatch in its own compute pass,
 * so the total is somewhat above an unprofiled step's GPU time). One table per step: op, dispatches, GPU ms,
 * share of the step's GPU time, the op's rate where its work per step is known from the network's shapes, and
 * the kernels its dispatches ran (the variants their plans chose: 'conv2d_forward_sg', 'matmul_vec4:nt', ...).
 * Rates: GFLOP/s for the convolutions and matmuls (2 FLOPs per multiply-add), GB/s for memory-bound ops,
 * counting the minimum traffic as the bench rows do (batch norm forward: read x, write y; backward: read dy
 * and x, write dx; max pool: read the input, write the output; SGD momentum: 5 floats per parameter; LARS: 2
 * for its norms, 5 for its update; EMA: 3). Ops whose work is not counted here show no rate.
 */
import { getRuntime, type OpProfile } from '../src/index.js';
import { resnet18Convs } from './rows/conv2d.js';
import { resnet18Specs } from './rows/optim.js';
import { BYOL_BENCH_BATCH, BYOL_BENCH_CONFIG, ourByolStep } from './rows/byol.js';
import { ourInferStep, ourTrainStep, RESNET_BATCH, RESNET_CLASSES, RESNET_SIZE } from './rows/resnet.js';
import { markdownHeader, markdownTable, textTable } from './report.js';

/** An op's work in one step. */
export interface OpWork {
  flops?: number;
  bytes?: number;
}

export interface ProfileRow {
  op: string;
  dispatches: number;
  ms: number;
  /** Fraction of the step's GPU time (the sum over its ops). */
  share: number;
  flops?: number;
  bytes?: number;
  /** GFLOP/s where flops are known, else GB/s where bytes are. */
  rate?: number;
  /** The kernels the op's dispatches ran with their dispatch counts, slowest first ('conv2d_forward_sg ×20'). */
  kernels: string;
}

export interface StepProfile {
  step: string;
  warmup: number;
  totalMs: number;
  dispatches: number;
  rows: ProfileRow[];
}

const F32 = 4;

/**
 * The work of ResNet-18's encoder ops (convolutions, batch norm, max pool) for one step that runs `forward`
 * forward passes and `backward` backward passes over a batch of `n` images at `size`×`size`. The stem's input
 * gradient is not computed (the images need none).
 */
export function encoderWork(n: number, size: number, forward: number, backward: number): Record<string, OpWork> {
  let fwd = 0;
  let dx = 0;
  let bn = 0;
  for (const c of resnet18Convs(size, n)) {
    const ho = Math.floor((c.H + 2 * c.pad - c.K) / c.stride) + 1;
    const flops = 2 * n * c.C_out * ho * ho * c.C_in * c.K * c.K * c.count;
    fwd += flops;
    if (c.name !== 'conv1') dx += flops;
    bn += n * c.C_out * ho * ho * c.count; // every convolution is followed by a batch norm of its output
  }
  const stem = Math.floor((size + 2 * 3 - 7) / 2) + 1;
  const pooled = Math.floor((stem + 2 - 3) / 2) + 1;
  const pool = F32 * n * 64 * (stem * stem + pooled * pooled);
  return {
    conv2d: { flops: forward * fwd },
    'conv2d.backwardInput': { flops: backward * dx },
    'conv2d.backwardFilter': { flops: backward * fwd },
    'batchNorm.train': { bytes: forward * 2 * F32 * bn },
    'batchNorm.backward': { bytes: backward * 3 * F32 * bn },
    maxPool2d: { bytes: forward * pool },
    'maxPool2d.backward': { bytes: backward * pool },
  };
}

/** The ResNet-18 training step of the 'resnet18-step' row: one forward and one backward, fc, SGD momentum. */
export function resnetStepWork(): Record<string, OpWork> {
  const params = resnet18Specs(RESNET_CLASSES).reduce((a, s) => a + s.size, 0);
  return {
    ...encoderWork(RESNET_BATCH, RESNET_SIZE, 1, 1),
    // fc 512 → classes: forward, input gradient, weight gradient.
    matmul: { flops: 3 * 2 * RESNET_BATCH * 512 * RESNET_CLASSES },
    'sgd.step': { bytes: 5 * F32 * params },
  };
}

/** The 'resnet18-infer' row: one eval-mode forward (batch norm on running statistics) and the fc layer. */
export function resnetInferWork(): Record<string, OpWork> {
  const enc = encoderWork(RESNET_BATCH, RESNET_SIZE, 1, 0);
  return {
    conv2d: enc.conv2d!,
    // Batch norm on running statistics reads x and writes y, the same traffic as in training.
    'batchNorm.eval': enc['batchNorm.train']!,
    maxPool2d: enc.maxPool2d!,
    matmul: { flops: 2 * RESNET_BATCH * 512 * RESNET_CLASSES },
  };
}

/**
 * The BYOL step of the 'byol-step' row: both views stacked (2·batch images) through the online network
 * (forward and backward) and the target network (forward); heads Linear → BatchNorm1d → ReLU → Linear.
 */
export function byolStepWork(): Record<string, OpWork> {
  const n = 2 * BYOL_BENCH_BATCH;
  const b = BYOL_BENCH_CONFIG.byol;
  const linear = (i: number, o: number) => 2 * n * i * o;
  const projector = linear(512, b.projectorHidden) + linear(b.projectorHidden, b.projectionDim);
  const predictor = linear(b.projectionDim, b.predictorHidden) + linear(b.predictorHidden, b.projectionDim);
  // Parameters: Linear (weight, bias) → BatchNorm1d (weight, bias) → Linear (weight, bias).
  const head = (i: number, h: number, o: number) => i * h + h + 2 * h + h * o + o;
  const encoder = resnet18Specs(RESNET_CLASSES).reduce((a, s) => a + s.size, 0) - (512 * RESNET_CLASSES + RESNET_CLASSES);
  const target = encoder + head(512, b.projectorHidden, b.projectionDim);
  const online = target + head(b.projectionDim, b.predictorHidden, b.projectionDim);
  const enc = encoderWork(n, BYOL_BENCH_CONFIG.imageSize, 2, 1);
  // The heads' batch norms (BatchNorm1d over the hidden features): projector online and target, predictor online.
  const bnForward = F32 * n * (2 * b.projectorHidden + b.predictorHidden);
  const bnBackward = F32 * n * (b.projectorHidden + b.predictorHidden);
  return {
    ...enc,
    'batchNorm.train': { bytes: enc['batchNorm.train']!.bytes! + 2 * bnForward },
    'batchNorm.backward': { bytes: enc['batchNorm.backward']!.bytes! + 3 * bnBackward },
    // Online: forward, input and weight gradients of both heads; target: the projector's forward.
    matmul: { flops: 3 * (projector + predictor) + projector },
    // LARS over the online parameters: the norms read w and g; the update reads w, g, μ and writes w, μ.
    'lars.norms': { bytes: 2 * F32 * online },
    'lars.update': { bytes: 5 * F32 * online },
    // ξ ← τ·ξ + (1 − τ)·θ: read both, write ξ.
    emaUpdate: { bytes: 3 * F32 * target },
  };
}

/** The table of one step's profile: ops slowest first, with their share and rate where the work is known. */
export function profileRows(ops: readonly OpProfile[], work: Record<string, OpWork>): ProfileRow[] {
  const total = ops.reduce((a, o) => a + o.ms, 0);
  return ops.map((o) => {
    const w = work[o.op] ?? {};
    const kernels = o.kernels.map((k) => `${k.kernel} ×${k.count}`).join(', ');
    const row: ProfileRow = { op: o.op, dispatches: o.count, ms: o.ms, share: total > 0 ? o.ms / total : 0, kernels, ...w };
    const amount = w.flops ?? w.bytes;
    if (amount !== undefined && o.ms > 0) row.rate = amount / (o.ms * 1e-3) / 1e9;
    return row;
  });
}

/** Rows of cells, header first, for textTable / markdownTable. */
export function profileCells(p: StepProfile): string[][] {
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const body = p.rows.map((r) => [
    r.op,
    String(r.dispatches),
    fmt(r.ms),
    `${(100 * r.share).toFixed(1)} %`,
    r.rate === undefined ? '—' : `${fmt(r.rate)} ${r.flops !== undefined ? 'GFLOP/s' : 'GB/s'}`,
    r.kernels,
  ]);
  body.push(['total', String(p.dispatches), fmt(p.totalMs), '100 %', '', '']);
  return [['op', 'dispatches', 'GPU ms', 'share', 'rate', 'kernels'], ...body];
}

async function profileStep(
  name: string,
  make: () => { run: () => { dispose(): void }; dispose: () => void },
  work: Record<string, OpWork>,
  warmup: number,
  log: (line: string) => void,
): Promise<StepProfile> {
  const rt = getRuntime();
  const s = make();
  try {
    for (let i = 0; i < warmup; i++) {
      s.run().dispose();
      await rt.sync();
    }
    await rt.profile(true); // drop the warm-up's timings
    s.run().dispose();
    await rt.sync();
    const ops = await rt.profile(true);
    const rows = profileRows(ops, work);
    const p: StepProfile = {
      step: name,
      warmup,
      totalMs: rows.reduce((a, r) => a + r.ms, 0),
      dispatches: rows.reduce((a, r) => a + r.dispatches, 0),
      rows,
    };
    log(`  ${name}: ${p.dispatches} dispatches, ${p.totalMs.toFixed(1)} ms of GPU time`);
    return p;
  } finally {
    s.dispose();
  }
}

/** Profiles both steps (eager: every call runs its ops, none is replayed from a record). */
export async function profileSteps(warmup: number, log: (line: string) => void): Promise<StepProfile[]> {
  const rt = getRuntime();
  if (!rt.hasTimestamps) throw new Error("--profile needs the adapter's timestamp-query feature, which this adapter lacks");
  rt.setProfiling(true);
  try {
    return [
      await profileStep(
        `resnet18 train step, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE} (SGD momentum)`,
        () => ourTrainStep({ replay: false }),
        resnetStepWork(),
        warmup,
        log,
      ),
      await profileStep(
        `resnet18 inference, batch ${RESNET_BATCH}, ${RESNET_SIZE}×${RESNET_SIZE} (eval mode)`,
        () => ourInferStep({ replay: false }),
        resnetInferWork(),
        warmup,
        log,
      ),
      await profileStep(
        `byol train step, batch ${BYOL_BENCH_BATCH}, ${BYOL_BENCH_CONFIG.imageSize}×${BYOL_BENCH_CONFIG.imageSize} (two views, LARS, EMA)`,
        () => ourByolStep({ replay: false }),
        byolStepWork(),
        warmup,
        log,
      ),
    ];
  } finally {
    rt.setProfiling(false);
  }
}

export function profileText(profiles: readonly StepProfile[]): string {
  return profiles.map((p) => `${p.step}, one step after ${p.warmup} warm-up:\n${textTable(profileCells(p))}`).join('\n\n');
}

/** A Markdown section: the date as its heading, the other header lines ('key:   value') as a list, the tables. */
export function profileMarkdown(date: string, headerLines: readonly string[], profiles: readonly StepProfile[]): string {
  return [
    `### ${date}`,
    '',
    ...markdownHeader(headerLines),
    '',
    ...profiles.flatMap((p) => [`#### ${p.step}, one step after ${p.warmup} warm-up`, '', markdownTable(profileCells(p)), '']),
  ].join('\n');
}
