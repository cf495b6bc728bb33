// out = a ∘ b with broadcasting, one float per invocation. Follows shaders/binary_ops.wgsl.

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
