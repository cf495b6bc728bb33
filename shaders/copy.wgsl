// Strided copy: for every index of an iteration shape (up to 8 dims),
// dst[dst_offset + sum(idx * dst_strides)] = src[src_offset + sum(idx * src_strides)].
// Serves permute/transpose, slice, concat (one copy per input), broadcast-expand and padding.
// Works on 32-bit words, so float32, int32 and uint32 tensors alike.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var rest = i;
  var is = p.src_offset;
  var id = p.dst_offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = p.shape[d / 4][d % 4];
    let idx = rest % size;
    rest = rest / size;
    is += idx * p.src_strides[d / 4][d % 4];
    id += idx * p.dst_strides[d / 4][d % 4];
  }
  dst[id] = src[is];
}
