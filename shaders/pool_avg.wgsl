// Global average pooling [N, C, H, W] → [N, C] and its backward.
//   forward:  one invocation per (n, c) sums its plane and divides by H·W.
//   backward: one invocation per input element: dx = dy[n, c] / (H·W).

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * WG;
  if (o >= p.total) { return; }
  let base = o * p.HW;
  var acc = 0.0;
  for (var i = 0u; i < p.HW; i++) { acc += src[base + i]; }
  dst[o] = acc / f32(p.HW);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  dst[i] = src[i / p.HW] / f32(p.HW);
}
