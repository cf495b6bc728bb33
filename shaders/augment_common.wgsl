// BYOL augmentations, shared part: the per-sample parameter rows and the colour operations
// (torchvision.transforms.functional_tensor's definitions). Prepended to each augment_*.wgsl; the parameter
// block `p` and the bindings are declared in src/byol/augment.ts.
//
// Samples: the views of a batch are stacked, sample s = view · n + image. Row s of `params` (stride floats)
// holds what src/byol/augment.ts packs: see the R_* indices below.

const R_TOP: u32 = 0u;
const R_LEFT: u32 = 1u;
const R_CROP_H: u32 = 2u;
const R_CROP_W: u32 = 3u;
const R_FLIP: u32 = 4u;
const R_JITTER: u32 = 5u;
const R_FACTORS: u32 = 6u;      // 6 brightness, 7 contrast, 8 saturation, 9 hue shift
const R_ORDER: u32 = 10u;       // 10..13: jitter operation indices in the order applied
const R_GRAY: u32 = 14u;
const R_SOLARIZE: u32 = 15u;
const R_KSIZE: u32 = 16u;       // odd blur kernel size, 1 = no blur
const R_THRESHOLD: u32 = 17u;
const R_CONTRAST_POS: u32 = 18u; // position of the contrast operation in the order
const R_WEIGHTS: u32 = 20u;     // blur kernel weights, R_KSIZE of them

fn prm(s: u32, i: u32) -> f32 {
  return params[s * p.stride + i];
}

fn flag(s: u32, i: u32) -> bool {
  return params[s * p.stride + i] > 0.5;
}

fn luma(c: vec3<f32>) -> f32 {
  return dot(c, vec3<f32>(0.299, 0.587, 0.114));
}

// torchvision's _blend: clamp(ratio · a + (1 − ratio) · b, 0, 1).
fn blend(a: vec3<f32>, b: vec3<f32>, ratio: f32) -> vec3<f32> {
  return clamp(ratio * a + (1.0 - ratio) * b, vec3<f32>(0.0), vec3<f32>(1.0));
}

// torchvision's _rgb2hsv.
fn rgb_to_hsv(c: vec3<f32>) -> vec3<f32> {
  let maxc = max(c.r, max(c.g, c.b));
  let minc = min(c.r, min(c.g, c.b));
  let eqc = maxc == minc;
  let cr = maxc - minc;
  let s = cr / select(maxc, 1.0, eqc);
  let div = select(cr, 1.0, eqc);
  let rc = (maxc - c.r) / div;
  let gc = (maxc - c.g) / div;
  let bc = (maxc - c.b) / div;
  var h: f32;
  if (maxc == c.r) {
    h = bc - gc;
  } else if (maxc == c.g) {
    h = 2.0 + rc - bc;
  } else {
    h = 4.0 + gc - rc;
  }
  h = h / 6.0 + 1.0;
  h = h - floor(h);
  return vec3<f32>(h, s, maxc);
}

// torchvision's _hsv2rgb.
fn hsv_to_rgb(hsv: vec3<f32>) -> vec3<f32> {
  let h6 = hsv.x * 6.0;
  let fi = floor(h6);
  let f = h6 - fi;
  let s = hsv.y;
  let v = hsv.z;
  let p = clamp(v * (1.0 - s), 0.0, 1.0);
  let q = clamp(v * (1.0 - s * f), 0.0, 1.0);
  let t = clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0);
  switch ((i32(fi) % 6 + 6) % 6) {
    case 0: { return vec3<f32>(v, t, p); }
    case 1: { return vec3<f32>(q, v, p); }
    case 2: { return vec3<f32>(p, v, t); }
    case 3: { return vec3<f32>(p, q, v); }
    case 4: { return vec3<f32>(t, p, v); }
    default: { return vec3<f32>(v, p, q); }
  }
}

fn adjust_hue(c: vec3<f32>, shift: f32) -> vec3<f32> {
  var hsv = rgb_to_hsv(c);
  let h = hsv.x + shift;
  hsv.x = h - floor(h); // Python's (h + shift) % 1.0
  return hsv_to_rgb(hsv);
}

// Jitter operation `op` (0 brightness, 2 saturation, 3 hue) of sample s; contrast (1) needs the image mean
// and is applied by augment_color.wgsl.
fn jitter_op(op: u32, c: vec3<f32>, s: u32) -> vec3<f32> {
  let factor = prm(s, R_FACTORS + op);
  switch (op) {
    case 0u: { return blend(c, vec3<f32>(0.0), factor); }
    case 2u: { return blend(c, vec3<f32>(luma(c)), factor); }
    case 3u: { return adjust_hue(c, factor); }
    default: { return c; }
  }
}

// Reflect padding (edge not repeated), folded as often as needed.
fn reflect_index(i: i32, n: i32) -> i32 {
  if (n == 1) { return 0; }
  let period = 2 * (n - 1);
  var m = ((i % period) + period) % period;
  if (m >= n) { m = period - m; }
  return m;
}

// Sample t of a 1-D or 2-D grid of workgroups of WG invocations.
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}
