// Batch-norm backward, second half (the first is batchnorm_backward_reduce.wgsl), over x, dy [N, C, HW]:
//   reduce: one workgroup per channel: dbeta[c] = Σ dy, dgamma[c] = Σ dy · x̂ with x̂ = (x − mean)·invstd.
//   dx:     elementwise: dx = gamma·invstd·(dy − (dbeta + x̂·dgamma)/M) in training (the batch statistics
//           depend on x; M = N·HW), dx = gamma·invstd·dy in eval (constant running statistics).

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  total: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

override WG: u32 = 256u;
override TRAINING: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let c = (i / p.HW) % p.C;
  let inv = invstd[c];
  var g = dy[i];
  if (TRAINING) {
    let xhat = (x[i] - mean[c]) * inv;
    g -= (dbeta[c] + xhat * dgamma[c]) / f32(p.count);
  }
  dx[i] = gamma[c] * inv * g;
}
