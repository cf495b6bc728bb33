// BYOL augmentations, pass 1 of 4: random resized crop (bilinear, align_corners=False, as torchvision's
// resize of the cropped image), horizontal flip, one channel to three, and the colour-jitter operations
// that come before contrast in the sample's order. One invocation per output pixel of every sample.

fn pixel(image: u32, ch: u32, y: u32, x: u32) -> f32 {
  let at = ((image * p.c + ch) * p.h + y) * p.w + x;
  let word = pixels[at >> 2u];
  return f32((word >> ((at & 3u) * 8u)) & 255u) / 255.0;
}

// Source position of output index o in a crop of `size` pixels resized to `outSize`: (o + 0.5)·size/outSize
// − 0.5, clamped at 0, as (low index, high index, fraction); exact integer arithmetic for the index.
fn source(o: u32, size: u32, outSize: u32) -> vec3<f32> {
  let num = max(i32((2u * o + 1u) * size) - i32(outSize), 0);
  let den = i32(2u * outSize);
  let lo = min(num / den, i32(size) - 1);
  let hi = min(lo + 1, i32(size) - 1);
  let frac = f32(num - lo * den) / f32(den);
  return vec3<f32>(f32(lo), f32(hi), frac);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_index(gid, nwg);
  let plane = p.oh * p.ow;
  if (t >= p.samples * plane) { return; }
  let s = t / plane;
  let pix = t % plane;
  let y = pix / p.ow;
  var x = pix % p.ow;
  if (flag(s, R_FLIP)) { x = p.ow - 1u - x; }
  let image = s % p.n;
  let top = u32(prm(s, R_TOP));
  let left = u32(prm(s, R_LEFT));
  let sy = source(y, u32(prm(s, R_CROP_H)), p.oh);
  let sx = source(x, u32(prm(s, R_CROP_W)), p.ow);
  let y0 = top + u32(sy.x);
  let y1 = top + u32(sy.y);
  let x0 = left + u32(sx.x);
  let x1 = left + u32(sx.y);
  var c = vec3<f32>(0.0);
  for (var ch = 0u; ch < p.c; ch++) {
    let a = pixel(image, ch, y0, x0) * (1.0 - sx.z) + pixel(image, ch, y0, x1) * sx.z;
    let b = pixel(image, ch, y1, x0) * (1.0 - sx.z) + pixel(image, ch, y1, x1) * sx.z;
    c[ch] = a * (1.0 - sy.z) + b * sy.z;
  }
  if (p.c == 1u) { c = vec3<f32>(c.x); }
  if (flag(s, R_JITTER)) {
    let pos = u32(prm(s, R_CONTRAST_POS));
    for (var k = 0u; k < pos; k++) {
      c = jitter_op(u32(prm(s, R_ORDER + k)), c, s);
    }
  }
  let o = s * 3u * plane + pix;
  out[o] = c.r;
  out[o + plane] = c.g;
  out[o + 2u * plane] = c.b;
}
