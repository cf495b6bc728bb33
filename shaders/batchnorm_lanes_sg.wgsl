// Lane reduction of the one-workgroup-per-channel batch-norm kernels (batchnorm_channel_*.wgsl, put after this
// file) on devices with subgroups, the workgroup being one subgroup (WG ≤ the smallest subgroup size): a
// subgroup sum, no workgroup memory and no barrier (software adapters run barriers slowly). The kernels that
// use it declare SUBGROUP_DIRECTIVES (src/kernels/subgroups.ts).

fn lane_sum(v: vec2<f32>, lid: u32) -> vec2<f32> {
  return subgroupAdd(v);
}
