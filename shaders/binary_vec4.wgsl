// out = a ∘ b, four floats per invocation (n counts vec4s here). ∘ is `apply(x, y)`, as in
// shaders/binary.wgsl. Each input has the output's shape or, with PERIODIC, may be broadcast along the
// output's leading axes only (a bias [N] against [M, N]): its vec4 index is then i modulo its length in
// vec4s, `a_period` or `b_period` (0: the output's own index).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var ia = i;
  var ib = i;
  if (PERIODIC) {
    if (p.a_period != 0u) { ia = i % p.a_period; }
    if (p.b_period != 0u) { ib = i % p.b_period; }
  }
  let u = a[ia];
  let v = b[ib];
  out[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
}
