// BYOL augmentations, pass 4 of 4, first half: separable Gaussian blur with reflect padding (torchvision's
// gaussian_blur). blur_h: the horizontal pass over every sample with a blur, `img` → `tmp`. blur_v: the
// vertical pass (from `tmp`) fused with solarization and normalization, writing one view (samples
// first .. first + count − 1); samples without blur (kernel size 1) are read straight from `img`.
// One invocation per output element.

@compute @workgroup_size(WG)
fn blur_h(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_index(gid, nwg);
  let plane = p.oh * p.ow;
  if (t >= p.samples * 3u * plane) { return; }
  let s = t / (3u * plane);
  let k = i32(prm(s, R_KSIZE));
  if (k <= 1) { return; }
  let x = i32(t % p.ow);
  let row = t - u32(x);
  let lo = x - k / 2;
  let n = i32(p.ow);
  let wbase = s * p.stride + R_WEIGHTS;
  var acc = 0.0;
  if (lo >= 0 && lo + k <= n) {
    let first = row + u32(lo);
    for (var j = 0u; j < u32(k); j++) { acc += params[wbase + j] * img[first + j]; }
  } else {
    for (var j = 0; j < k; j++) { acc += params[wbase + u32(j)] * img[row + u32(reflect_index(lo + j, n))]; }
  }
  tmp[t] = acc;
}
