// Batch-norm backward dx for HW % 4 == 0, four values of one channel per invocation as one vec4 (the scalar
// form for any HW, with the formulas, is batchnorm_backward_input.wgsl):
//   training: dx = gamma·invstd·(dy − (dbeta + x̂·dgamma)/M), x̂ = (x − mean)·invstd;  eval: dx = gamma·invstd·dy

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  total: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

override WG: u32 = 64u;
override TRAINING: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total / 4u) { return; }
  let c = ((i * 4u) / p.HW) % p.C;
  let inv = invstd[c];
  let k = gamma[c] * inv;
  var g = dy[i];
  if (TRAINING) {
    let xhat = (x[i] - vec4<f32>(mean[c])) * inv;
    g -= (vec4<f32>(dbeta[c]) + xhat * dgamma[c]) / f32(p.count);
  }
  dx[i] = k * g;
}
