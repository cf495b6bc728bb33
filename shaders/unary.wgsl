// out[i] = f(x[i]) for i < n, one float per invocation; a 2D grid covers n above 65535 workgroups. f is
// `apply`, one unary op's expression (shaders/op_common.wgsl says how the pieces are put together).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = apply(x[i]);
}
