/**
 * The encoder pictures' GPU side: the random encoder is the one the experiment's BYOL phase starts from;
 * encoder files (ours, and one PyTorch wrote) load with their stem and width, and other networks are refused
 * with a message naming the problem; the figures drawn with the pictures are the kNN monitor's and a
 * brute-force count of the neighbours' classes over the same features.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { presetConfig } from '../../src/byol/config.js';
import { Byol } from '../../src/byol/model.js';
import { ByolAugment, IDENTITY_VIEW } from '../../src/byol/augment.js';
import { evaluateEncoder, features, withLabeledBatchNorm } from '../../src/byol/evaluation.js';
import { PHASES } from '../../src/byol/experiment-state.js';
import { EncoderFileError, encoderFromCheckpoint, encoderPictures, evaluateRandomArm, randomEncoder } from '../../src/byol/inspect.js';
import type { ResNet } from '../../src/nn/resnet.js';
import { encodeCheckpoint, modelStateDict } from '../../src/nn/checkpoint.js';
import { encodeSafetensors, decodeSafetensors, type SafeTensor } from '../../src/nn/safetensors.js';
import { deriveSeed } from '../../src/data/prng.js';
import { InMemoryImageDataset } from '../../src/data/dataset.js';

const TORCH_FILE = fileURLToPath(new URL('../fixtures/nn/resnet18_w4_torch.safetensors', import.meta.url));

beforeAll(async () => {
  await engine();
});

function smallConfig() {
  const c = presetConfig('smoke');
  c.width = 4;
  c.seed = 11;
  c.byol = { ...c.byol, projectorHidden: 16, projectionDim: 8, predictorHidden: 16 };
  return c;
}

it("rebuilds the random encoder the experiment's BYOL phase starts from", async () => {
  for (const stem of ['imagenet', 'small'] as const) {
    const c = { ...smallConfig(), stem };
    const byol = Byol.create(c, deriveSeed(c.seed, PHASES.indexOf('byol') + 1));
    const enc = randomEncoder(c);
    const other = randomEncoder({ ...c, seed: c.seed + 1 });
    try {
      const want = await modelStateDict(byol.online.encoder);
      const got = await modelStateDict(enc);
      expect(got.map(([k]) => k)).toEqual(want.map(([k]) => k));
      got.forEach(([k, t], i) => expect([...t.data], k).toEqual([...want[i]![1].data]));
      const diff = await modelStateDict(other);
      expect([...diff[0]![1].data]).not.toEqual([...want[0]![1].data]);
    } finally {
      byol.dispose();
      enc.dispose();
      other.dispose();
    }
  }
});

it("loads PyTorch's width-4 ResNet-18 (fc left out) and ours with its stem, width and run settings", async () => {
  const bytes = new Uint8Array(readFileSync(TORCH_FILE));
  const torch = encoderFromCheckpoint(bytes, 'resnet18_w4_torch.safetensors');
  try {
    expect([torch.stem, torch.width, torch.config]).toEqual(['imagenet', 4, null]);
    const file = decodeSafetensors(bytes).tensors;
    for (const [k, t] of await modelStateDict(torch.encoder)) {
      if (t.dtype === 'F32') expect([...t.data], k).toEqual([...(file.get(k)!.data as Float32Array)]);
    }
  } finally {
    torch.encoder.dispose();
  }
  const c = { ...smallConfig(), stem: 'small' as const, width: 8 };
  const enc = randomEncoder(c);
  const ours = encoderFromCheckpoint(await encodeCheckpoint({ model: enc, metadata: { 'byol.config': JSON.stringify(c) } }), 'ours');
  expect([ours.stem, ours.width, ours.config?.seed, ours.config?.width]).toEqual(['small', 8, 11, 8]);
  enc.dispose();
  ours.encoder.dispose();
});

it('refuses files that hold no ResNet-18 encoder, naming what is wrong', async () => {
  const torch = decodeSafetensors(new Uint8Array(readFileSync(TORCH_FILE))).tensors;
  const withTensors = (edit: (m: Map<string, SafeTensor>) => void): Uint8Array => {
    const m = new Map(torch);
    edit(m);
    return encodeSafetensors(m);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['garbage', Uint8Array.from({ length: 64 }, () => Math.floor(rand() * 256)), /garbage is not a readable safetensors file/],
    ['mlp', encodeSafetensors([['0.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) }]]), /mlp does not hold a ResNet-18 encoder \(no conv1\.weight; it holds 0\.weight\)/],
    [
      'byol-state',
      encodeSafetensors([['online.encoder.conv1.weight', { dtype: 'F32', shape: [4, 3, 7, 7], data: new Float32Array(588) }]]),
      /byol-state is a BYOL training checkpoint, not an encoder; use the run's byol-encoder\.safetensors/,
    ],
    ['deeper', withTensors((m) => m.set('layer1.2.conv1.weight', m.get('layer1.1.conv1.weight')!)), /deeper holds another network than ResNet-18; unexpected layer1\.2\.conv1\.weight/],
    ['shallower', withTensors((m) => m.delete('layer4.1.conv2.weight')), /shallower holds another network than ResNet-18; missing layer4\.1\.conv2\.weight/],
    [
      'wider',
      withTensors((m) => m.set('layer1.0.conv1.weight', { dtype: 'F32', shape: [8, 4, 3, 3], data: new Float32Array(288) })),
      /wider: 'layer1\.0\.conv1\.weight' has shape \[8, 4, 3, 3\] in the file but \[4, 4, 3, 3\] in the model; it holds another network than ResNet-18/,
    ],
    ['grey-stem', withTensors((m) => m.set('conv1.weight', { dtype: 'F32', shape: [4, 1, 7, 7], data: new Float32Array(196) })), /grey-stem: conv1\.weight has shape \[4, 1, 7, 7\]/],
  ];
  for (const [what, bytes, message] of cases) {
    let err: unknown = null;
    try {
      encoderFromCheckpoint(bytes, what).encoder.dispose();
    } catch (e) {
      err = e;
    }
    expect(err, what).toBeInstanceOf(EncoderFileError);
    expect((err as Error).message, seedNote).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  }
});

it("reports the kNN monitor's accuracy and the neighbours' class matches of the features the pictures use", async () => {
  const c = { ...smallConfig(), imageSize: 16, knnK: 5, batch: 16 };
  const info = (name: string) => ({ name, height: 12, width: 12, channels: 3, classNames: ['a', 'b', 'c'] });
  // Three classes of images: a bright channel per class, with noise.
  const make = (n: number, name: string) => {
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const pixels = Uint8Array.from({ length: n * 3 * 144 }, (_, i) => {
      const img = Math.floor(i / 432);
      const ch = Math.floor((i % 432) / 144);
      return (ch === labels[img] ? 150 : 40) + Math.floor(rand() * 60);
    });
    return new InMemoryImageDataset(info(name), pixels, labels);
  };
  const labeled = make(30, 'labeled');
  const test = make(25, 'test');
  const stats = { mean: [0.35, 0.35, 0.35], std: [0.25, 0.25, 0.25] };
  const data = { name: 'three colours', labeled, test, numClasses: 3, classNames: ['a', 'b', 'c'], stats };
  const a = randomEncoder(c);
  const b = randomEncoder({ ...c, seed: 3 });
  try {
    const p = await encoderPictures(
      [
        { name: 'random encoder', encoder: a },
        { name: 'other encoder', encoder: b },
      ],
      data,
      c,
      { k: 4 },
    );
    expect([p.k, p.queries, p.mapPoints]).toEqual([4, 3, 25]);
    const prep = new ByolAugment({ size: c.imageSize, views: [IDENTITY_VIEW] }, stats);
    for (const [i, enc] of [a, b].entries()) {
      const { knn } = await evaluateEncoder(enc, data, prep, c);
      expect(p.encoders[i]!.knnAccuracy, seedNote).toBe(knn);
      // Brute force: the 4 most cosine-similar labeled images of every test image, the features taken as
      // every evaluation takes them (batch-norm statistics of the labeled images).
      const [tr, te] = await withLabeledBatchNorm(enc, labeled, prep, c.batch, async (e) => [await features(e, labeled, prep, c.batch), await features(e, test, prep, c.batch)]);
      const [trF, teF] = [(await tr.data()) as Float32Array, (await te.data()) as Float32Array];
      const d = tr.shape[1]!;
      tr.dispose();
      te.dispose();
      let same = 0;
      for (let q = 0; q < 25; q++) {
        const cos = Array.from({ length: 30 }, (_, j) => {
          let dot = 0;
          let nq = 0;
          let nj = 0;
          for (let t = 0; t < d; t++) {
            dot += teF[q * d + t]! * trF[j * d + t]!;
            nq += teF[q * d + t]! ** 2;
            nj += trF[j * d + t]! ** 2;
          }
          return [dot / Math.sqrt(nq * nj), j] as const;
        }).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        for (const [, j] of cos.slice(0, 4)) if (labeled.labels![j] === test.labels![q]) same++;
      }
      expect(p.encoders[i]!.neighbourMatch, seedNote).toBeCloseTo(same / 100, 12);
    }
    expect(p.neighboursSvg).toContain('three colours: the 4 nearest of 30 labeled training images to 3 test images');
    expect((p.embeddingSpec.data as { values: unknown[] }).values).toHaveLength(50);
  } finally {
    a.dispose();
    b.dispose();
  }
});

it('is drawn from the same file the same way twice (seeded queries and map)', async () => {
  // Nothing of the pictures depends on the clock or Math.random: two runs give the same SVG and spec.
  const c = { ...smallConfig(), imageSize: 16, batch: 16 };
  const pixels = Uint8Array.from({ length: 40 * 3 * 64 }, () => Math.floor(rand() * 256));
  const labels = Int32Array.from({ length: 40 }, (_, i) => i % 4);
  const ds = new InMemoryImageDataset({ name: 'noise', height: 8, width: 8, channels: 3, classNames: ['w', 'x', 'y', 'z'] }, pixels, labels);
  const data = { name: 'noise', labeled: ds, test: ds, numClasses: 4, classNames: ds.classNames, stats: { mean: [0.5, 0.5, 0.5], std: [0.3, 0.3, 0.3] } };
  const draw = async () => {
    const enc = randomEncoder(c);
    try {
      return await encoderPictures([{ name: 'random encoder', encoder: enc }], data, c);
    } finally {
      enc.dispose();
    }
  };
  const [p1, p2] = [await draw(), await draw()];
  expect(p2.neighboursSvg).toBe(p1.neighboursSvg);
  expect(JSON.stringify(p2.embeddingSpec)).toBe(JSON.stringify(p1.embeddingSpec));
});

it('takes the random arm as the mean over its draws: draw 0 the encoder BYOL starts from, the others new encoders of the seed', async () => {
  const c = { ...smallConfig(), imageSize: 16, knnK: 3, batch: 16, randomDraws: 3 };
  const info = (name: string) => ({ name, height: 12, width: 12, channels: 3, classNames: ['a', 'b', 'c'] });
  const make = (n: number, name: string) => {
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const pixels = Uint8Array.from({ length: n * 3 * 144 }, (_, i) => {
      const img = Math.floor(i / 432);
      return (Math.floor((i % 432) / 144) === labels[img] ? 120 : 60) + Math.floor(rand() * 90);
    });
    return new InMemoryImageDataset(info(name), pixels, labels);
  };
  const stats = { mean: [0.4, 0.4, 0.4], std: [0.25, 0.25, 0.25] };
  const data = { labeled: make(24, 'labeled'), test: make(21, 'test'), numClasses: 3 };
  const prep = new ByolAugment({ size: c.imageSize, views: [IDENTITY_VIEW] }, stats);
  const first = randomEncoder(c);
  const arm = await evaluateRandomArm(c, data, prep, first);
  const rebuilt = await evaluateRandomArm(c, data, prep);
  expect(rebuilt).toEqual(arm);
  // Each draw is evaluateEncoder of randomEncoder(c, k), and the arm's figures are their plain means.
  for (let k = 0; k < 3; k++) {
    const enc = randomEncoder(c, k);
    const ev = await evaluateEncoder(enc, data, prep, c);
    enc.dispose();
    expect([arm.perDraw.knnAccuracy[k], arm.perDraw.probeAccuracy[k], arm.perDraw.probeLoss[k]], `draw ${k}; ${seedNote}`).toEqual([ev.knn, ev.probe.accuracy, ev.probe.loss]);
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  expect([arm.knn, arm.probeAccuracy, arm.probeLoss]).toEqual([mean(arm.perDraw.knnAccuracy), mean(arm.perDraw.probeAccuracy), mean(arm.perDraw.probeLoss)]);
  // The given first encoder is evaluated, not released; the draws' weights differ from one another.
  const w = async (e: ResNet) => [...(await modelStateDict(e))[0]![1].data].slice(0, 32);
  const [d1, d2] = [randomEncoder(c, 1), randomEncoder(c, 2)];
  const [w0, w1, w2] = [await w(first), await w(d1), await w(d2)];
  expect(w1).not.toEqual(w0);
  expect(w2).not.toEqual(w1);
  const otherSeed = randomEncoder({ ...c, seed: c.seed + 1 }, 1);
  expect(await w(otherSeed)).not.toEqual(w1);
  for (const e of [first, d1, d2, otherSeed]) e.dispose();
  // One draw is the encoder BYOL starts from alone.
  const one = await evaluateRandomArm({ ...c, randomDraws: 1 }, data, prep);
  expect([one.knn, one.probeAccuracy, one.perDraw.probeAccuracy]).toEqual([arm.perDraw.knnAccuracy[0], arm.perDraw.probeAccuracy[0], [arm.perDraw.probeAccuracy[0]]]);
  await expect(evaluateRandomArm({ ...c, randomDraws: 0 }, data, prep)).rejects.toThrow(/randomDraws must be a whole number ≥ 1, not 0/);
  expect(() => randomEncoder(c, -1)).toThrow(/draw must be a whole number ≥ 0/);
});
