// out = cond != 0 ? a : b, with broadcasting of all three operands to the output's shape.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var rest = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = p.shape[d / 4][d % 4];
    let idx = rest % size;
    rest = rest / size;
    ic += idx * p.c_strides[d / 4][d % 4];
    ia += idx * p.a_strides[d / 4][d % 4];
    ib += idx * p.b_strides[d / 4][d % 4];
  }
  out[i] = select(b[ib], a[ia], cond[ic] != 0.0);
}
