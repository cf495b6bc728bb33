// BYOL loss backward per row, fused: with c_i the upstream gradient of loss[i] (g[i], or g[0]·scale for the
// batch mean, scale = 1/N), dL/dp̂ = −2·c·ẑ and dL/dẑ = −2·c·p̂, pulled back through the normalizations
// (row i of p paired with row (i + shift) mod N of z, as in loss_byol.wgsl):
//   ‖p‖ ≥ eps: dp = (dp̂ − p̂·⟨dp̂, p̂⟩) / ‖p‖;   ‖p‖ < eps: dp = dp̂ / eps   (and likewise for z).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  var c: f32;
  if (MEAN) { c = upstream[0] * p.scale; } else { c = upstream[i]; }
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
  let rp = sqrt(pp);
  let rz = sqrt(zz);
  let np = max(rp, p.eps);
  let nz = max(rz, p.eps);
  let cosv = pz / (np * nz);
  // dp̂ = −2c·ẑ, ⟨dp̂, p̂⟩ = −2c·cosv; dp = (dp̂ − p̂⟨dp̂, p̂⟩)/‖p‖ = −2c·(ẑ − p̂·cosv)/‖p‖ when unclamped.
  let p_clamped = rp < p.eps;
  let z_clamped = rz < p.eps;
  for (var d = 0u; d < p.D; d++) {
    let ph = pred[base + d] / np;
    let zh = proj[zbase + d] / nz;
    var gp = -2.0 * c * zh;
    var gz = -2.0 * c * ph;
    if (p_clamped) { gp = gp / p.eps; } else { gp = (gp + 2.0 * c * cosv * ph) / np; }
    if (z_clamped) { gz = gz / p.eps; } else { gz = (gz + 2.0 * c * cosv * zh) / nz; }
    dpred[base + d] = gp;
    dproj[zbase + d] = gz;
  }
}
