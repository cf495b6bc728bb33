// Softmax cross-entropy backward, elementwise over logits [N, K], fused:
//   dx[i, k] = g · (exp(x[i, k] − lse[i]) − [k == label[i]]) / N
// where g is the upstream gradient of the batch mean (a 1-element tensor, read on the GPU).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= p.total) { return; }
  let i = j / p.K;
  let k = j % p.K;
  let sm = exp(logits[j] - lse[i]);
  let onehot = select(0.0, 1.0, labels[i] == i32(k));
  dx[j] = upstream[0] * (sm - onehot) / f32(p.N);
}
