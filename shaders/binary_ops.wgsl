// Elementwise binary ops on float32 with NumPy broadcasting. The output's shape and both inputs' strides
// (0 along broadcast axes) come in the uniform block, up to 8 dimensions. The kernels layer puts one of the
// entry files after this one: binary.wgsl (one float per invocation, any broadcasting; BROADCAST = false is
// the path for inputs of the output's own shape) or binary_vec4.wgsl (same shapes, lengths multiple of 4).

struct Params {
  n: u32,
  rank: u32,
  _pad0: u32,
  _pad1: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

override OP: u32 = 0u;
override BROADCAST: bool = true;
override WG: u32 = 256u;

const ADD = 0u;
const SUB = 1u;
const MUL = 2u;
const DIV = 3u;
const MAXIMUM = 4u;
const MINIMUM = 5u;
const POW = 6u;
const EQ = 7u;
const NE = 8u;
const LT = 9u;
const LE = 10u;
const GT = 11u;
const GE = 12u;
const RELU_BACKWARD = 13u; // a where b > 0, else 0 (a: upstream gradient, b: the ReLU's input)

@group(0) @binding(0) var<uniform> p: Params;

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

fn apply(x: f32, y: f32) -> f32 {
  switch OP {
    case ADD: { return x + y; }
    case SUB: { return x - y; }
    case MUL: { return x * y; }
    case DIV: { return x / y; }
    case MAXIMUM: { return max(x, y); }
    case MINIMUM: { return min(x, y); }
    case POW: { return pow_real(x, y); }
    case EQ: { return select(0.0, 1.0, x == y); }
    case NE: { return select(0.0, 1.0, x != y); }
    case LT: { return select(0.0, 1.0, x < y); }
    case LE: { return select(0.0, 1.0, x <= y); }
    case GT: { return select(0.0, 1.0, x > y); }
    case GE: { return select(0.0, 1.0, x >= y); }
    case RELU_BACKWARD: { return select(0.0, x, y > 0.0); }
    default: { return x; }
  }
}

