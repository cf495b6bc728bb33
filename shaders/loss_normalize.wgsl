// L2 normalization along one axis, as torch.nn.functional.normalize: y = x / max(‖x‖₂, eps).
// x is viewed as [outer, D, inner]; one invocation per line (o, i) of D elements. Also writes ‖x‖₂ per
// line for the backward pass.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = gid.x + gid.y * nwg.x * WG;
  if (l >= p.lines) { return; }
  let base = (l / p.inner) * p.D * p.inner + l % p.inner;
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) {
    let v = x[base + d * p.inner];
    s += v * v;
  }
  let n = sqrt(s);
  norm[l] = n;
  let inv = 1.0 / max(n, p.eps);
  for (var d = 0u; d < p.D; d++) { y[base + d * p.inner] = x[base + d * p.inner] * inv; }
}
