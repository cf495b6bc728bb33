// Helpers for the WGSL expressions of the op tables (src/kernels/op-tables.ts). Every kernel of those ops is
// specialised to one op: the kernels layer puts this file first, then the op's functions generated from its
// entry (`apply`, or a fold's `identity` and `combine`), then the kernel's entry file.

// Infinity and NaN must not appear as constant expressions in WGSL; a variable keeps them at run time.
fn from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

// a^b, real for negative bases with whole exponents, NaN for other negative bases.
fn pow_real(a: f32, b: f32) -> f32 {
  if (a >= 0.0) {
    if (a == 0.0) { return select(select(0.0, from_bits(0x7f800000u), b < 0.0), 1.0, b == 0.0); }
    return pow(a, b);
  }
  if (b == floor(b)) {
    let r = pow(-a, b);
    return select(r, -r, (i32(b) & 1) == 1);
  }
  return from_bits(0x7fc00000u);
}
