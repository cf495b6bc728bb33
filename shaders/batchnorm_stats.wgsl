// Batch-norm statistics per channel of x [N, C, HW] (HW = 1 for [N, C]).
// MODE 0 (training): one workgroup per channel computes the batch mean and the biased variance in two
//   passes over the channel (sum, then the sum of squared deviations, so no cancellation), writes mean and
//   invstd = 1/sqrt(var + eps), and, when UPDATE is set, updates the running statistics in place as
//   PyTorch does: running = (1 − momentum)·running + momentum·batch, with the UNBIASED variance.
// MODE 1 (eval): mean = running_mean, invstd = 1/sqrt(running_var + eps) (x is not read).

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  eps: f32, momentum: f32, _pad0: u32, _pad1: u32,
}

override WG: u32 = 256u;
override MODE: u32 = 0u;
override UPDATE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn channel_sum(c: u32, lid: u32, shift: f32, squares: bool) -> f32 {
  var acc = 0.0;
  let CHW = p.C * p.HW;
  for (var n = 0u; n < p.N; n++) {
    let base = n * CHW + c * p.HW;
    for (var i = lid; i < p.HW; i += WG) {
      let d = x[base + i] - shift;
      acc += select(d, d * d, squares);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

// Training with HW < WG: threads stride over (n, i) pairs of the channel instead of i alone.
fn channel_sum_flat(c: u32, lid: u32, shift: f32, squares: bool) -> f32 {
  var acc = 0.0;
  for (var j = lid; j < p.count; j += WG) {
    let n = j / p.HW;
    let i = j % p.HW;
    let d = x[(n * p.C + c) * p.HW + i] - shift;
    acc += select(d, d * d, squares);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(global_invocation_id) gid: vec3<u32>) {
  if (MODE == 1u) {
    let c = gid.x;
    if (c < p.C) {
      mean[c] = running_mean[c];
      invstd[c] = inverseSqrt(running_var[c] + p.eps);
    }
    return;
  }
  let c = wid.x;
  let count = f32(p.count);
  var m: f32;
  var v: f32;
  if (p.HW >= WG) {
    m = channel_sum(c, lid, 0.0, false) / count;
    v = channel_sum(c, lid, m, true) / count;
  } else {
    m = channel_sum_flat(c, lid, 0.0, false) / count;
    v = channel_sum_flat(c, lid, m, true) / count;
  }
  if (lid == 0u) {
    mean[c] = m;
    invstd[c] = inverseSqrt(v + p.eps);
    if (UPDATE) {
      let unbiased = v * count / max(count - 1.0, 1.0);
      running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * m;
      running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
    }
  }
}
