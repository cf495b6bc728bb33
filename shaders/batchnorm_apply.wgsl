// Batch-norm normalization, elementwise over x [N, C, HW]:
//   y = (x − mean[c]) · invstd[c] · gamma[c] + beta[c]
// (training and eval differ only in where mean and invstd come from; see batchnorm_stats.wgsl).

struct Params {
  total: u32, C: u32, HW: u32, _pad0: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let c = (i / p.HW) % p.C;
  let scale = invstd[c] * gamma[c];
  y[i] = (x[i] - mean[c]) * scale + beta[c];
}
