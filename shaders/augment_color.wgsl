// BYOL augmentations, pass 3 of 4, in place: contrast (blend with the grayscale mean from pass 2), the jitter
// operations after it in the sample's order, then grayscale. One invocation per pixel of every sample.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_index(gid, nwg);
  let plane = p.oh * p.ow;
  if (t >= p.samples * plane) { return; }
  let s = t / plane;
  let jitter = flag(s, R_JITTER);
  let gray = flag(s, R_GRAY);
  if (!jitter && !gray) { return; }
  let o = s * 3u * plane + t % plane;
  var c = vec3<f32>(img[o], img[o + plane], img[o + 2u * plane]);
  if (jitter) {
    let pos = u32(prm(s, R_CONTRAST_POS));
    c = blend(c, vec3<f32>(means[s]), prm(s, R_FACTORS + 1u));
    for (var k = pos + 1u; k < 4u; k++) {
      c = jitter_op(u32(prm(s, R_ORDER + k)), c, s);
    }
  }
  if (gray) { c = vec3<f32>(luma(c)); }
  img[o] = c.r;
  img[o + plane] = c.g;
  img[o + 2u * plane] = c.b;
}
