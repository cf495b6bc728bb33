// out = a ∘ b for inputs of the output's shape, four floats per invocation (n counts vec4s here). ∘ is
// `apply(x, y)`, as in shaders/binary.wgsl.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let u = a[i];
  let v = b[i];
  out[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
}
