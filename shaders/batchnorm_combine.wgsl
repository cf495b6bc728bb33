// Batch-norm per-channel totals from the per-plane partials of batchnorm_partial.wgsl (part [2, N, C]), one
// invocation per channel, group after group (G groups of NG samples along N, each with its own statistics;
// G = 1 is ordinary batch norm). stats is [2, G, C]: means, then invstds.
// MODE 0 (statistics): per group, mean = mean of its plane means (equal plane sizes); the sum of squared
//   deviations by Chan's formula M2 = Σ M2_n + HW · Σ (mean_n − mean)²; biased var = M2 / count (count =
//   NG·HW); writes mean and invstd = 1/sqrt(var + eps) and, when UPDATE, updates the running statistics in
//   place as PyTorch does, group after group as G separate calls would: running = (1 − momentum)·running +
//   momentum·batch, with the UNBIASED variance.
// MODE 1 (backward): per group, sums[g] = Σ_n part[0] (Σ dy) and sums[G + g] = invstd · Σ_n part[1]
//   (Σ dy·x̂), for batchnorm_backward_input*.wgsl; dgb[c] = dgamma and dgb[betaOffset + c] = dbeta, the
//   sums over the groups.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let planes = p.N * p.C;
  var dgamma = 0.0;
  var dbeta = 0.0;
  for (var grp = 0u; grp < p.G; grp++) {
    let n0 = grp * p.NG;
    let n1 = n0 + p.NG;
    if (MODE == 0u) {
      var s = 0.0;
      for (var n = n0; n < n1; n++) { s += part[n * p.C + c]; }
      let m = s / f32(p.NG);
      var m2 = 0.0;
      var dev = 0.0;
      for (var n = n0; n < n1; n++) {
        let d = part[n * p.C + c] - m;
        dev = fma(d, d, dev);
        m2 += part[planes + n * p.C + c];
      }
      let count = f32(p.count);
      let v = (m2 + f32(p.HW) * dev) / count;
      stats[grp * p.C + c] = m;
      stats[(p.G + grp) * p.C + c] = inverseSqrt(v + p.eps);
      if (UPDATE) {
        let unbiased = v * count / max(count - 1.0, 1.0);
        running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * m;
        running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
      }
    } else {
      var g = 0.0;
      var gx = 0.0;
      for (var n = n0; n < n1; n++) {
        g += part[n * p.C + c];
        gx += part[planes + n * p.C + c];
      }
      gx *= stats[(p.G + grp) * p.C + c];
      sums[grp * p.C + c] = g;
      sums[(p.G + grp) * p.C + c] = gx;
      dbeta += g;
      dgamma += gx;
    }
  }
  if (MODE == 1u) {
    dgb[c] = dgamma;
    dgb[p.betaOffset + c] = dbeta;
  }
}
