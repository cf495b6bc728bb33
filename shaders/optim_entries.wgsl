// The two entry points of the optimizer updates whose rule is `update(i, flags)` (put after optim_sgd.wgsl or
// optim_adamw.wgsl, which define `update`; their declarations in src/nn/kernels.ts give `p` with n4 and
// n_blocks, `table` and WG); optimBlocks in src/nn/kernels.ts chooses between them:
//  - main: one vec4 per invocation; `table` holds one word per 64-float chunk: the parameter's index |
//    flags << 24 (1 frozen: skipped, 2 no weight decay).
//  - main_blocks: one workgroup per block of one parameter (at most 1024 vec4s), a strided loop; `table`
//    holds 4 words per block (first vec4, vec4 count, flags, parameter index), read once per workgroup.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  let flags = table[i / 16u] >> 24u;
  if ((flags & 1u) != 0u) { return; }
  update(i, flags);
}

@compute @workgroup_size(WG)
fn main_blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= p.n_blocks) { return; }
  let first = table[4u * b];
  let count = table[4u * b + 1u];
  let flags = table[4u * b + 2u];
  if ((flags & 1u) != 0u) { return; }
  for (var k = lid; k < count; k += WG) { update(first + k, flags); }
}
