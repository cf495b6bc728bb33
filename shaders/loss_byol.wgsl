// BYOL's regression loss per row of p, z [N, D], fused: with p̂ = p / max(‖p‖, eps), ẑ likewise,
//   loss[i] = 2 − 2·⟨p̂_i, ẑ_i⟩.
// One invocation per row, one pass over the row (‖p‖², ‖z‖² and ⟨p, z⟩ together). Row i of p is paired with
// row (i + shift) mod N of z (shift N/2: BYOL's two views stacked along N, each prediction against the other
// view's projection).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let base = i * p.D;
  let zbase = ((i + p.shift) % p.N) * p.D;
  var pp = 0.0;
  var zz = 0.0;
  var pz = 0.0;
  for (var d = 0u; d < p.D; d++) {
    let a = pred[base + d];
    let b = proj[zbase + d];
    pp += a * a;
    zz += b * b;
    pz += a * b;
  }
  let np = max(sqrt(pp), p.eps);
  let nz = max(sqrt(zz), p.eps);
  loss[i] = 2.0 - 2.0 * pz / (np * nz);
}
