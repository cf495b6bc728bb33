/**
 * The PyTorch reference (scripts/byol_reference.py) against the TypeScript run, without PyTorch at test time:
 * test/fixtures/byol/reference.json holds what the reference computes (written by
 * test/byol/make-reference-fixture.py), and this test computes the same from the project's own code.
 *
 *   - Splits: the reference's --print-splits fingerprint (sha256 and first entries of the labeled, pool,
 *     held-out and test index lists, the normalization statistics, class names and label sequences) of the
 *     tiny folder dataset of test/folder-dataset.ts and of a synthetic CIFAR-10 binary release (writeCifar10,
 *     the generator's write_cifar10), from openDataset → semiSupervisedSplit → prepareData. Indices, classes
 *     and labels must be identical; the statistics agree to the bit (same summation order) and are compared
 *     to 1e-15. This holds the reference's folder listing (sorting, class numbering), PNG decoding, CIFAR-10
 *     reading (data folder, batches.meta.txt, channel planes) and split rules to the TypeScript ones.
 *   - Linear probe: linearProbe (src/byol/probe.ts) on the fixture's features against the reference's
 *     linear_probe: the same λ, cross-validation accuracies and test accuracy; the test loss and the folded
 *     weights to 1e-6, the cross-validation losses to 1e-3 (both run the same L-BFGS from zero in float64; only
 *     summation orders differ).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../../src/data/open.js';
import { semiSupervisedSplit } from '../../src/data/splits.js';
import type { Subset } from '../../src/data/dataset.js';
import { prepareData } from '../../src/byol/experiment.js';
import { presetConfig, type ExperimentConfig, type PresetName } from '../../src/byol/config.js';
import { linearProbe } from '../../src/byol/probe.js';
import { writeFolderDataset } from '../folder-dataset.js';

interface Fingerprint {
  [k: string]: unknown;
}
interface ProbeCase {
  name: string;
  numClasses: number;
  dim: number;
  options: { lambdas: number[]; folds: number; maxIterations: number };
  trainFeatures: number[];
  trainLabels: number[];
  testFeatures: number[];
  testLabels: number[];
  result: { accuracy: number; loss: number; lambda: number; cvLoss: number[]; cvAccuracy: number[]; weight: number[]; bias: number[] };
}
interface SplitCase {
  settings: Partial<ExperimentConfig> & { preset: PresetName };
  fingerprint: Fingerprint;
}
interface Fixture {
  splits: SplitCase[];
  cifarSplits: SplitCase[];
  probe: ProbeCase[];
}

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/byol/reference.json', import.meta.url)), 'utf8')) as Fixture;

const sha16 = (a: Int32Array): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

/**
 * A synthetic CIFAR-10 binary release in DATA_DIR/cifar-10-batches-bin: record r (0–99 in five training files,
 * 1000–1019 in the test file) has label (7r + ⌊r/8⌋) mod 10 and pixel byte k = (31r + 7k + 50·⌊k/1024⌋) mod 256.
 */
function writeCifar10(dataDir: string): void {
  const dir = join(dataDir, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const records = (first: number, n: number): Uint8Array => {
    const out = new Uint8Array(n * 3073);
    for (let i = 0; i < n; i++) {
      const r = first + i;
      out[i * 3073] = (7 * r + Math.floor(r / 8)) % 10;
      for (let k = 0; k < 3072; k++) out[i * 3073 + 1 + k] = (31 * r + 7 * k + 50 * Math.floor(k / 1024)) % 256;
    }
    return out;
  };
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `data_batch_${i + 1}.bin`), records(20 * i, 20));
  writeFileSync(join(dir, 'test_batch.bin'), records(1000, 20));
  writeFileSync(join(dir, 'batches.meta.txt'), Array.from({ length: 10 }, (_, c) => `class ${c}`).join('\n') + '\n\n');
}

/** The reference's split_fingerprint, from the project's data code. */
async function fingerprint(dataset: string, settings: SplitCase['settings'], dataDir?: string): Promise<Fingerprint> {
  const { preset, ...over } = settings;
  const config = { ...presetConfig(preset), ...over, dataset } as ExperimentConfig;
  const opened = await openDataset(config.dataset, dataDir ? { dataDir } : {});
  const split = semiSupervisedSplit(opened, { labeledPerClass: config.labelsPerClass, seed: config.seed });
  const data = await prepareData(split, config, opened.name);
  const un = split.unlabeledTrainIndices;
  const lists: Record<string, Int32Array> = {
    labeled: split.labeledIndices,
    pool: Int32Array.from((data.pool as Subset).indices, (i) => un[i]!),
    heldOut: Int32Array.from((data.heldOut as Subset).indices, (i) => un[i]!),
    test: (data.test as Subset).indices,
  };
  const out: Fingerprint = {};
  for (const [k, a] of Object.entries(lists)) out[k] = { n: a.length, sha256: sha16(a), first: Array.from(a.slice(0, 5)) };
  const { mean, std } = data.stats;
  const grey = new Set(mean).size === 1 && new Set(std).size === 1;
  out.stats = grey ? { mean: mean[0], std: std[0] } : { mean: [...mean], std: [...std] };
  const train = opened.train;
  const test = opened.test!;
  out.dataset = {
    train: train.length,
    test: test.length,
    shape: [train.channels, train.height, train.width],
    classes: [...train.classNames],
    trainLabels: sha16(Int32Array.from(train.labels!)),
    testLabels: sha16(Int32Array.from(test.labels!)),
  };
  await opened.close();
  return out;
}

function expectSameFingerprint(got: Fingerprint, want: Fingerprint): void {
  const { stats: gotStats, ...gotRest } = got as { stats: { mean: number[]; std: number[] } };
  const { stats: wantStats, ...wantRest } = want as { stats: { mean: number[]; std: number[] } };
  expect(gotRest).toEqual(wantRest);
  for (const k of ['mean', 'std'] as const) {
    const [g, w] = [[gotStats[k]].flat(), [wantStats[k]].flat()];
    expect(g.length).toBe(w.length);
    g.forEach((v, j) => expect(Math.abs(v - w[j]!)).toBeLessThan(1e-15));
  }
}

describe('the PyTorch reference: splits', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'byol-reference-'));
    writeFolderDataset(join(root, 'data'));
    writeCifar10(join(root, 'cifar'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const [i, c] of fixture.splits.entries()) {
    it(`folder dataset, case ${i}: ${JSON.stringify(c.settings)}`, async () => {
      expectSameFingerprint(await fingerprint(`folder:${join(root, 'data')}`, c.settings), c.fingerprint);
    });
  }
  for (const [i, c] of fixture.cifarSplits.entries()) {
    it(`CIFAR-10 binary release, case ${i}: ${JSON.stringify(c.settings)}`, async () => {
      expectSameFingerprint(await fingerprint('cifar10', c.settings, join(root, 'cifar')), c.fingerprint);
    });
  }
});

describe('the PyTorch reference: linear probe', () => {
  for (const c of fixture.probe) {
    it(c.name, () => {
      const r = linearProbe(c.trainFeatures, c.trainLabels, c.testFeatures, c.testLabels, c.numClasses, c.dim, c.options);
      const want = c.result;
      expect(r.lambda).toBe(want.lambda);
      expect(r.cvLoss.length).toBe(want.cvLoss.length);
      // Weakly regularized fold fits stop (gradient 1e-5) at slightly different points of a flat valley, and the
      // held-out cross-entropy moves along it: 1e-3 relative (seen: 6e-5 at λ = 1e-4).
      r.cvLoss.forEach((l, k) => expect(Math.abs(l - want.cvLoss[k]!)).toBeLessThan(1e-3 * Math.max(1, want.cvLoss[k]!)));
      r.cvAccuracy.forEach((a, k) => expect(a).toBeCloseTo(want.cvAccuracy[k]!, 12));
      expect(r.accuracy).toBe(want.accuracy);
      expect(Math.abs(r.loss - want.loss)).toBeLessThan(1e-6);
      const scale = Math.max(...want.weight.map(Math.abs));
      expect(Math.max(...Array.from(r.weight, (w, k) => Math.abs(w - want.weight[k]!)))).toBeLessThan(1e-6 * scale);
      expect(Math.max(...Array.from(r.bias, (b, k) => Math.abs(b - want.bias[k]!)))).toBeLessThan(1e-6 * Math.max(1, scale));
    });
  }
});
