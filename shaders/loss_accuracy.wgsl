// Top-1 accuracy of logits [N, K] against int32 labels: the fraction of rows whose first maximum sits at
// the label. One workgroup: each invocation scores a strided set of rows, then a tree sum.

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var right = 0.0;
  for (var i = lid; i < p.N; i += WG) {
    let base = i * p.K;
    var best = 0u;
    var bv = logits[base];
    for (var k = 1u; k < p.K; k++) {
      let v = logits[base + k];
      if (v > bv) { bv = v; best = k; }
    }
    if (i32(best) == labels[i]) { right += 1.0; }
  }
  partial[lid] = right;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = partial[0] / f32(max(p.N, 1u)); }
}
