// Fills a buffer of 32-bit words: MODE 0 writes `value` (bits) everywhere; MODE 1 writes the float
// arange start + i * step; MODE 2 writes the int32 arange.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  switch MODE {
    case 1u: { out[i] = bitcast<u32>(p.start + f32(i) * p.step); }
    case 2u: { out[i] = bitcast<u32>(i32(p.start) + i32(i) * i32(p.step)); }
    default: { out[i] = p.bits; }
  }
}
