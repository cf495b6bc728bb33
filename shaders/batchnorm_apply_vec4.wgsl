// batchnorm_apply.wgsl for HW % 4 == 0, four values of one channel per invocation as one vec4:
//   y = act((x − mean)·invstd·gamma + beta + residual), the statistics those of the value's group.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let plane = i / p.HW;
  let c = plane % p.C;
  let s = (plane / p.C / p.NG) * p.C + c;
  let scale = stats[p.G * p.C + s] * gamma[c];
  var o = fma(x[i] - vec4<f32>(stats[s]), vec4<f32>(scale), vec4<f32>(beta[c]));
  if (RESIDUAL) { o += residual[i]; }
  if (RELU) { o = max(o, vec4<f32>(0.0)); }
  y[i] = o;
}
