// Softmax cross-entropy backward, elementwise over logits [N, K], fused:
//   dx[i, k] = g · (exp(x[i, k] − lse[i]) − [k == label[i]]) / N
// where g is the upstream gradient of the batch mean (a 1-element tensor, read on the GPU).

struct Params {
  N: u32, K: u32, total: u32, _pad0: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> upstream: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

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
