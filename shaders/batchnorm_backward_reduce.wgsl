// Batch-norm backward, first half (the second is batchnorm_backward_input.wgsl), over x, dy [N, C, HW]:
//   reduce: one workgroup per channel: dbeta[c] = Σ dy, dgamma[c] = Σ dy · x̂ with x̂ = (x − mean)·invstd.
//   dx:     elementwise: dx = gamma·invstd·(dy − (dbeta + x̂·dgamma)/M) in training (the batch statistics
//           depend on x; M = N·HW), dx = gamma·invstd·dy in eval (constant running statistics).

struct Params {
  N: u32, C: u32, HW: u32, count: u32,
  total: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;

var<workgroup> part_g: array<f32, WG>;
var<workgroup> part_gx: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let m = mean[c];
  let inv = invstd[c];
  var sg = 0.0;
  var sgx = 0.0;
  if (p.HW >= WG) {
    for (var n = 0u; n < p.N; n++) {
      let base = (n * p.C + c) * p.HW;
      for (var i = lid; i < p.HW; i += WG) {
        let g = dy[base + i];
        sg += g;
        sgx += g * (x[base + i] - m);
      }
    }
  } else {
    for (var j = lid; j < p.count; j += WG) {
      let k = ((j / p.HW) * p.C + c) * p.HW + j % p.HW;
      let g = dy[k];
      sg += g;
      sgx += g * (x[k] - m);
    }
  }
  part_g[lid] = sg;
  part_gx[lid] = sgx;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      part_g[lid] += part_g[lid + s];
      part_gx[lid] += part_gx[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    dbeta[c] = part_g[0];
    dgamma[c] = part_gx[0] * inv;
  }
}

