// Batch-norm normalization on the 'planes' path, elementwise over x [N, C, HW], fused with an optional
// residual add and ReLU:
//   y = act((x − mean)·invstd·gamma + beta + residual), act = ReLU when RELU, else identity,
// with mean and invstd those of the value's group (stats [2, G, C]: means, then invstds; sample n is in
// group n / NG). Training and eval differ only in where the statistics come from (batchnorm_combine.wgsl,
// batchnorm_stats.wgsl).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let plane = i / p.HW;
  let c = plane % p.C;
  let s = (plane / p.C / p.NG) * p.C + c;
  let scale = stats[p.G * p.C + s] * gamma[c];
  var o = (x[i] - stats[s]) * scale + beta[c];
  if (RESIDUAL) { o += residual[i]; }
  if (RELU) { o = max(o, 0.0); }
  y[i] = o;
}
