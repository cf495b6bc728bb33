// BYOL augmentations, pass 2 of 4: the mean of each sample's grayscale image, which colour jitter's contrast
// blends with. One workgroup per sample (WG must be a power of two).

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = wid.x + wid.y * nwg.x;
  let plane = p.oh * p.ow;
  var acc = 0.0;
  // Only samples with colour jitter need the mean (the branch holds no barrier).
  if (s < p.samples && flag(s, R_JITTER)) {
    let base = s * 3u * plane;
    for (var px = li; px < plane; px += WG) {
      acc += luma(vec3<f32>(img[base + px], img[base + plane + px], img[base + 2u * plane + px]));
    }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var hk = WG / 2u; hk > 0u; hk = hk / 2u) {
    if (li < hk) { partial[li] += partial[li + hk]; }
    workgroupBarrier();
  }
  if (li == 0u && s < p.samples) { means[s] = partial[0] / f32(plane); }
}
