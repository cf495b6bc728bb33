// batchnorm_backward_input.wgsl for HW % 4 == 0, four values of one channel per invocation as one vec4 (the
// formulas are there).

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  total: u32, G: u32, NG: u32, _pad0: u32,
}

override WG: u32 = 64u;
override TRAINING: bool = true;
override RELU: bool = false;
override RESIDUAL: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> sums: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dresidual: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total / 4u) { return; }
  let plane = (i * 4u) / p.HW;
  let c = plane % p.C;
  let s = (plane / p.C / p.NG) * p.C + c;
  let inv = stats[p.G * p.C + s];
  var g = dy[i];
  if (RELU) { g = select(vec4<f32>(0.0), g, y[i] > vec4<f32>(0.0)); }
  var o = g;
  if (TRAINING) {
    let xhat = (x[i] - vec4<f32>(stats[s])) * inv;
    o -= (vec4<f32>(sums[s]) + xhat * sums[p.G * p.C + s]) / f32(p.count);
  }
  dx[i] = gamma[c] * inv * o;
  if (RESIDUAL) { dresidual[i] = g; }
}
