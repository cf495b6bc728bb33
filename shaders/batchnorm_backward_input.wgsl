// Batch-norm backward dx on the 'planes' path (after batchnorm_partial.wgsl and batchnorm_combine.wgsl), over
// x, dy [N, C, HW], with the forward's optional ReLU and residual add:
//   g = dy·[y > 0] with RELU (y the forward's output), else dy;
//   training: dx = gamma·invstd·(g − (Σg + x̂·Σg·x̂)/M), x̂ = (x − mean)·invstd, M = NG·HW (the group's
//             values), the sums those of the value's group (sums [2, G, C], from batchnorm_combine.wgsl);
//   eval:     dx = gamma·invstd·g (constant running statistics);
//   dresidual = g when RESIDUAL.

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  total: u32, G: u32, NG: u32, _pad0: u32,
}

override WG: u32 = 256u;
override TRAINING: bool = true;
override RELU: bool = false;
override RESIDUAL: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> sums: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> dresidual: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let plane = i / p.HW;
  let c = plane % p.C;
  let s = (plane / p.C / p.NG) * p.C + c;
  let inv = stats[p.G * p.C + s];
  var g = dy[i];
  if (RELU) { g = select(0.0, g, y[i] > 0.0); }
  var o = g;
  if (TRAINING) {
    let xhat = (x[i] - stats[s]) * inv;
    o -= (sums[s] + xhat * sums[p.G * p.C + s]) / f32(p.count);
  }
  dx[i] = gamma[c] * inv * o;
  if (RESIDUAL) { dresidual[i] = g; }
}
