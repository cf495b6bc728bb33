// Elementwise binary ops on float32 with NumPy broadcasting. The output's shape and both inputs' strides
// (0 along broadcast axes) come in the uniform block, up to 8 dimensions. The kernels layer puts one of the
// entry files after this one: binary.wgsl (one float per invocation, any broadcasting; BROADCAST = false is
// the path for inputs of the output's own shape) or binary_vec4.wgsl (same shapes, lengths multiple of 4).
// `apply(x, y)`, a switch over the ops, is generated from the tables in src/kernels/op-tables.ts (arithmetic,
// then comparisons; the op's code is its position there) and follows this file.

// Infinity and NaN must not appear as constant expressions in WGSL; a variable keeps them at run time.
fn from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

fn pow_real(x: f32, y: f32) -> f32 {
  if (x >= 0.0) {
    if (x == 0.0) { return select(select(0.0, from_bits(0x7f800000u), y < 0.0), 1.0, y == 0.0); }
    return pow(x, y);
  }
  if (y == floor(y)) {
    let r = pow(-x, y);
    return select(r, -r, (i32(y) & 1) == 1);
  }
  return from_bits(0x7fc00000u);
}
