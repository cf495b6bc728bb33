/**
 * The linear probe (src/byol/probe.ts) and the statistics of repeated runs (src/byol/stats.ts): the
 * objective's gradient against central differences, L-BFGS against known minima, the probe's optimality and
 * its raw-feature weights, its choice of λ from the labeled rows alone, and the paired-difference verdicts.
 */
import { describe, expect, it } from 'vitest';
import { featureScaling, lbfgs, linearProbe, logisticObjective } from '../../src/byol/probe.js';
import { formatDifference, pairedDifference, spread } from '../../src/byol/stats.js';
import { aggregate, reportLines, runResults, studyNotice } from '../../src/byol/report.js';
import { rand, seedNote } from '../helpers.js';
import { presetConfig } from '../../src/byol/config.js';
import { MIN_SEEDS, protocolFingerprint, recordedGains, recordedNoise } from '../../src/byol/noise.js';
import { gainLines } from '../../src/byol/report.js';
import type { GainPoint } from '../../src/byol/curves.js';

/** Gaussian blobs: `c` classes in `d` dimensions, `sep` apart, through a ReLU (as pooled features are). */
function blobs(n: number, d: number, c: number, sep: number, centers?: Float64Array[]): { x: Float32Array; y: Int32Array; centers: Float64Array[] } {
  const mu = centers ?? Array.from({ length: c }, () => Float64Array.from({ length: d }, () => sep * (rand() - 0.5)));
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % c;
    for (let j = 0; j < d; j++) {
      const g = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
      x[i * d + j] = Math.max(0, mu[y[i]][j] + g) + (j === 0 ? 3 : 0);
    }
  }
  return { x, y, centers: mu };
}

describe('logistic objective', () => {
  it('has the gradient of central differences (awkward sizes, with and without λ)', () => {
    for (const [n, d, c, lambda] of [
      [7, 5, 3, 0],
      [13, 11, 4, 0.37],
    ] as const) {
      const x = Float64Array.from({ length: n * d }, () => 2 * rand() - 1);
      const y = Int32Array.from({ length: n }, () => Math.floor(rand() * c));
      const p = Float64Array.from({ length: c * d + c }, () => rand() - 0.5);
      const g = new Float64Array(p.length);
      logisticObjective(p, g, x, y, n, d, c, lambda);
      const scratch = new Float64Array(p.length);
      for (let k = 0; k < p.length; k++) {
        const h = 1e-6;
        const q = p.slice();
        q[k] += h;
        const up = logisticObjective(q, scratch, x, y, n, d, c, lambda);
        q[k] -= 2 * h;
        const down = logisticObjective(q, scratch, x, y, n, d, c, lambda);
        expect(Math.abs(g[k] - (up - down) / (2 * h)), `parameter ${k} ${seedNote}`).toBeLessThan(1e-7);
      }
    }
  });

  it('computes, block by block, exactly what the plain row-by-row loop computes (every row count mod 4)', () => {
    // The loop the blocked objective must match operation for operation: a logit sums its bias, then w·x in
    // feature order; a gradient element adds its rows' terms in row order.
    const plain = (p: Float64Array, g: Float64Array, x: Float64Array, y: Int32Array, n: number, d: number, c: number, lambda: number): number => {
      g.fill(0);
      const logits = new Float64Array(c);
      let loss = 0;
      for (let i = 0; i < n; i++) {
        let max = -Infinity;
        for (let k = 0; k < c; k++) {
          let s = p[c * d + k];
          for (let j = 0; j < d; j++) s += p[k * d + j] * x[i * d + j];
          logits[k] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let k = 0; k < c; k++) {
          logits[k] = Math.exp(logits[k] - max);
          sum += logits[k];
        }
        loss += Math.log(sum) + max - (Math.log(logits[y[i]]) + max);
        for (let k = 0; k < c; k++) {
          const gk = (logits[k] / sum - (k === y[i] ? 1 : 0)) / n;
          g[c * d + k] += gk;
          for (let j = 0; j < d; j++) g[k * d + j] += gk * x[i * d + j];
        }
      }
      let reg = 0;
      for (let q = 0; q < c * d; q++) {
        reg += p[q] * p[q];
        g[q] += lambda * p[q];
      }
      return loss / n + 0.5 * lambda * reg;
    };
    for (const [n, d, c, lambda] of [
      [1, 3, 2, 0.1],
      [6, 7, 3, 0],
      [13, 11, 4, 0.37],
      [35, 37, 5, 1e-3],
      [64, 29, 10, 0],
    ] as const) {
      const x = Float64Array.from({ length: n * d }, () => 4 * rand() - 2);
      const y = Int32Array.from({ length: n }, () => Math.floor(rand() * c));
      const p = Float64Array.from({ length: c * d + c }, () => rand() - 0.5);
      const [g, want] = [new Float64Array(p.length), new Float64Array(p.length)];
      const v = logisticObjective(p, g, x, y, n, d, c, lambda);
      expect(v, `value, n ${n} ${seedNote}`).toBe(plain(p, want, x, y, n, d, c, lambda));
      let differing = 0;
      for (let k = 0; k < p.length; k++) if (g[k] !== want[k]) differing++;
      expect(differing, `gradient elements that differ, n ${n} ${seedNote}`).toBe(0);
    }
  });
});

describe('lbfgs', () => {
  it('finds the minimum of an ill-conditioned quadratic and of the Rosenbrock function', () => {
    const scales = Float64Array.from({ length: 20 }, (_, i) => 10 ** (i / 6));
    const target = Float64Array.from({ length: 20 }, () => rand() * 4 - 2);
    const x = new Float64Array(20);
    const q = lbfgs(
      (v, g) => {
        let f = 0;
        v.forEach((vi, i) => {
          f += 0.5 * scales[i] * (vi - target[i]) ** 2;
          g[i] = scales[i] * (vi - target[i]);
        });
        return f;
      },
      x,
      { maxIterations: 3000, tolerance: 1e-7 },
    );
    expect(q.converged).toBe(true);
    x.forEach((v, i) => expect(Math.abs(v - target[i]), seedNote).toBeLessThan(1e-7));
    const r = Float64Array.from([-1.2, 1]);
    const res = lbfgs(
      (v, g) => {
        const [a, b] = v;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      r,
      { maxIterations: 1000, tolerance: 1e-8 },
    );
    expect(res.converged).toBe(true);
    expect(Math.abs(r[0] - 1)).toBeLessThan(1e-6);
    expect(Math.abs(r[1] - 1)).toBeLessThan(1e-6);
  });
});

describe('linearProbe', () => {
  it('reaches the optimum of its objective, and its raw-feature weights reproduce its predictions', () => {
    const [n, d, c] = [90, 17, 3];
    const tr = blobs(n, d, c, 1.5);
    const te = blobs(61, d, c, 1.5, tr.centers);
    const lambda = 0.01;
    const r = linearProbe(tr.x, tr.y, te.x, te.y, c, d, { lambdas: [lambda], maxIterations: 1000 });
    expect(r.converged).toBe(true);
    expect(r.lambda).toBe(lambda);
    // Back to the standardized space, where the objective is defined: W_std = W_raw / invStd.
    const s = featureScaling(tr.x, n, d);
    const p = new Float64Array(c * d + c);
    for (let k = 0; k < c; k++) {
      let shift = 0;
      for (let j = 0; j < d; j++) {
        p[k * d + j] = r.weight[k * d + j] / s.invStd[j];
        shift += r.weight[k * d + j] * s.mean[j];
      }
      p[c * d + k] = r.bias[k] + shift;
    }
    const xs = Float64Array.from(tr.x, (v, i) => (v - s.mean[i % d]) * s.invStd[i % d]);
    const g = new Float64Array(p.length);
    logisticObjective(p, g, xs, tr.y, n, d, c, lambda);
    expect(Math.max(...g.map(Math.abs)), seedNote).toBeLessThan(1e-4);
    // The test accuracy and loss recomputed from the raw weights, in float64.
    let correct = 0;
    let loss = 0;
    for (let i = 0; i < te.y.length; i++) {
      const logits = Array.from({ length: c }, (_, k) => r.bias[k] + Array.from({ length: d }, (_, j) => r.weight[k * d + j] * te.x[i * d + j]).reduce((a, b) => a + b, 0));
      const max = Math.max(...logits);
      const lse = Math.log(logits.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
      loss += lse - logits[te.y[i]];
      if (logits.indexOf(max) === te.y[i]) correct++;
    }
    expect(r.accuracy).toBeCloseTo(correct / te.y.length, 12);
    expect(r.loss).toBeCloseTo(loss / te.y.length, 6);
  });

  it('classifies separable blobs and picks λ by cross-validation on the labeled rows only', () => {
    const [d, c] = [32, 5];
    const tr = blobs(100, d, c, 6);
    const te = blobs(200, d, c, 6, tr.centers);
    const r = linearProbe(tr.x, tr.y, te.x, te.y, c, d);
    expect(r.accuracy, seedNote).toBeGreaterThan(0.9);
    expect(r.cvLoss).toHaveLength(5);
    expect(r.cvLoss[[1, 1e-1, 1e-2, 1e-3, 1e-4].indexOf(r.lambda)]).toBe(Math.min(...r.cvLoss));
    // Scrambling the test labels changes the reported accuracy but not the chosen λ or the weights.
    const shuffled = Int32Array.from(te.y, (v) => (v + 1) % c);
    const r2 = linearProbe(tr.x, tr.y, te.x, shuffled, c, d);
    expect(r2.lambda).toBe(r.lambda);
    expect(Array.from(r2.weight)).toEqual(Array.from(r.weight));
    expect(r2.accuracy).toBeLessThan(0.2);
  });

  it('is at chance on features that carry no label information', () => {
    const [n, d, c] = [300, 24, 4];
    const x = Float32Array.from({ length: n * d }, () => rand());
    const y = Int32Array.from({ length: n }, (_, i) => i % c);
    const xt = Float32Array.from({ length: 400 * d }, () => rand());
    const yt = Int32Array.from({ length: 400 }, (_, i) => i % c);
    const r = linearProbe(x, y, xt, yt, c, d);
    expect(r.accuracy, seedNote).toBeGreaterThan(0.25 - 0.1);
    expect(r.accuracy, seedNote).toBeLessThan(0.25 + 0.1);
  });

  it('names bad input', () => {
    expect(() => linearProbe(new Float32Array(6), [0, 1], new Float32Array(3), [0], 2, 3)).not.toThrow();
    expect(() => linearProbe(new Float32Array(5), [0, 1], new Float32Array(3), [0], 2, 3)).toThrow(/features of 5/);
    expect(() => linearProbe(new Float32Array(6), [0, 2], new Float32Array(3), [0], 2, 3)).toThrow(/label 2 is outside 0..1/);
  });
});

describe('repeated runs', () => {
  it('reports mean ± sd and paired differences with standard errors, calling only differences above 2 SE', () => {
    expect(spread([0.3, 0.4, 0.5]).sd).toBeCloseTo(0.1, 12);
    expect(spread([0.3]).sd).toBeNull();
    const gain = pairedDifference([0.4, 0.42, 0.45], [0.3, 0.33, 0.34]);
    expect(gain.mean).toBeCloseTo(0.1, 12);
    expect(gain.se).toBeCloseTo(spread([0.1, 0.09, 0.11]).sd! / Math.sqrt(3), 12);
    expect(gain.verdict).toBe('gain');
    expect(pairedDifference([0.4, 0.3, 0.45], [0.35, 0.36, 0.4]).verdict).toBe('within noise');
    expect(pairedDifference([0.2, 0.21, 0.19], [0.3, 0.32, 0.3]).verdict).toBe('loss');
    // Two seeds never make a verdict; neither does one.
    expect(pairedDifference([0.5, 0.52], [0.1, 0.11]).verdict).toBe('within noise');
    expect(pairedDifference([0.5], [0.1]).se).toBeNull();
    expect(formatDifference(gain)).toMatch(/^\+10\.00 points \(SE 0\.58, 3 seeds\): gain$/);
    expect(() => pairedDifference([1], [1, 2])).toThrow(/1 and 2 values/);
  });

  it("sets a single seed's differences against the noise recorded for its protocol, and says when none is", () => {
    const r = { supervised: 0.6, finetuned: 0.62, probeRandom: 0.5, probePretrained: 0.4, knnRandom: 0.5, knnPretrained: 0.5 };
    const c = { ...presetConfig('quick'), seed: 5 };
    const record = { preset: 'quick' as const, datasets: (d: string) => d === 'fashion-mnist', source: 'results/byol-quick', seeds: 5, sd: { 'linear probe: pretrained − random': 0.02 }, result: {}, command: 'x', ranOn: 'x', images: 1, protocol: protocolFingerprint(c) };
    const noise = recordedNoise(c, [record])!;
    expect(noise.seeds).toBeGreaterThanOrEqual(MIN_SEEDS);
    const judged = reportLines(aggregate([5], [r]), c, noise).join('\n');
    expect(judged).toContain('linear probe: pretrained − random  −10.00 points: a loss larger than the noise (one seed; this difference varies by 2.00 points sd between seeds, results/byol-quick)');
    // The two presets a user runs are judged by the noise recorded for their exact settings. A preset changed
    // without measuring it again fails here: run its five seeds and record them in src/byol/noise.ts.
    for (const preset of ['quick', 'cifar'] as const) {
      const p = { ...presetConfig(preset), seed: 5 };
      const recorded = recordedNoise(p);
      expect(recorded, `${preset}: no noise recorded for these settings (protocol ${protocolFingerprint(p)})`).toBeDefined();
      expect(recorded!.seeds).toBeGreaterThanOrEqual(MIN_SEEDS);
      const lines = reportLines(aggregate([5], [r]), p).join('\n');
      expect(lines).toContain(`between seeds, ${recorded!.source})`);
      expect(lines).not.toContain('noise of these settings is not recorded');
    }
    // The CIFAR-10 record stands for the binary release and for folders of its images, not for other folders.
    expect(recordedNoise({ ...presetConfig('cifar'), dataset: 'folder:/data/cifar10-jpg' })).toBeDefined();
    expect(recordedNoise({ ...presetConfig('cifar'), dataset: 'folder:/data/my-photos' })).toBeUndefined();
    expect(recordedNoise({ ...presetConfig('quick'), dataset: 'cifar10' })).toBeUndefined();
    // Settings without a record say so.
    const smoke = { ...presetConfig('smoke'), seed: 5 };
    expect(reportLines(aggregate([5], [r]), smoke).join('\n')).toContain('−10.00 points: one seed, and the noise of these settings is not recorded (run --seeds 0,1,2,3,4 to measure it)');
    expect(recordedNoise(presetConfig('smoke'))).toBeUndefined();
  });

  it("puts first, when the study recorded for a run's settings found a loss, that loss and the study where pretraining gains", () => {
    const c = { ...presetConfig('quick'), seed: 3 };
    const base = { preset: 'quick' as const, datasets: () => true, seeds: 5, sd: {}, protocol: protocolFingerprint(c) };
    const lossy = {
      ...base,
      source: 'results/lossy',
      command: 'npm run train:byol -- --seeds 0,1,2,3,4',
      ranOn: 'Fashion-MNIST',
      images: 3072,
      result: { 'fine-tuned − supervised': { mean: 0.015, se: 0.003 }, 'linear probe: pretrained − random': { mean: -0.0224, se: 0.006 }, 'kNN: pretrained − random': { mean: -0.007, se: 0.004 } },
    };
    const gaining = {
      ...base,
      preset: 'cifar' as const,
      source: 'results/gaining',
      command: 'npm run train:byol -- --preset cifar --seeds 0,1,2,3,4',
      ranOn: 'CIFAR-10',
      images: 49920,
      result: { 'fine-tuned − supervised': { mean: 0.0167, se: 0.0032 }, 'linear probe: pretrained − random': { mean: 0.0684, se: 0.0054 }, 'kNN: pretrained − random': { mean: 0.0585, se: 0.0049 } },
    };
    const gains = recordedGains([lossy, gaining]);
    expect(gains?.source).toBe('results/gaining');
    const notice = studyNotice(c, recordedNoise(c, [lossy]), gains);
    expect(notice).toHaveLength(2);
    // The loss beyond 2 SE (the probe's) is named as one; kNN's −0.70 ± 0.40 is within noise and named beside.
    expect(notice[0]).toContain("over 5 seeds of these settings (results/lossy; npm run train:byol -- --seeds 0,1,2,3,4), BYOL's 3,072 images");
    expect(notice[0]).toContain('a loss beyond twice its standard error: linear probe pretrained − random −2.24 ± 0.60 points (mean ± SE); fine-tuned − supervised +1.50 ± 0.30, kNN pretrained − random −0.70 ± 0.40.');
    expect(notice[0]).toContain('leave the frozen encoder worse than random ones');
    expect(notice[1]).toContain('--preset cifar (49,920 images of BYOL a seed) gains on every difference over 5 seeds on CIFAR-10 (results/gaining)');
    expect(notice[1]).toMatch(/Run it: npm run train:byol -- --preset cifar --seeds 0,1,2,3,4$/);
    // It heads the run's report; settings whose study found no loss, or have none, get no notice.
    expect(reportLines(aggregate([3], [{ supervised: 0.6, finetuned: 0.62, probeRandom: 0.5, probePretrained: 0.5, knnRandom: 0.5, knnPretrained: 0.5 }]), c, recordedNoise(c, [lossy])).slice(0, 2)).toEqual(
      studyNotice(c, recordedNoise(c, [lossy])),
    );
    const cifar = { ...presetConfig('cifar'), seed: 3 };
    expect(studyNotice(cifar, recordedNoise(cifar, [{ ...gaining, protocol: protocolFingerprint(cifar) }]), gains)).toEqual([]);
    expect(studyNotice(presetConfig('smoke'))).toEqual([]);
    // The recorded studies themselves: the quick preset before 2026-12-07 (LARS on 3,072 images) lost on the frozen
    // features, and its runs say so beside the cifar preset's gains; the quick preset now has no loss recorded.
    const q = presetConfig('quick');
    const before = { ...q, unlabeledImages: 1536, byol: { ...q.byol, epochs: 2, optimizer: 'lars' as const, lrPer256: 0.2, warmupEpochs: 0, tauBase: 0.996, cropMinScale: 0.08, blur: true }, finetune: { ...q.finetune, curveEvery: 1536 } };
    const told = studyNotice(before);
    expect(told).toHaveLength(2);
    expect(told[0]).toContain('(results/byol-quick/eval3-5seeds-2026-12-07; npm run train:byol -- --seeds 0,1,2,3,4), BYOL\'s 3,072 images');
    expect(told[1]).toContain('--preset cifar (49,920 images of BYOL a seed)');
    expect(studyNotice(q)).toEqual([]);
    // With no gaining study recorded, the loss is still said, alone.
    expect(recordedGains([lossy])).toBeUndefined();
    expect(studyNotice(c, recordedNoise(c, [lossy]), null)).toHaveLength(1);
  });

  it('judges by a recorded noise only on the protocol it was measured on, over at least five seeds', () => {
    const c = presetConfig('quick');
    const record = { preset: 'quick' as const, datasets: (d: string) => d === 'fashion-mnist', source: 'results/x', seeds: 5, sd: { 'kNN: pretrained − random': 0.01 }, result: {}, command: 'x', ranOn: 'x', images: 1, protocol: protocolFingerprint(c) };
    expect(recordedNoise(c, [record])?.sd).toEqual({ 'kNN: pretrained − random': 0.01 });
    // Any setting changed (here one the fingerprint must see deep inside the config) leaves it unmeasured.
    expect(recordedNoise({ ...c, finetune: { ...c.finetune, curveEvery: 1 } }, [record])).toBeUndefined();
    expect(recordedNoise({ ...c, byol: { ...c.byol, cropMinScale: 0.2 } }, [record])).toBeUndefined();
    // The seed and the dataset's location do not change the protocol.
    expect(recordedNoise({ ...c, seed: 9 }, [record])).toBeDefined();
    expect(protocolFingerprint({ ...c, seed: 9, dataset: 'folder:/a' })).toBe(protocolFingerprint(c));
    // Fewer than five seeds do not make a noise to judge by.
    expect(recordedNoise(c, [{ ...record, seeds: 3 }])).toBeUndefined();
  });

  it('takes each arm at its last epoch, never its best, and prints every difference with its noise', () => {
    const records = [
      { phase: 'supervised' as const, epoch: 1, testAccuracy: 0.5 },
      { phase: 'supervised' as const, epoch: 2, trainLoss: 1 },
      { phase: 'supervised' as const, epoch: 3, testAccuracy: 0.4 },
      { phase: 'byol' as const, epoch: 0, knnAccuracy: 0.2, probeAccuracy: 0.25 },
      { phase: 'byol' as const, epoch: 1, knnAccuracy: 0.3, probeAccuracy: 0.35 },
      { phase: 'finetune' as const, epoch: 1, testAccuracy: 0.45 },
    ];
    const r = runResults(records);
    expect(r).toEqual({ supervised: 0.4, finetuned: 0.45, probeRandom: 0.25, probePretrained: 0.35, knnRandom: 0.2, knnPretrained: 0.3 });
    const changed = { ...presetConfig('quick'), byol: { ...presetConfig('quick').byol, epochs: 3 } };
    const one = reportLines(aggregate([0], [r]), changed);
    expect(one.join('\n')).toMatch(/fine-tuned − supervised\s+\+5\.00 points: one seed, and the noise of these settings is not recorded/);
    const three = aggregate([0, 1, 2], [r, { ...r, finetuned: 0.47 }, { ...r, finetuned: 0.44 }]);
    expect(three.arms.finetuned!.mean).toBeCloseTo(0.4533333, 6);
    expect(reportLines(three, presetConfig('quick')).join('\n')).toMatch(/linear probe: pretrained − random\s+\+10\.00 points \(SE 0\.00, 3 seeds\): gain/);
  });

});

describe('the gain curve in words', () => {
  const pts = (seed: number | undefined, a: number, b: number): GainPoint[] => [
    { gain: 'kNN: pretrained − random', images: 10000, value: a, ...(seed === undefined ? {} : { seed }) },
    { gain: 'kNN: pretrained − random', images: 20000, value: b, ...(seed === undefined ? {} : { seed }) },
  ];
  it('calls a direction only beyond twice the SE of the per-seed changes, over at least three seeds', () => {
    const rising = gainLines([...pts(0, 1, 6), ...pts(1, 2, 7.5), ...pts(2, 0, 4.5)]).join('\n');
    expect(rising).toMatch(/kNN: pretrained − random\s+\+1\.00 ± 0\.58 at 10k, \+6\.00 ± 0\.87 at 20k: rising \(\+5\.00 points from 10k to 20k images, SE 0\.29 over 3 seeds\)/);
    const noisy = gainLines([...pts(0, 1, 6), ...pts(1, 2, -3), ...pts(2, 0, 4)]).join('\n');
    expect(noisy).toMatch(/no direction beyond its noise \(\+1\.33 points from 10k to 20k images, SE 3\.18 over 3 seeds\)/);
    const one = gainLines(pts(undefined, 1, -0.8)).join('\n');
    expect(one).toMatch(/\+1\.00 at 10k, −0\.80 at 20k: −1\.80 points from 10k to 20k images \(one seed: not a direction; run --seeds to judge it\)/);
  });
});
