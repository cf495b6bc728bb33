// out[i] = f(x[i]) four floats per invocation (n counts vec4s here), for lengths that are multiples of 4. f is
// `apply`, as in shaders/unary.wgsl.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = vec4<f32>(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
}
