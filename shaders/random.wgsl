// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011). Invocation i hashes the counter (offset + i, offset_hi, 0, 0) under the key
// (seed_lo, seed_hi) into four 32-bit words, and writes elements 4i .. 4i+3. The same (seed, offset)
// gives the same numbers on every device.
// DIST 0: uniform in [a, b). DIST 1: normal with mean a and standard deviation b (Box-Muller).

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  // 32x32 -> 64-bit product from 16-bit halves (WGSL has no 64-bit integers).
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let hh = a_hi * b_hi;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  let lo = (mid << 16u) | (ll & 0xffffu);
  return vec2<u32>(hi, lo);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// 24 random bits to a float in [0, 1).
fn unit(bits: u32) -> f32 {
  return f32(bits >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let base = t * 4u;
  if (base >= p.n) { return; }
  let lo = p.offset_lo + t;
  let carry = select(0u, 1u, lo < t);
  let r = philox(vec4<u32>(lo, p.offset_hi + carry, 0u, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
  var v: vec4<f32>;
  if (DIST == 0u) {
    v = vec4<f32>(unit(r.x), unit(r.y), unit(r.z), unit(r.w)) * (p.b - p.a) + vec4<f32>(p.a);
  } else {
    // (0, 1] for the logarithm, [0, 1) for the angle.
    let u1 = vec2<f32>(1.0 - unit(r.x), 1.0 - unit(r.z));
    let u2 = vec2<f32>(unit(r.y), unit(r.w));
    let radius = sqrt(-2.0 * log(u1));
    let angle = 6.283185307179586 * u2;
    v = vec4<f32>(radius.x * cos(angle.x), radius.x * sin(angle.x), radius.y * cos(angle.y), radius.y * sin(angle.y));
    v = v * p.b + vec4<f32>(p.a);
  }
  for (var j = 0u; j < 4u; j++) {
    if (base + j < p.n) { out[base + j] = v[j]; }
  }
}
