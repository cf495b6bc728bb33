// batchnorm_backward_input.wgsl for HW % 4 == 0, four values of one channel per invocation as one vec4 (the
// formulas are there).

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
