/**
 * The linear probe of a frozen encoder, as self-supervised papers report it: the encoder's features of the
 * labeled images (computed once: no augmentation, eval-mode batch norm), standardized with the labeled set's
 * per-dimension mean and deviation, and an L2-regularized multinomial logistic regression fitted to
 * convergence on them by L-BFGS in float64. The regularization strength is chosen by stratified k-fold
 * cross-validation on the labeled images alone (never on the test set), by held-out cross-entropy (a
 * smoother criterion than accuracy on small folds, and one that keeps the probe's logits calibrated for the
 * fine-tuning that starts from it); the reported figure is the test accuracy of the model refitted on every
 * labeled image with that strength.
 *
 * The problem is strictly convex, so any optimizer that converges finds the same model: the PyTorch reference
 * (scripts/byol_reference.py) fits it with torch.optim.LBFGS and agrees to the optimizer's tolerance.
 * Runs on the CPU: a few hundred to a few thousand rows of 512 features are milliseconds per pass.
 */

export interface ProbeOptions {
  /** Candidate L2 strengths λ of the objective mean CE + λ/2·‖W‖² (bias unregularized), strongest first. */
  lambdas?: readonly number[];
  /** Folds of the cross-validation that picks λ (stratified by class). */
  folds?: number;
  /** L-BFGS iterations per fit. */
  maxIterations?: number;
  /** Stop when every gradient component is below this. */
  tolerance?: number;
}

export const PROBE_DEFAULTS: Required<ProbeOptions> = Object.freeze({
  lambdas: Object.freeze([1, 1e-1, 1e-2, 1e-3, 1e-4]) as readonly number[],
  folds: 3,
  maxIterations: 300,
  tolerance: 1e-5,
});

export interface ProbeResult {
  /** Test accuracy of the probe refitted on every labeled row with the chosen λ. */
  accuracy: number;
  /** Mean test cross-entropy of that probe. */
  loss: number;
  /** The λ cross-validation chose, and each candidate's mean held-out cross-entropy and accuracy. */
  lambda: number;
  cvLoss: number[];
  cvAccuracy: number[];
  /** The probe on the raw (unstandardized) features: logits = weight · f + bias; weight [C, D] row-major. */
  weight: Float64Array;
  bias: Float64Array;
  /** L-BFGS iterations of the final fit, and whether it met the tolerance. */
  iterations: number;
  converged: boolean;
}

/** Per-dimension mean and 1/deviation of row-major features [n, d]. */
export function featureScaling(x: ArrayLike<number>, n: number, d: number): { mean: Float64Array; invStd: Float64Array } {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j] - mean[j];
      m2[j] += v * v;
    }
  }
  const invStd = new Float64Array(d);
  // A dimension that never varies (a ReLU unit dead on every image) gets weight ~0 instead of a division by 0.
  for (let j = 0; j < d; j++) invStd[j] = 1 / Math.sqrt(m2[j] / Math.max(1, n) + 1e-6);
  return { mean, invStd };
}

function standardized(x: ArrayLike<number>, n: number, d: number, s: { mean: Float64Array; invStd: Float64Array }): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j] - s.mean[j]) * s.invStd[j];
  return out;
}

/** Rows of a row-major matrix. */
function rows(x: Float64Array, d: number, idx: readonly number[]): Float64Array {
  const out = new Float64Array(idx.length * d);
  idx.forEach((r, k) => out.set(x.subarray(r * d, r * d + d), k * d));
  return out;
}

/**
 * The objective mean CE + λ/2·‖W‖² of softmax regression and its gradient, parameters packed as
 * [W (C×D row-major), b (C)]. Writes the gradient into `grad`; returns the objective.
 *
 * Rows go in blocks of four, so each weight is loaded once per block instead of once per row (about twice
 * as fast in V8). The arithmetic is that of the plain row-by-row loop, operation for operation: each logit
 * sums its bias and then w·x in feature order, and each gradient element adds its rows' terms in row order,
 * so the probe's numbers do not depend on the blocking.
 */
export function logisticObjective(params: Float64Array, grad: Float64Array, x: Float64Array, y: ArrayLike<number>, n: number, d: number, c: number, lambda: number): number {
  grad.fill(0);
  const bOff = c * d;
  // Per block: the logits, then exp(logit − max), then the gradient coefficients of its rows ([4, c] each).
  const e = new Float64Array(4 * c);
  const coef = new Float64Array(4 * c);
  let loss = 0;
  for (let i0 = 0; i0 < n; i0 += 4) {
    const m = Math.min(4, n - i0);
    const r0 = i0 * d;
    const r1 = r0 + d;
    const r2 = r1 + d;
    const r3 = r2 + d;
    for (let k = 0; k < c; k++) {
      const w = k * d;
      const b = params[bOff + k];
      let s0 = b;
      let s1 = b;
      let s2 = b;
      let s3 = b;
      if (m === 4) {
        for (let j = 0; j < d; j++) {
          const wj = params[w + j];
          s0 += wj * x[r0 + j];
          s1 += wj * x[r1 + j];
          s2 += wj * x[r2 + j];
          s3 += wj * x[r3 + j];
        }
      } else {
        for (let j = 0; j < d; j++) {
          const wj = params[w + j];
          s0 += wj * x[r0 + j];
          if (m > 1) s1 += wj * x[r1 + j];
          if (m > 2) s2 += wj * x[r2 + j];
        }
      }
      e[k] = s0;
      e[c + k] = s1;
      e[2 * c + k] = s2;
      e[3 * c + k] = s3;
    }
    for (let t = 0; t < m; t++) {
      const o = t * c;
      let max = -Infinity;
      for (let k = 0; k < c; k++) if (e[o + k] > max) max = e[o + k];
      let sum = 0;
      for (let k = 0; k < c; k++) {
        e[o + k] = Math.exp(e[o + k] - max);
        sum += e[o + k];
      }
      const label = y[i0 + t];
      loss += Math.log(sum) + max - (Math.log(e[o + label]) + max);
      for (let k = 0; k < c; k++) {
        const g = (e[o + k] / sum - (k === label ? 1 : 0)) / n;
        coef[o + k] = g;
        grad[bOff + k] += g;
      }
    }
    for (let k = 0; k < c; k++) {
      const w = k * d;
      const g0 = coef[k];
      const g1 = coef[c + k];
      const g2 = coef[2 * c + k];
      const g3 = coef[3 * c + k];
      if (m === 4) {
        for (let j = 0; j < d; j++) {
          let a = grad[w + j];
          a += g0 * x[r0 + j];
          a += g1 * x[r1 + j];
          a += g2 * x[r2 + j];
          a += g3 * x[r3 + j];
          grad[w + j] = a;
        }
      } else {
        for (let j = 0; j < d; j++) {
          let a = grad[w + j];
          a += g0 * x[r0 + j];
          if (m > 1) a += g1 * x[r1 + j];
          if (m > 2) a += g2 * x[r2 + j];
          grad[w + j] = a;
        }
      }
    }
  }
  let reg = 0;
  for (let p = 0; p < c * d; p++) {
    reg += params[p] * params[p];
    grad[p] += lambda * params[p];
  }
  return loss / n + 0.5 * lambda * reg;
}

/**
 * Minimizes a smooth function by L-BFGS (memory 10) with a backtracking Armijo line search, from `x0`
 * (modified in place). Returns the iterations taken and whether the gradient met the tolerance.
 */
export function lbfgs(
  f: (x: Float64Array, g: Float64Array) => number,
  x0: Float64Array,
  options: { maxIterations: number; tolerance: number; memory?: number },
): { iterations: number; converged: boolean; value: number } {
  const m = options.memory ?? 10;
  const n = x0.length;
  const x = x0;
  let g = new Float64Array(n);
  let fx = f(x, g);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  const normInf = (v: Float64Array) => v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  for (let it = 0; it < options.maxIterations; it++) {
    if (normInf(g) < options.tolerance) return { iterations: it, converged: true, value: fx };
    // Two-loop recursion: dir = −H·g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    for (let k = sHist.length - 1; k >= 0; k--) {
      let a = 0;
      for (let i = 0; i < n; i++) a += sHist[k][i] * dir[i];
      a *= rho[k];
      alpha[k] = a;
      for (let i = 0; i < n; i++) dir[i] -= a * yHist[k][i];
    }
    if (sHist.length) {
      const s = sHist[sHist.length - 1];
      const yv = yHist[yHist.length - 1];
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) {
        sy += s[i] * yv[i];
        yy += yv[i] * yv[i];
      }
      const gamma = sy / yy;
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    } else {
      const gn = Math.sqrt(g.reduce((a, b) => a + b * b, 0));
      for (let i = 0; i < n; i++) dir[i] /= Math.max(1, gn);
    }
    for (let k = 0; k < sHist.length; k++) {
      let b = 0;
      for (let i = 0; i < n; i++) b += yHist[k][i] * dir[i];
      b *= rho[k];
      for (let i = 0; i < n; i++) dir[i] += sHist[k][i] * (alpha[k] - b);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i] * dir[i];
    if (!(slope < 0)) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      sHist.length = yHist.length = rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      slope = -g.reduce((a, b) => a + b * b, 0);
    }
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * dir[i];
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx) && !(fNew === fx)) return { iterations: it, converged: false, value: fx };
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    let sy = 0;
    let ss = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      yv[i] = gNew[i] - g[i];
      sy += s[i] * yv[i];
      ss += s[i] * s[i];
      yy += yv[i] * yv[i];
    }
    x.set(xNew);
    [g, gNew] = [gNew, g];
    const progress = fx - fNew;
    fx = fNew;
    // Keep the pair when its curvature is positive relative to its own size: an absolute threshold drops
    // every pair once steps get small and leaves steepest descent crawling along an ill-conditioned valley.
    if (sy > 1e-10 * Math.sqrt(ss * yy)) {
      sHist.push(s);
      yHist.push(yv);
      rho.push(1 / sy);
      if (sHist.length > m) {
        sHist.shift();
        yHist.shift();
        rho.shift();
      }
    }
    if (progress <= 1e-13 * Math.abs(fx)) return { iterations: it + 1, converged: normInf(g) < options.tolerance, value: fx };
  }
  return { iterations: options.maxIterations, converged: normInf(g) < options.tolerance, value: fx };
}

function predictAccuracy(params: Float64Array, x: Float64Array, y: ArrayLike<number>, n: number, d: number, c: number): { accuracy: number; loss: number } {
  let correct = 0;
  let loss = 0;
  const logits = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let max = -Infinity;
    for (let k = 0; k < c; k++) {
      let s = params[c * d + k];
      for (let j = 0; j < d; j++) s += params[k * d + j] * x[i * d + j];
      logits[k] = s;
      if (s > max) {
        max = s;
        best = k;
      }
    }
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(logits[k] - max);
    loss += Math.log(sum) + max - logits[y[i]];
    if (best === y[i]) correct++;
  }
  return { accuracy: n ? correct / n : 0, loss: n ? loss / n : 0 };
}

/** Fits the probe along the λ path (strongest first, each fit warm-started from the previous one). */
function fitPath(x: Float64Array, y: ArrayLike<number>, n: number, d: number, c: number, lambdas: readonly number[], o: Required<ProbeOptions>): { params: Float64Array; iterations: number; converged: boolean }[] {
  const params = new Float64Array(c * d + c);
  return lambdas.map((lambda) => {
    const r = lbfgs((p, grad) => logisticObjective(p, grad, x, y, n, d, c, lambda), params, o);
    return { params: params.slice(), iterations: r.iterations, converged: r.converged };
  });
}

/**
 * The linear probe: picks λ by stratified k-fold cross-validation on the labeled rows, refits on all of them
 * and scores the test rows. Features are row-major [n, d].
 */
export function linearProbe(
  trainFeatures: ArrayLike<number>,
  trainLabels: ArrayLike<number>,
  testFeatures: ArrayLike<number>,
  testLabels: ArrayLike<number>,
  numClasses: number,
  dim: number,
  options: ProbeOptions = {},
): ProbeResult {
  const o = { ...PROBE_DEFAULTS, ...options };
  const n = trainLabels.length;
  const nTest = testLabels.length;
  const d = dim;
  const c = numClasses;
  if (trainFeatures.length !== n * d || testFeatures.length !== nTest * d) {
    throw new Error(`linearProbe: features of ${trainFeatures.length} and ${testFeatures.length} values for ${n} and ${nTest} rows of ${d}`);
  }
  for (const l of [...Array.from(trainLabels), ...Array.from(testLabels)]) {
    if (!Number.isInteger(l) || l < 0 || l >= c) throw new Error(`linearProbe: label ${l} is outside 0..${c - 1}`);
  }
  const scaling = featureScaling(trainFeatures, n, d);
  const x = standardized(trainFeatures, n, d, scaling);
  const y = Int32Array.from(trainLabels);
  // Stratified folds: the k-th row of each class (in row order) goes to fold k mod folds.
  const fold = new Int32Array(n);
  const seen = new Int32Array(c);
  for (let i = 0; i < n; i++) fold[i] = seen[y[i]]++ % o.folds;
  const cvAccuracy = o.lambdas.map(() => 0);
  const cvLoss = o.lambdas.map(() => 0);
  const folds = Math.min(o.folds, Math.max(...seen));
  if (o.lambdas.length > 1 && folds >= 2) {
    for (let f = 0; f < folds; f++) {
      const tr: number[] = [];
      const va: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? va : tr).push(i);
      const path = fitPath(rows(x, d, tr), tr.map((i) => y[i]), tr.length, d, c, o.lambdas, o);
      const xv = rows(x, d, va);
      const yv = va.map((i) => y[i]);
      path.forEach((p, k) => {
        const r = predictAccuracy(p.params, xv, yv, va.length, d, c);
        cvAccuracy[k] += r.accuracy / folds;
        cvLoss[k] += r.loss / folds;
      });
    }
  }
  // The lowest mean held-out cross-entropy; ties go to the stronger regularization (earlier in the list).
  let best = 0;
  cvLoss.forEach((l, k) => {
    if (l < cvLoss[best] - 1e-12) best = k;
  });
  const final = fitPath(x, y, n, d, c, o.lambdas.slice(0, best + 1), o).at(-1)!;
  const xt = standardized(testFeatures, nTest, d, scaling);
  const test = predictAccuracy(final.params, xt, testLabels, nTest, d, c);
  // Fold the standardization into the weights: W·((f − μ)·s) + b = (W·s)·f + (b − W·s·μ).
  const weight = new Float64Array(c * d);
  const bias = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    let shift = 0;
    for (let j = 0; j < d; j++) {
      const w = final.params[k * d + j] * scaling.invStd[j];
      weight[k * d + j] = w;
      shift += w * scaling.mean[j];
    }
    bias[k] = final.params[c * d + k] - shift;
  }
  return { accuracy: test.accuracy, loss: test.loss, lambda: o.lambdas[best], cvLoss, cvAccuracy, weight, bias, iterations: final.iterations, converged: final.converged };
}
