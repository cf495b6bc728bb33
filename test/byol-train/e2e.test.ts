/**
 * The main job end to end through its command line, on a tiny image-folder dataset the test writes: the
 * smoke preset finishes and writes its outputs; a run killed with SIGKILL after its first checkpoint and
 * resumed with --resume produces the metrics of an uninterrupted run with the same seed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderDataset } from '../folder-dataset.js';

const root = mkdtempSync(join(tmpdir(), 'byol-e2e-'));
const data = join(root, 'data');

beforeAll(() => writeFolderDataset(data));

afterAll(() => rmSync(root, { recursive: true, force: true }));

const baseArgs = (out: string) => ['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--preset', 'smoke', '--dataset', `folder:${data}`, '--width', '4', '--seed', '3', '--out', out];

function run(args: string[], killWhen?: (out: string) => boolean, out?: string): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timer: NodeJS.Timeout | undefined;
    if (killWhen && out) {
      timer = setInterval(() => {
        if (killWhen(out)) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, output });
    });
  });
}

/** metrics.jsonl without the timing fields, which differ from run to run. */
function metrics(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      delete r.seconds;
      delete r.imagesPerSecond;
      return r;
    });
}

it('runs the smoke preset end to end and writes metrics, summary, curves and checkpoints', async () => {
  const out = join(root, 'full');
  const r = await run(baseArgs(out));
  expect(r.code, r.output).toBe(0);
  for (const f of ['metrics.jsonl', 'summary.json', 'curves.png', 'checkpoint.safetensors', 'supervised-resnet18.safetensors', 'byol-encoder.safetensors', 'finetuned-resnet18.safetensors']) expect(existsSync(join(out, f)), f).toBe(true);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(summary.splits).toMatchObject({ labeled: 6, classes: 3 });
  expect(summary.finished).toBe(true);
  for (const v of [
    summary.supervised.finalTestAccuracy,
    summary.semiSupervised.finalTestAccuracy,
    summary.knn.before,
    summary.knn.after,
    summary.linearProbe.before,
    summary.linearProbe.after,
  ]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  expect(summary.byol.lossPerEpoch).toHaveLength(1);
  expect(Number.isFinite(summary.byol.lossPerEpoch[0])).toBe(true);
  const phases = metrics(out).map((m) => `${m.phase}:${m.epoch}`);
  expect(phases).toEqual(['supervised:1', 'byol:0', 'byol:1', 'finetune:1']);
  for (const m of metrics(out).filter((m) => m.testLoss !== undefined)) expect(Number.isFinite(m.testLoss)).toBe(true);
  expect(summary.differences['fine-tuned − supervised'].values).toHaveLength(1);
  expect(r.output).toMatch(/fine-tuned − supervised\s+[+−]\d+\.\d\d points/);
  expect(r.output).toMatch(/finetune: fc starts as the linear probe of the pretrained encoder/);
  // A second run into the same folder without --resume is refused, and nothing is lost.
  const again = await run(baseArgs(out));
  expect(again.code).toBe(2);
  expect(again.output).toMatch(/--resume/);
  expect(existsSync(join(out, 'summary.json'))).toBe(true);
}, 240_000);

it('resumes a run killed after its first checkpoint and reproduces the uninterrupted metrics', async () => {
  const reference = join(root, 'full');
  const out = join(root, 'killed');
  const killed = await run(baseArgs(out), (o) => existsSync(join(o, 'checkpoint.safetensors')), out);
  expect(killed.signal).toBe('SIGKILL');
  expect(existsSync(join(out, 'summary.json'))).toBe(false);
  const resumed = await run([...baseArgs(out), '--resume']);
  expect(resumed.code, resumed.output).toBe(0);
  expect(resumed.output).toMatch(/resuming: supervised has 1 finished epoch/);
  expect(metrics(out)).toEqual(metrics(reference));
}, 240_000);

it('runs one protocol per seed with --seeds and reports mean ± sd, the paired differences and the gain curve', async () => {
  const out = join(root, 'seeds');
  const args = baseArgs(out).filter((a, i, all) => a !== '--seed' && all[i - 1] !== '--seed');
  // Two BYOL epochs of 64 images (the smoke pool, 4 batches of 16): a curve point after the first, the
  // fine-tuned arm after the second.
  const r = await run([...args, '--seeds', '1,2', '--finetune-epochs', '2', '--epochs', '2', '--curve-every', '64']);
  expect(r.code, r.output).toBe(0);
  for (const seed of [1, 2]) expect(existsSync(join(out, `seed-${seed}`, 'summary.json')), `seed ${seed}`).toBe(true);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(summary.seeds).toEqual([1, 2]);
  expect(summary.perSeed.map((s: { seed: number }) => s.seed)).toEqual([1, 2]);
  const sup = summary.perSeed.map((s: { results: { supervised: number } }) => s.results.supervised);
  expect(summary.arms.supervised.values).toEqual(sup);
  expect(summary.arms.supervised.mean).toBeCloseTo((sup[0] + sup[1]) / 2, 12);
  const d = summary.differences['linear probe: pretrained − random'];
  expect(d.values).toHaveLength(2);
  expect(d.verdict).toBe('within noise'); // two seeds never make a verdict
  expect(existsSync(join(out, 'curves.png'))).toBe(true);
  // The gain curve: each gain after each BYOL epoch, the fine-tuned one from the curve's fine-tuning (epoch 1)
  // and from the fine-tuned arm (epoch 2), in the summary, the picture and the console.
  for (const seed of [1, 2]) {
    const dir = join(out, `seed-${seed}`);
    const byol = metrics(dir).filter((m) => m.phase === 'byol');
    expect(byol.map((m) => [m.epoch, m.images, typeof m.finetuneAccuracy])).toEqual([[0, undefined, 'undefined'], [1, 64, 'number'], [2, 128, 'undefined']]);
    expect(existsSync(join(dir, 'gains.png'))).toBe(true);
    const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const ft = s.gainCurve.filter((g: { gain: string }) => g.gain === 'fine-tuned − supervised');
    expect(ft.map((g: { images: number }) => g.images)).toEqual([64, 128]);
    expect(ft[0].mean).toBeCloseTo(100 * ((byol[1].finetuneAccuracy as number) - s.results.supervised), 9);
    expect(ft[1].mean).toBeCloseTo(100 * (s.results.finetuned - s.results.supervised), 9);
  }
  expect(existsSync(join(out, 'gains.png'))).toBe(true);
  const probeCurve = summary.gainCurve.filter((g: { gain: string }) => g.gain === 'linear probe: pretrained − random');
  expect(probeCurve.map((g: { images: number; seeds: number }) => [g.images, g.seeds])).toEqual([[64, 2], [128, 2]]);
  expect(probeCurve[1].mean).toBeCloseTo(100 * d.mean, 9);
  expect(r.output).toMatch(/gain curve \(points against images seen by BYOL\):/);
  expect(r.output).toMatch(/finetune from BYOL epoch 1, 2 epochs: train loss/);
  expect(r.output).toMatch(/over 2 seeds \(1, 2\), mean ± sd:/);
  expect(r.output).toMatch(/kNN: pretrained − random\s+[+−]\d+\.\d\d points \(SE \d+\.\d\d, 2 seeds\)/);
  // A study run over several sessions: seed folders kept without their checkpoints are read back by --resume,
  // not run again, and give the same summary; a finished seed of other settings stops the study.
  const combined = join(root, 'combined');
  for (const seed of [1, 2]) {
    mkdirSync(join(combined, `seed-${seed}`), { recursive: true });
    for (const f of ['summary.json', 'metrics.jsonl']) cpSync(join(out, `seed-${seed}`, f), join(combined, `seed-${seed}`, f));
  }
  const studyArgs = (finetuneEpochs: string) => [...args.map((a) => (a === out ? combined : a)), '--seeds', '1,2', '--finetune-epochs', finetuneEpochs, '--epochs', '2', '--curve-every', '64', '--resume'];
  const again = await run(studyArgs('2'));
  expect(again.code, again.output).toBe(0);
  expect(again.output).toMatch(/seed 1: finished earlier, read back from .*seed-1.summary\.json/);
  expect(again.output).not.toMatch(/supervised epoch/);
  const back = JSON.parse(readFileSync(join(combined, 'summary.json'), 'utf8'));
  expect(back.arms).toEqual(summary.arms);
  expect(back.differences).toEqual(summary.differences);
  expect(back.gainCurve).toEqual(summary.gainCurve);
  const other = await run(studyArgs('3'));
  expect(other.code).toBe(1);
  expect(other.output).toMatch(/seed-1 holds a finished run of other settings \(finetune\.epochs: 2 there, 3 now\)/);
  // Seeds are checked before anything is touched.
  const bad = await run([...args.map((a) => (a === out ? join(root, 'bad-seeds') : a)), '--seeds', '1,x']);
  expect(bad.code).toBe(2);
  expect(bad.output).toMatch(/--seeds must be a comma-separated list of integers/);
  expect(existsSync(join(root, 'bad-seeds'))).toBe(false);
}, 240_000);

it('rejects unknown flags and bad values with the usage text', async () => {
  const bad = await run(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--epochs', 'many']);
  expect(bad.code).toBe(2);
  expect(bad.output).toMatch(/--epochs must be an integer/);
  expect(bad.output).toMatch(/usage: npm run train:byol/);
  const unknown = await run(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--frobnicate']);
  expect(unknown.code).toBe(2);
  expect(unknown.output).toMatch(/unknown option --frobnicate/);
  const help = await run(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--help']);
  expect(help.code).toBe(0);
  expect(help.output).toMatch(/--resume/);
}, 120_000);
