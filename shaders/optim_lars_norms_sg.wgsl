// LARS, pass 1 of 3, without barriers (after optim_lars_norms_common.wgsl, on software adapters with subgroups
// of at least 8 lanes): one subgroup per block (WG ≤ the subgroup size), a strided loop, then subgroupAdd. On
// lavapipe a workgroup barrier switches coroutines for every invocation, which made the tree of
// optim_lars_norms.wgsl the slowest part of the optimizer step.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.x + wid.y * nwg.x;
  let total = subgroupAdd(block_sums(b, lid, WG));
  if (lid == 0u && b < p.n_blocks) { partials[b] = total; }
}
