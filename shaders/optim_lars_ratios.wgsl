// LARS, pass 2 of 3: per parameter, sums its blocks' partials and writes the trust ratio
//   q = η·‖w‖ / ‖g + wd·w‖ when both norms are positive, else 1; 1 for parameters excluded from adaptation.
// segs[s] = (first block, block count, flags, 0).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = gid.x;
  if (s >= p.n_segs) { return; }
  let seg = segs[s];
  var acc = vec2<f32>(0.0);
  for (var k = 0u; k < seg.y; k++) { acc += partials[seg.x + k]; }
  let wn = sqrt(acc.x);
  let un = sqrt(acc.y);
  var q = 1.0;
  if ((seg.z & 4u) == 0u && wn > 0.0 && un > 0.0) { q = p.eta * wn / un; }
  ratio[s] = q;
}
