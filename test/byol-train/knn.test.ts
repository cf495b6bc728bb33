import { expect, it } from 'vitest';
import { engine, rand } from '../helpers.js';
import { fromArray } from '../../src/tensor/tensor.js';
import { knnAccuracy, knnPredict } from '../../src/byol/knn.js';

/** Brute-force float64 kNN with the same vote and tie rules. */
function reference(train: Float32Array, labels: Int32Array, test: Float32Array, d: number, k: number, classes: number): Int32Array {
  const norm = (a: Float32Array, i: number) => Math.sqrt(a.subarray(i * d, i * d + d).reduce((s, v) => s + v * v, 0));
  const nTr = labels.length;
  const nTe = test.length / d;
  const out = new Int32Array(nTe);
  for (let i = 0; i < nTe; i++) {
    const sims: [number, number][] = [];
    for (let j = 0; j < nTr; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += test[i * d + c] * train[j * d + c];
      sims.push([dot / (norm(test, i) * norm(train, j)), j]);
    }
    sims.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const votes = new Array(classes).fill(0);
    const weights = new Array(classes).fill(0);
    for (const [s, j] of sims.slice(0, k)) {
      votes[labels[j]]++;
      weights[labels[j]] += s;
    }
    let best = 0;
    for (let c = 1; c < classes; c++) if (votes[c] > votes[best] || (votes[c] === votes[best] && weights[c] > weights[best])) best = c;
    out[i] = best;
  }
  return out;
}

it('kNN predictions match a brute-force float64 reference', async () => {
  await engine();
  const [nTr, nTe, d, classes, k] = [57, 23, 9, 4, 5];
  const train = Float32Array.from({ length: nTr * d }, () => rand() * 2 - 1);
  const test = Float32Array.from({ length: nTe * d }, () => rand() * 2 - 1);
  const labels = Int32Array.from({ length: nTr }, () => Math.floor(rand() * classes));
  const tTr = fromArray(train, [nTr, d]);
  const tTe = fromArray(test, [nTe, d]);
  const got = await knnPredict(tTr, labels, tTe, classes, { k, chunk: 7 });
  expect(Array.from(got)).toEqual(Array.from(reference(train, labels, test, d, k, classes)));
  tTr.dispose();
  tTe.dispose();
});

it('kNN separates well-separated clusters perfectly and random labels at chance', async () => {
  await engine();
  const d = 8;
  const centre = (c: number) => Array.from({ length: d }, (_, j) => (j === c ? 5 : 0));
  const make = (n: number, labels: Int32Array) =>
    Float32Array.from({ length: n * d }, (_, i) => centre(labels[Math.floor(i / d)])[i % d] + (rand() - 0.5));
  const trL = Int32Array.from({ length: 200 }, (_, i) => i % 4);
  const teL = Int32Array.from({ length: 100 }, (_, i) => (i * 7) % 4);
  const tr = fromArray(make(200, trL), [200, d]);
  const te = fromArray(make(100, teL), [100, d]);
  expect(await knnAccuracy(tr, trL, te, teL, 4)).toBe(1);
  const shuffled = Int32Array.from(trL, () => Math.floor(rand() * 4));
  expect(await knnAccuracy(tr, shuffled, te, teL, 4)).toBeLessThan(0.6);
  tr.dispose();
  te.dispose();
});
