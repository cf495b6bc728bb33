
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (gid.x + gid.y * nwg.x * WG) * PER;
  if (first >= p.n) { return; }
  let last = min(first + PER, p.n);
  let exponent = vec4<u32>(EXPONENT);
  var found = vec4<u32>(0u);
  for (var i = first; i < last; i++) {
    found += select(vec4<u32>(0u), vec4<u32>(1u), (x[i] & exponent) == exponent);
  }
  let total = found.x + found.y + found.z + found.w;
  if (total > 0u) { atomicAdd(&counts[p.slot], total); }
}
