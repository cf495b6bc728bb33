// L2 normalization backward, one invocation per line: with n = ‖x‖₂,
//   n ≥ eps: dx = g / n − x · ⟨g, x⟩ / n³;   n < eps (clamped): dx = g / eps.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = gid.x + gid.y * nwg.x * WG;
  if (l >= p.lines) { return; }
  let base = (l / p.inner) * p.D * p.inner + l % p.inner;
  let n = norm[l];
  if (n < p.eps) {
    for (var d = 0u; d < p.D; d++) { dx[base + d * p.inner] = g[base + d * p.inner] / p.eps; }
    return;
  }
  var gx = 0.0;
  for (var d = 0u; d < p.D; d++) { gx += g[base + d * p.inner] * x[base + d * p.inner]; }
  let inv = 1.0 / n;
  let c = gx * inv * inv * inv;
  for (var d = 0u; d < p.D; d++) {
    let k = base + d * p.inner;
    dx[k] = g[k] * inv - x[k] * c;
  }
}
