// torch.optim.AdamW (amsgrad off) over a flat parameter buffer, four floats at a time:
//   w = w·(1 − lr·wd)                 (unless the parameter is excluded from weight decay)
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   w = w − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// The bias corrections are computed on the CPU in float64 and passed in. Entry points and `table`:
// optim_entries.wgsl, put after this file.

struct Params {
  n4: u32,
  n_blocks: u32,
  _pad1: u32,
  _pad2: u32,
  lr: f32,
  wd: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  step_size: f32,
  bc2_sqrt: f32,
  _pad3: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<f32>>;

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
