// Elementwise unary ops on float32, one op per pipeline (OP is an override constant, folded when the
// pipeline is made). `apply(v)`, a switch over the ops, is generated from the table in
// src/kernels/op-tables.ts (the op's code is its position there). The kernels layer puts it and one of the
// entry files after this one: unary.wgsl (one float per invocation) or unary_vec4.wgsl (four, for lengths
// that are multiples of 4).

// Infinity and NaN must not appear as constant expressions in WGSL; a variable keeps them at run time.
fn from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

fn pow_real(a: f32, b: f32) -> f32 {
  if (a >= 0.0) {
    if (a == 0.0) { return select(select(0.0, from_bits(0x7f800000u), b < 0.0), 1.0, b == 0.0); }
    return pow(a, b);
  }
  if (b == floor(b)) {
    let r = pow(-a, b);
    return select(r, -r, (i32(b) & 1) == 1);
  }
  let nan_bits = 0x7fc00000u;
  return from_bits(nan_bits);
}
