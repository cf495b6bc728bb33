
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
