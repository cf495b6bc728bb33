/**
 * The k-nearest-neighbour monitor of an encoder's features: every test feature votes among its k most
 * cosine-similar labeled features (k = 20 by default). Similarities are computed on the GPU (one matmul of
 * L2-normalized features per chunk of test rows); the top-k selection and the vote run on the CPU.
 */
import { noGrad } from '../autograd/tape.js';
import { l2NormalizeForward } from '../kernels/loss.js';
import { matmulKernel } from '../kernels/matmul.js';
import { sliceKernel } from '../kernels/copy.js';
import { shapeString, type Tensor } from '../tensor/tensor.js';

export interface KnnOptions {
  k?: number;
  /** Test rows per similarity matmul (bounds the readback size). */
  chunk?: number;
}

/**
 * The predicted class of each test row: a majority vote of its k nearest labeled rows by cosine similarity,
 * ties broken by the larger summed similarity, then by the smaller class index.
 */
export async function knnPredict(
  trainFeatures: Tensor,
  trainLabels: Int32Array,
  testFeatures: Tensor,
  numClasses: number,
  options: KnnOptions = {},
): Promise<Int32Array> {
  const [nTrain, d] = trainFeatures.shape;
  const [nTest, d2] = testFeatures.shape;
  if (trainFeatures.rank !== 2 || testFeatures.rank !== 2 || d !== d2) {
    throw new Error(`knn: features must be [N, D] with the same D, got ${shapeString(trainFeatures.shape)} and ${shapeString(testFeatures.shape)}`);
  }
  if (trainLabels.length !== nTrain) throw new Error(`knn: ${trainLabels.length} labels for ${nTrain} labeled features`);
  const k = Math.min(options.k ?? 20, nTrain);
  const chunk = Math.max(1, options.chunk ?? Math.max(1, Math.floor(4_000_000 / Math.max(1, nTrain))));
  const predictions = new Int32Array(nTest);
  const train = noGrad(() => l2NormalizeForward(trainFeatures, 1));
  const test = noGrad(() => l2NormalizeForward(testFeatures, 1));
  const votes = new Float64Array(numClasses);
  const weights = new Float64Array(numClasses);
  const topIdx = new Int32Array(k);
  const topSim = new Float64Array(k);
  try {
    for (let start = 0; start < nTest; start += chunk) {
      const rows = Math.min(chunk, nTest - start);
      const part = sliceKernel(test.y, [start, 0], [rows, d]);
      const sims = matmulKernel(part, train.y, false, true);
      part.dispose();
      const s = (await sims.data()) as Float32Array;
      sims.dispose();
      for (let r = 0; r < rows; r++) {
        // Partial selection of the k largest similarities of this row.
        let filled = 0;
        const base = r * nTrain;
        for (let j = 0; j < nTrain; j++) {
          const v = s[base + j];
          // Insertion into the sorted top-k: a new slot while filling, else over the smallest kept.
          if (filled < k || v > topSim[k - 1]) {
            let p = filled < k ? filled++ : k - 1;
            while (p > 0 && topSim[p - 1] < v) {
              topSim[p] = topSim[p - 1];
              topIdx[p] = topIdx[p - 1];
              p--;
            }
            topSim[p] = v;
            topIdx[p] = j;
          }
        }
        votes.fill(0);
        weights.fill(0);
        for (let t = 0; t < filled; t++) {
          const c = trainLabels[topIdx[t]];
          votes[c] += 1;
          weights[c] += topSim[t];
        }
        let best = 0;
        for (let c = 1; c < numClasses; c++) {
          if (votes[c] > votes[best] || (votes[c] === votes[best] && weights[c] > weights[best])) best = c;
        }
        predictions[start + r] = best;
      }
    }
  } finally {
    for (const t of [train.y, train.norm, test.y, test.norm]) t.dispose();
  }
  return predictions;
}

/** Fraction of test rows whose kNN prediction equals their label. */
export async function knnAccuracy(
  trainFeatures: Tensor,
  trainLabels: Int32Array,
  testFeatures: Tensor,
  testLabels: Int32Array,
  numClasses: number,
  options: KnnOptions = {},
): Promise<number> {
  const pred = await knnPredict(trainFeatures, trainLabels, testFeatures, numClasses, options);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === testLabels[i]) correct++;
  return pred.length ? correct / pred.length : 0;
}
