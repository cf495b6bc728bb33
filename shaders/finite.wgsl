// Counts the NaN and ±Infinity elements of a float32 buffer into one slot of a u32 count buffer. The floats
// are read as their bits (all exponent bits set: NaN or ±Infinity), so no floating-point rule of the
// compiler or the adapter (fast math, flushed denormals) can hide one. Each invocation tests PER
// consecutive elements and adds to the slot only when it found one, so a finite buffer costs no atomics.

struct Params {
  n: u32,
  slot: u32,
}

override WG: u32 = 256u;
const PER: u32 = 4u;
const EXPONENT: u32 = 0x7f800000u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (gid.x + gid.y * nwg.x * WG) * PER;
  if (first >= p.n) { return; }
  let last = min(first + PER, p.n);
  var found = 0u;
  for (var i = first; i < last; i++) {
    found += select(0u, 1u, (x[i] & EXPONENT) == EXPONENT);
  }
  if (found > 0u) { atomicAdd(&counts[p.slot], found); }
}
