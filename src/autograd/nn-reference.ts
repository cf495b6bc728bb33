/**
 * Float64 references for the network ops of nn.ts (convolution, batch norm, pooling, losses), forward and
 * backward, in plain TypeScript on the CPU, written as directly as the definitions allow. Layout: NCHW.
 */
import { arr, type Arr } from './reference.js';

export interface ConvRefOptions {
  stride?: number;
  padding?: number;
}

function convOut(H: number, K: number, s: number, p: number): number {
  return Math.floor((H + 2 * p - K) / s) + 1;
}

/** x [N, C_in, H, W], w [C_out, C_in, KH, KW], bias [C_out] or null. */
export function conv2d(x: Arr, w: Arr, bias: Arr | null, { stride = 1, padding = 0 }: ConvRefOptions = {}): Arr {
  const [N, C, H, W] = x.shape;
  const [CO, , KH, KW] = w.shape;
  const HO = convOut(H, KH, stride, padding);
  const WO = convOut(W, KW, stride, padding);
  const out = arr([N, CO, HO, WO]);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let co = 0; co < CO; co++)
      for (let oh = 0; oh < HO; oh++)
        for (let ow = 0; ow < WO; ow++) {
          let s = bias ? bias.data[co] : 0;
          for (let ci = 0; ci < C; ci++)
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * stride - padding + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * stride - padding + kw;
                if (iw < 0 || iw >= W) continue;
                s += x.data[((n * C + ci) * H + ih) * W + iw] * w.data[((co * C + ci) * KH + kh) * KW + kw];
              }
            }
          out.data[o++] = s;
        }
  return out;
}

/** Gradients of sum(conv2d(x, w, b) · g): [dx, dw, db]. */
export function conv2dGrad(x: Arr, w: Arr, g: Arr, { stride = 1, padding = 0 }: ConvRefOptions = {}): [Arr, Arr, Arr] {
  const [N, C, H, W] = x.shape;
  const [CO, , KH, KW] = w.shape;
  const [, , HO, WO] = g.shape;
  const dx = arr(x.shape);
  const dw = arr(w.shape);
  const db = arr([CO]);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < CO; co++)
      for (let oh = 0; oh < HO; oh++)
        for (let ow = 0; ow < WO; ow++) {
          const gv = g.data[((n * CO + co) * HO + oh) * WO + ow];
          db.data[co] += gv;
          for (let ci = 0; ci < C; ci++)
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * stride - padding + kh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * stride - padding + kw;
                if (iw < 0 || iw >= W) continue;
                const xi = ((n * C + ci) * H + ih) * W + iw;
                const wi = ((co * C + ci) * KH + kh) * KW + kw;
                dx.data[xi] += gv * w.data[wi];
                dw.data[wi] += gv * x.data[xi];
              }
            }
        }
  return [dx, dw, db];
}

// ---------------------------------------------------------------------------------------------------------
// Batch norm over [N, C] or [N, C, H, W]: statistics per channel over N (and H, W).

function bnDims(x: Arr): [number, number, number] {
  const [N, C] = x.shape;
  const HW = x.shape.slice(2).reduce((a, b) => a * b, 1);
  return [N, C, HW];
}

export interface BatchNormRefResult {
  y: Arr;
  mean: Arr;
  /** Biased batch variance (training) or the running variance (eval). */
  variance: Arr;
  runningMean: Arr;
  runningVar: Arr;
}

export function batchNorm(
  x: Arr,
  gamma: Arr,
  beta: Arr,
  runningMean: Arr,
  runningVar: Arr,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): BatchNormRefResult {
  const [N, C, HW] = bnDims(x);
  const M = N * HW;
  const mean = arr([C]);
  const variance = arr([C]);
  const rm = arr([C], runningMean.data);
  const rv = arr([C], runningVar.data);
  for (let c = 0; c < C; c++) {
    if (training) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x.data[(n * C + c) * HW + i];
      const m = s / M;
      let v = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) v += (x.data[(n * C + c) * HW + i] - m) ** 2;
      mean.data[c] = m;
      variance.data[c] = v / M;
      rm.data[c] = (1 - momentum) * rm.data[c] + momentum * m;
      rv.data[c] = (1 - momentum) * rv.data[c] + (momentum * v) / (M - 1);
    } else {
      mean.data[c] = runningMean.data[c];
      variance.data[c] = runningVar.data[c];
    }
  }
  const y = arr(x.shape);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        y.data[k] = ((x.data[k] - mean.data[c]) / Math.sqrt(variance.data[c] + eps)) * gamma.data[c] + beta.data[c];
      }
  return { y, mean, variance, runningMean: rm, runningVar: rv };
}

/** Gradients of sum(batchNorm(x) · g): [dx, dgamma, dbeta]; eval mode treats the running stats as constants. */
export function batchNormGrad(
  x: Arr,
  gamma: Arr,
  g: Arr,
  runningMean: Arr,
  runningVar: Arr,
  training: boolean,
  eps = 1e-5,
): [Arr, Arr, Arr] {
  const [N, C, HW] = bnDims(x);
  const M = N * HW;
  const { mean, variance } = batchNorm(x, gamma, arr([C]), runningMean, runningVar, training, 0.1, eps);
  const dx = arr(x.shape);
  const dgamma = arr([C]);
  const dbeta = arr([C]);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(variance.data[c] + eps);
    let sg = 0;
    let sgx = 0;
    for (let n = 0; n < N; n++)
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        sg += g.data[k];
        sgx += g.data[k] * (x.data[k] - mean.data[c]) * inv;
      }
    dbeta.data[c] = sg;
    dgamma.data[c] = sgx;
    for (let n = 0; n < N; n++)
      for (let i = 0; i < HW; i++) {
        const k = (n * C + c) * HW + i;
        const xhat = (x.data[k] - mean.data[c]) * inv;
        dx.data[k] = training
          ? (gamma.data[c] * inv * (g.data[k] - sg / M - (xhat * sgx) / M))
          : gamma.data[c] * inv * g.data[k];
      }
  }
  return [dx, dgamma, dbeta];
}

/** Samples [n0, n0 + count) of x along N. */
function rows(x: Arr, n0: number, count: number): Arr {
  const per = x.data.length / x.shape[0];
  return arr([count, ...x.shape.slice(1)], x.data.subarray(n0 * per, (n0 + count) * per));
}

export interface BatchNormActRefOptions {
  /** Added after the normalization, before the ReLU. */
  residual?: Arr | null;
  relu?: boolean;
  /** G groups of N/G consecutive samples, each normalized by its own call to batchNorm, in order. */
  groups?: number;
  momentum?: number;
  eps?: number;
}

/**
 * act(batchNorm(x) + residual), with G groups along N each normalized by a separate batchNorm call, the
 * running statistics passed from one call to the next (eval mode: the running statistics for all).
 */
export function batchNormAct(
  x: Arr,
  gamma: Arr,
  beta: Arr,
  runningMean: Arr,
  runningVar: Arr,
  training: boolean,
  { residual = null, relu = false, groups = 1, momentum = 0.1, eps = 1e-5 }: BatchNormActRefOptions = {},
): { y: Arr; runningMean: Arr; runningVar: Arr } {
  const NG = x.shape[0] / groups;
  const y = arr(x.shape);
  let rm = runningMean;
  let rv = runningVar;
  for (let g = 0; g < groups; g++) {
    const r = batchNorm(rows(x, g * NG, NG), gamma, beta, rm, rv, training, momentum, eps);
    y.data.set(r.y.data, g * r.y.data.length);
    rm = r.runningMean;
    rv = r.runningVar;
  }
  for (let k = 0; k < y.data.length; k++) {
    let v = y.data[k] + (residual ? residual.data[k] : 0);
    if (relu) v = Math.max(v, 0);
    y.data[k] = v;
  }
  return { y, runningMean: rm, runningVar: rv };
}

/**
 * Gradients of sum(batchNormAct(x) · g): [dx, dgamma, dbeta, dresidual]. The ReLU's mask is taken where the
 * pre-activation is positive; dresidual is the masked g (also without a residual).
 */
export function batchNormActGrad(
  x: Arr,
  gamma: Arr,
  beta: Arr,
  g: Arr,
  runningMean: Arr,
  runningVar: Arr,
  training: boolean,
  { residual = null, relu = false, groups = 1, eps = 1e-5 }: BatchNormActRefOptions = {},
): [Arr, Arr, Arr, Arr] {
  const pre = batchNormAct(x, gamma, beta, runningMean, runningVar, training, { residual, relu: false, groups, eps }).y;
  const gm = arr(g.shape, g.data.map((v, k) => (!relu || pre.data[k] > 0 ? v : 0)));
  const G = training ? groups : 1;
  const NG = x.shape[0] / G;
  const dx = arr(x.shape);
  const dgamma = arr(gamma.shape);
  const dbeta = arr(gamma.shape);
  for (let k = 0; k < G; k++) {
    const [dxg, dgg, dbg] = batchNormGrad(rows(x, k * NG, NG), gamma, rows(gm, k * NG, NG), runningMean, runningVar, training, eps);
    dx.data.set(dxg.data, k * dxg.data.length);
    dgg.data.forEach((v, c) => (dgamma.data[c] += v));
    dbg.data.forEach((v, c) => (dbeta.data[c] += v));
  }
  return [dx, dgamma, dbeta, gm];
}

// ---------------------------------------------------------------------------------------------------------
// Pooling

export interface PoolRefOptions {
  kernel: number;
  stride: number;
  padding: number;
}

/** Max pool: [values, argmax] where argmax is the flat index into the input plane (first max in scan order). */
export function maxPool2d(x: Arr, { kernel, stride, padding }: PoolRefOptions): [Arr, Int32Array] {
  const [N, C, H, W] = x.shape;
  const HO = convOut(H, kernel, stride, padding);
  const WO = convOut(W, kernel, stride, padding);
  const out = arr([N, C, HO, WO]);
  const idx = new Int32Array(out.data.length);
  let o = 0;
  for (let nc = 0; nc < N * C; nc++)
    for (let oh = 0; oh < HO; oh++)
      for (let ow = 0; ow < WO; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < kernel; kh++) {
          const ih = oh * stride - padding + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < kernel; kw++) {
            const iw = ow * stride - padding + kw;
            if (iw < 0 || iw >= W) continue;
            const v = x.data[nc * H * W + ih * W + iw];
            if (v > best || at < 0) {
              best = v;
              at = ih * W + iw;
            }
          }
        }
        out.data[o] = best;
        idx[o++] = at;
      }
  return [out, idx];
}

export function maxPool2dGrad(x: Arr, g: Arr, options: PoolRefOptions): Arr {
  const [, idx] = maxPool2d(x, options);
  const [N, C, H, W] = x.shape;
  const per = g.data.length / (N * C);
  const dx = arr(x.shape);
  for (let o = 0; o < g.data.length; o++) {
    const nc = Math.floor(o / per);
    dx.data[nc * H * W + idx[o]] += g.data[o];
  }
  return dx;
}

/** [N, C, H, W] → [N, C]. */
export function globalAvgPool(x: Arr): Arr {
  const [N, C, H, W] = x.shape;
  const out = arr([N, C]);
  for (let nc = 0; nc < N * C; nc++) {
    let s = 0;
    for (let i = 0; i < H * W; i++) s += x.data[nc * H * W + i];
    out.data[nc] = s / (H * W);
  }
  return out;
}

export function globalAvgPoolGrad(x: Arr, g: Arr): Arr {
  const [, , H, W] = x.shape;
  const dx = arr(x.shape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = g.data[Math.floor(i / (H * W))] / (H * W);
  return dx;
}

// ---------------------------------------------------------------------------------------------------------
// Losses and heads

/** Mean softmax cross-entropy of logits [N, K] against class indices. Returns a 1-element array. */
export function crossEntropy(logits: Arr, labels: ArrayLike<number>): Arr {
  const [N, K] = logits.shape;
  let total = 0;
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, logits.data[i * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits.data[i * K + k] - m);
    total += m + Math.log(s) - logits.data[i * K + labels[i]];
  }
  return arr([], [total / N]);
}

/** d(mean cross-entropy)/d logits, times the scalar upstream gradient g. */
export function crossEntropyGrad(logits: Arr, labels: ArrayLike<number>, g = 1): Arr {
  const [N, K] = logits.shape;
  const dx = arr(logits.shape);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, logits.data[i * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits.data[i * K + k] - m);
    for (let k = 0; k < K; k++) {
      const sm = Math.exp(logits.data[i * K + k] - m) / s;
      dx.data[i * K + k] = (g * (sm - (k === labels[i] ? 1 : 0))) / N;
    }
  }
  return dx;
}

/** Fraction of rows whose first maximum sits at the label. */
export function accuracy(logits: Arr, labels: ArrayLike<number>): number {
  const [N, K] = logits.shape;
  let right = 0;
  for (let i = 0; i < N; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits.data[i * K + k] > logits.data[i * K + best]) best = k;
    if (best === labels[i]) right++;
  }
  return right / N;
}

function lines(shape: number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}

/** x / max(‖x‖₂, eps) along `axis`, as torch.nn.functional.normalize. */
export function l2Normalize(x: Arr, axis: number, eps = 1e-12): Arr {
  const [O, D, I] = lines(x.shape, axis);
  const y = arr(x.shape);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += x.data[(o * D + d) * I + i] ** 2;
      const n = Math.max(Math.sqrt(s), eps);
      for (let d = 0; d < D; d++) y.data[(o * D + d) * I + i] = x.data[(o * D + d) * I + i] / n;
    }
  return y;
}

export function l2NormalizeGrad(x: Arr, g: Arr, axis: number, eps = 1e-12): Arr {
  const [O, D, I] = lines(x.shape, axis);
  const dx = arr(x.shape);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += x.data[(o * D + d) * I + i] ** 2;
      const norm = Math.sqrt(s);
      if (norm < eps) {
        for (let d = 0; d < D; d++) dx.data[(o * D + d) * I + i] = g.data[(o * D + d) * I + i] / eps;
        continue;
      }
      let gx = 0;
      for (let d = 0; d < D; d++) gx += g.data[(o * D + d) * I + i] * x.data[(o * D + d) * I + i];
      for (let d = 0; d < D; d++) {
        const k = (o * D + d) * I + i;
        dx.data[k] = g.data[k] / norm - (x.data[k] * gx) / norm ** 3;
      }
    }
  return dx;
}

/** BYOL's regression loss per row of p, z [N, D]: 2 − 2·cos(p, z); the mean over rows when `reduceMean`. */
export function byolLoss(p: Arr, z: Arr, reduceMean = true): Arr {
  const [N, D] = p.shape;
  const pn = l2Normalize(p, 1);
  const zn = l2Normalize(z, 1);
  const out = arr([N]);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += pn.data[i * D + d] * zn.data[i * D + d];
    out.data[i] = 2 - 2 * s;
  }
  if (!reduceMean) return out;
  return arr([], [out.data.reduce((a, b) => a + b, 0) / N]);
}

/** [dp, dz] of sum(byolLoss(p, z) · g) (g has one element when `reduceMean`, else N). */
export function byolLossGrad(p: Arr, z: Arr, g: Arr, reduceMean = true): [Arr, Arr] {
  const [N, D] = p.shape;
  const pn = l2Normalize(p, 1);
  const zn = l2Normalize(z, 1);
  const gpn = arr(p.shape);
  const gzn = arr(z.shape);
  for (let i = 0; i < N; i++) {
    const gi = reduceMean ? g.data[0] / N : g.data[i];
    for (let d = 0; d < D; d++) {
      gpn.data[i * D + d] = -2 * gi * zn.data[i * D + d];
      gzn.data[i * D + d] = -2 * gi * pn.data[i * D + d];
    }
  }
  return [l2NormalizeGrad(p, gpn, 1), l2NormalizeGrad(z, gzn, 1)];
}

export function mse(a: Arr, b: Arr): Arr {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i] - b.data[i]) ** 2;
  return arr([], [s / a.data.length]);
}
