// BYOL augmentations, pass 4 of 4, second half: see augment_blur.wgsl.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_index(gid, nwg);
  let plane = p.oh * p.ow;
  if (t >= p.count * 3u * plane) { return; }
  let e = p.first * 3u * plane + t;
  let s = e / (3u * plane);
  let ch = (e / plane) % 3u;
  let k = i32(prm(s, R_KSIZE));
  var v: f32;
  if (k <= 1) {
    v = img[e];
  } else {
    let y = i32((e % plane) / p.ow);
    let col = e - u32(y) * p.ow;
    let lo = y - k / 2;
    let n = i32(p.oh);
    let wbase = s * p.stride + R_WEIGHTS;
    v = 0.0;
    if (lo >= 0 && lo + k <= n) {
      let first = col + u32(lo) * p.ow;
      for (var j = 0u; j < u32(k); j++) { v += params[wbase + j] * tmp[first + j * p.ow]; }
    } else {
      for (var j = 0; j < k; j++) { v += params[wbase + u32(j)] * tmp[col + u32(reflect_index(lo + j, n)) * p.ow]; }
    }
  }
  if (flag(s, R_SOLARIZE) && v >= prm(s, R_THRESHOLD)) { v = 1.0 - v; }
  out[t] = (v - p.mean[ch]) / p.stdev[ch];
}
