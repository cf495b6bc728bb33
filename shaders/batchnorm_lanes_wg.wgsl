// Lane reduction of the one-workgroup-per-channel batch-norm kernels (batchnorm_channel_*.wgsl, put after this
// file) on any device: a tree in workgroup memory (WG a power of two). Called in uniform control flow.
var<workgroup> lane_part: array<vec2<f32>, WG>;

fn lane_sum(v: vec2<f32>, lid: u32) -> vec2<f32> {
  lane_part[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { lane_part[lid] += lane_part[lid + s]; }
    workgroupBarrier();
  }
  let total = lane_part[0];
  workgroupBarrier();
  return total;
}
