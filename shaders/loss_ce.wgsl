// Softmax cross-entropy per row of logits [N, K] against int32 class indices, numerically stable:
//   lse[i] = m + log Σ_k exp(x[i, k] − m) with m = max_k x[i, k];  loss[i] = lse[i] − x[i, label[i]].
// One invocation per row. A label outside [0, K) gives a NaN loss (the trainer's NaN guard stops on it).

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
  for (var k = 1u; k < p.K; k++) { m = max(m, logits[base + k]); }
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) { s += exp(logits[base + k] - m); }
  let l = m + log(s);
  lse[i] = l;
  let label = labels[i];
  if (label < 0 || u32(label) >= p.K) {
    loss[i] = nan();
  } else {
    loss[i] = l - logits[base + u32(label)];
  }
}
