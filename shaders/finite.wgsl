// Counts the NaN and ±Infinity elements of a float32 buffer into one slot of a u32 count buffer. The floats
// are read as their bits (all exponent bits set: NaN or ±Infinity), so no floating-point rule of the
// compiler or the adapter (fast math, flushed denormals) can hide one. Each invocation tests PER
// consecutive elements and adds to the slot only when it found one, so a finite buffer costs no atomics.
// The kernels layer puts one of the entry files after this one: finite_scalar.wgsl (any length) or
// finite_vec4.wgsl (lengths that are multiples of 4, read as vec4s).

const PER: u32 = 4u;
const EXPONENT: u32 = 0x7f800000u;

