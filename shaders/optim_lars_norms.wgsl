// LARS, pass 1 of 3 (after optim_lars_norms_common.wgsl): one workgroup per block, a strided loop, then a
// tree in workgroup memory.

var<workgroup> sh: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.x + wid.y * nwg.x;
  sh[lid] = block_sums(b, lid, WG);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] += sh[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && b < p.n_blocks) { partials[b] = sh[0]; }
}
