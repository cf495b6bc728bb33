// Batch-norm per-channel totals from the per-plane partials of batchnorm_partial.wgsl ([N, C] each), one
// invocation per channel.
// MODE 0 (statistics): mean = mean of the N plane means (equal plane sizes); the sum of squared deviations
//   by Chan's formula M2 = Σ M2_n + HW · Σ (mean_n − mean)²; biased var = M2 / count; writes mean and
//   invstd = 1/sqrt(var + eps) and, when UPDATE, the running statistics in place as PyTorch does:
//   running = (1 − momentum)·running + momentum·batch, with the UNBIASED variance.
// MODE 1 (backward):   dbeta = Σ_n part_a, dgamma = invstd · Σ_n part_b.

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  eps: f32, momentum: f32, _pad0: u32, _pad1: u32,
}

override WG: u32 = 64u;
override MODE: u32 = 0u;
override UPDATE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part_a: array<f32>;
@group(0) @binding(2) var<storage, read> part_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_a: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_b: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_var: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  if (MODE == 0u) {
    var s = 0.0;
    for (var n = 0u; n < p.N; n++) { s += part_a[n * p.C + c]; }
    let m = s / f32(p.N);
    var m2 = 0.0;
    var dev = 0.0;
    for (var n = 0u; n < p.N; n++) {
      let d = part_a[n * p.C + c] - m;
      dev = fma(d, d, dev);
      m2 += part_b[n * p.C + c];
    }
    let count = f32(p.count);
    let v = (m2 + f32(p.HW) * dev) / count;
    out_a[c] = m;
    out_b[c] = inverseSqrt(v + p.eps);
    if (UPDATE) {
      let unbiased = v * count / max(count - 1.0, 1.0);
      running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * m;
      running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
    }
  } else {
    var g = 0.0;
    var gx = 0.0;
    for (var n = 0u; n < p.N; n++) {
      g += part_a[n * p.C + c];
      gx += part_b[n * p.C + c];
    }
    // out_a = dgamma, out_b = dbeta; running_mean holds invstd here.
    out_a[c] = gx * running_mean[c];
    out_b[c] = g;
  }
}
