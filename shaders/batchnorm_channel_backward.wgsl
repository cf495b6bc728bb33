// Batch-norm backward in one dispatch (the forward is batchnorm_channel_forward.wgsl, whose walk over a
// channel's values, Walk, this file repeats), fused with the forward's optional ReLU and residual add:
//   g = dy·[y > 0] with RELU (y the forward's output), else dy;
//   per group: Σg and Σg·x̂ with x̂ = (x − mean)·invstd (the group's statistics);
//   dgamma = Σ_groups Σg·x̂, dbeta = Σ_groups Σg;
//   dx = gamma·invstd·(g − (Σg + x̂·Σg·x̂)/M) in training (M = NG·HW, the group's values: the statistics
//   depend on x), dx = gamma·invstd·g with TRAINING false (eval: constant running statistics);
//   dresidual = g when RESIDUAL.
// dgamma and dbeta share one buffer: dgb[c] and dgb[p.betaOffset + c].

fn upstream(k: u32) -> V {
  if (RELU) { return select(V(0.0), dy[k], y[k] > V(0.0)); }
  return dy[k];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let at = channel_lanes(wid, lid, nwg);
  let lane = at.lane;
  let live = at.live;
  let ch = at.ch;
  let gm = gamma[ch];
  let count = f32(p.count);
  var dgamma = 0.0;
  var dbeta = 0.0;
  for (var g = 0u; g < p.G; g++) {
    let n0 = g * p.NG;
    let n1 = n0 + p.NG;
    let m = stats[g * p.C + ch];
    let inv = stats[(p.G + g) * p.C + ch];
    var sg = V(0.0);
    var sgx = V(0.0);
    var it = walk_start(n0, at);
    while (it.n < n1) {
      let d = upstream(it.k);
      sg += d;
      sgx = fma(d, x[it.k] - V(m), sgx);
      walk_step(&it, at);
    }
    var tot = vec2<f32>(hsum(sg), hsum(sgx));
    if (!PER_LANE) { tot = lane_sum(tot, lid); }
    let sum_g = tot.x;
    let sum_gx = tot.y * inv;
    dbeta += sum_g;
    dgamma += sum_gx;
    let k = gm * inv;
    it = walk_start(n0, at);
    while (it.n < n1) {
      let d = upstream(it.k);
      var o = d;
      if (TRAINING) {
        let xhat = (x[it.k] - V(m)) * inv;
        o = d - (V(sum_g) + xhat * sum_gx) / count;
      }
      if (live) {
        dx[it.k] = k * o;
        if (RESIDUAL) { dresidual[it.k] = d; }
      }
      walk_step(&it, at);
    }
  }
  if (live && lane == 0u) {
    dgb[ch] = dgamma;
    dgb[p.betaOffset + ch] = dbeta;
  }
}
