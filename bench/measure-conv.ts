/**
 * Quick timing of the conv2d and batch-norm kernels (not a test; the real bench lives in bench/):
 *   node scripts/run-ts.mjs test/nn/measure-conv.ts [N] [C] [HW] [reps]
 */
import { init } from '../src/tensor/engine.js';
import { uniform } from '../src/kernels/creation.js';
import { batchNormBackward, batchNormForward } from '../src/kernels/batchnorm.js';
import { conv2dBackwardFilter, conv2dBackwardInput, conv2dForward } from '../src/kernels/conv2d.js';

const [N, C, HW, reps] = process.argv.slice(2).map(Number);
const n = N || 32;
const c = C || 64;
const hw = HW || 32;
const r = reps || 3;
const rt = await init();
const x = uniform([n, c, hw, hw], 1, -1, 1);
const w = uniform([c, c, 3, 3], 2, -1, 1);
const dy = uniform([n, c, hw, hw], 3, -1, 1);
const opts = { stride: 1, padding: 1 };
const flops = 2 * n * c * hw * hw * c * 9;
async function time(label: string, f: () => { dispose(): void }) {
  f().dispose();
  await rt.sync();
  const t0 = performance.now();
  for (let i = 0; i < r; i++) f().dispose();
  await rt.sync();
  const ms = (performance.now() - t0) / r;
  console.log(`${label}: ${ms.toFixed(1)} ms, ${(flops / ms / 1e6).toFixed(2)} GFLOP/s`);
}
console.log(`N=${n} ${c}→${c} ${hw}×${hw} 3×3/1 pad 1 on ${rt.report.name}`);
await time('conv2d forward', () => conv2dForward(x, w, null, opts));
await time('conv2d input grad', () => conv2dBackwardInput(dy, w, x.shape, opts));
await time('conv2d filter grad', () => conv2dBackwardFilter(dy, x, w.shape, opts));
const gamma = uniform([c], 4, 0.5, 1.5);
const beta = uniform([c], 5, -1, 1);
const bytes = x.size * 4;
async function timeBytes(label: string, passes: number, f: () => void) {
  f();
  await rt.sync();
  const t0 = performance.now();
  for (let i = 0; i < r; i++) f();
  await rt.sync();
  const ms = (performance.now() - t0) / r;
  console.log(`${label}: ${ms.toFixed(1)} ms, ${((passes * bytes) / ms / 1e6).toFixed(2)} GB/s effective`);
}
await timeBytes('batchNorm forward (train)', 4, () => {
  const o = batchNormForward(x, gamma, beta, { training: true });
  o.y.dispose();
  o.mean.dispose();
  o.invstd.dispose();
});
const st = batchNormForward(x, gamma, beta, { training: true });
await timeBytes('batchNorm backward (train)', 5, () => {
  const o = batchNormBackward(dy, x, gamma, st, true);
  o.dx.dispose();
  o.dgamma.dispose();
  o.dbeta.dispose();
});
process.exit(0);
