// The EMA update of BYOL's target network over flat parameter buffers with one layout:
//   target ← τ·target + (1 − τ)·online, four floats at a time. main: one vec4 per invocation; main_strided:
// a fixed number of workgroups, each invocation looping with the whole grid's stride (see emaKernel).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  tgt[i] = p.tau * tgt[i] + p.one_minus_tau * online[i];
}

@compute @workgroup_size(WG)
fn main_strided(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * WG;
  for (var i = gid.x; i < p.n4; i += stride) {
    tgt[i] = p.tau * tgt[i] + p.one_minus_tau * online[i];
  }
}
