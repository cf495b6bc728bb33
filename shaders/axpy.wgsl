// In-place scaled accumulation: y[i] = alpha * y[i] + beta * x[i].
// Gradient accumulation (alpha = beta = 1) and exponential moving averages (alpha = tau, beta = 1 - tau).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  y[i] = p.alpha * y[i] + p.beta * x[i];
}
