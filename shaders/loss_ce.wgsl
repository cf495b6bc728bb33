// Softmax cross-entropy per row of logits [N, K] against int32 class indices, numerically stable:
//   lse[i] = m + log Σ_k exp(x[i, k] − m) with m = max_k x[i, k];  loss[i] = (m − x[i, label[i]]) + log Σ.
// A small loss (the label's logit the largest by a margin) must keep its relative accuracy: so the loss is not
// lse − x[label], which cancels m and keeps its rounding, and log Σ = log(1 + t) is taken by log1p_f32, not by
// log of a sum near 1 (relative errors of 1e-5 and more, seen on lavapipe). The reported loss only: lse, which
// the gradient uses, is computed as before, so training runs are unchanged by this.
// One invocation per row. A label outside [0, K) gives a NaN loss (the trainer's NaN guard stops on it).

// log(1 + t) for t ≥ 0, accurate relative to its (possibly small) value: log(1 + t) = 2·atanh(z) with
// z = t / (2 + t), summed to z¹¹ (below 2e-9 of the sum for t < 0.5, z < 0.2); log(1 + t) itself above,
// where the value is at least 0.4 and WGSL's absolute error bound on log (2⁻²¹ near 1) is small beside it.
fn log1p_f32(t: f32) -> f32 {
  if (t >= 0.5) { return log(1.0 + t); }
  let z = t / (2.0 + t);
  let z2 = z * z;
  return 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (1.0 / 5.0 + z2 * (1.0 / 7.0 + z2 * (1.0 / 9.0 + z2 / 11.0)))));
}

fn nan() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N) { return; }
  let base = i * p.K;
  var m = logits[base];
  var top = 0u;
  for (var k = 1u; k < p.K; k++) {
    let v = logits[base + k];
    if (v > m) { m = v; top = k; }
  }
  // lse for the backward pass, summed as it always was (training's arithmetic stays bit for bit the same);
  // for the loss, the same sum without the largest logit's term (exactly 1): Σ = 1 + t.
  var s = 0.0;
  var t = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let e = exp(logits[base + k] - m);
    s += e;
    if (k != top) { t += e; }
  }
  lse[i] = m + log(s);
  let ls = log1p_f32(t);
  let label = labels[i];
  if (label < 0 || u32(label) >= p.K) {
    loss[i] = nan();
  } else {
    loss[i] = (m - logits[base + u32(label)]) + ls;
  }
}
