// torch.optim.AdamW (amsgrad off) over a flat parameter buffer, four floats at a time:
//   w = w·(1 − lr·wd)                 (unless the parameter is excluded from weight decay)
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   w = w − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// The bias corrections are computed on the CPU in float64 and passed in. Entry points and `table`:
// optim_entries.wgsl, put after this file.

fn update(i: u32, flags: u32) {
  var wi = w[i];
  if ((flags & 2u) == 0u) { wi = wi * (1.0 - p.lr * p.wd); }
  let gi = g[i];
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / p.bc2_sqrt + vec4<f32>(p.eps);
  w[i] = wi - p.step_size * (mi / denom);
}
