// In-place scaled accumulation four floats at a time: y[i] = alpha * y[i] + beta * x[i] over vec4s.
// Used when the length is a multiple of 4; software adapters move vec4s far faster than single floats.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  y[i] = p.alpha * y[i] + p.beta * x[i];
}
