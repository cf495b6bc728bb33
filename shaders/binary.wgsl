// out = a ∘ b on float32 with NumPy broadcasting, one float per invocation; ∘ is `apply(x, y)`, one binary
// op's expression (shaders/op_common.wgsl says how the pieces are put together). The output's shape and both
// inputs' strides (0 along broadcast axes) come in the parameter block, up to 8 dimensions; BROADCAST = false
// is the path for inputs of the output's own shape. binary_vec4.wgsl serves same shapes whose length is a
// multiple of 4.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  if (!BROADCAST) {
    out[i] = apply(a[i], b[i]);
    return;
  }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = p.shape[d / 4][d % 4];
    let idx = rest % size;
    rest = rest / size;
    ia += idx * p.a_strides[d / 4][d % 4];
    ib += idx * p.b_strides[d / 4][d % 4];
  }
  out[i] = apply(a[ia], b[ib]);
}
