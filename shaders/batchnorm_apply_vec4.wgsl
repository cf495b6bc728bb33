// Batch-norm normalization for HW % 4 == 0, four values of one channel per invocation as one vec4:
//   y = (x − mean[c]) · invstd[c] · gamma[c] + beta[c]
// (the scalar form for any HW is batchnorm_apply.wgsl).

struct Params {
  total4: u32, C: u32, HW4: u32, _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total4) { return; }
  let c = (i / p.HW4) % p.C;
  let scale = invstd[c] * gamma[c];
  y[i] = fma(x[i] - vec4<f32>(mean[c]), vec4<f32>(scale), vec4<f32>(beta[c]));
}
