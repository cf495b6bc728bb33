// Batch-norm forward in one dispatch, fused with an optional residual add and ReLU:
//   y = act((x − mean)·invstd·gamma + beta + residual), act = ReLU when RELU, else identity,
// over x [N, C, HW] in G groups of NG = N / G samples along N, each group normalized with its own statistics
// (G = 1: ordinary batch norm). Put after batchnorm_lanes_{sg,wg}.wgsl and batchnorm_v_{scalar,vec4}.wgsl
// (V: one value, or four of a channel when HW % 4 == 0; HWV = HW in units of V).
//
// One workgroup per channel (its WG lanes stride over the channel's values and reduce with lane_sum) or,
// with PER_LANE, one lane per channel (no reduction; for small planes, where neighbouring lanes then read
// neighbouring values). For each group in order:
//   MODE 0 (training): mean and the biased variance in two passes over the group's values (so no
//     cancellation), invstd = 1/sqrt(var + eps); when UPDATE the running statistics are updated in place
//     as PyTorch does (running = (1 − momentum)·running + momentum·batch, UNBIASED variance), group after
//     group, as G separate calls would.
//   MODE 1 (eval): mean = running_mean, invstd = 1/sqrt(running_var + eps).
//   then the output pass. mean and invstd are written to stats ([2, G, C]: means, then invstds) for the
//   backward (batchnorm_channel_backward.wgsl).

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let at = channel_lanes(wid, lid, nwg);
  let lane = at.lane;
  let live = at.live;
  let ch = at.ch;
  let gm = gamma[ch];
  let bt = beta[ch];
  let count = f32(p.count);
  for (var g = 0u; g < p.G; g++) {
    let n0 = g * p.NG;
    let n1 = n0 + p.NG;
    var m: f32;
    var inv: f32;
    if (MODE == 0u) {
      var s = V(0.0);
      var it = walk_start(n0, at);
      while (it.n < n1) {
        s += x[it.k];
        walk_step(&it, at);
      }
      var tot = hsum(s);
      if (!PER_LANE) { tot = lane_sum(vec2<f32>(tot, 0.0), lid).x; }
      m = tot / count;
      var q = V(0.0);
      it = walk_start(n0, at);
      while (it.n < n1) {
        let d = x[it.k] - V(m);
        q = fma(d, d, q);
        walk_step(&it, at);
      }
      var sq = hsum(q);
      if (!PER_LANE) { sq = lane_sum(vec2<f32>(sq, 0.0), lid).x; }
      let v = sq / count;
      inv = inverseSqrt(v + p.eps);
      if (UPDATE && live && lane == 0u) {
        let unbiased = v * count / max(count - 1.0, 1.0);
        running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * m;
        running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * unbiased;
      }
    } else {
      m = running_mean[ch];
      inv = inverseSqrt(running_var[ch] + p.eps);
    }
    if (live && lane == 0u) {
      stats[g * p.C + ch] = m;
      stats[(p.G + g) * p.C + ch] = inv;
    }
    let scale = inv * gm;
    var it = walk_start(n0, at);
    while (it.n < n1) {
      var o = fma(x[it.k] - V(m), V(scale), V(bt));
      if (RESIDUAL) { o += residual[it.k]; }
      if (RELU) { o = max(o, V(0.0)); }
      if (live) { y[it.k] = o; }
      walk_step(&it, at);
    }
  }
}
