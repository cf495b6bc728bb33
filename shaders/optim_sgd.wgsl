// torch.optim.SGD over a flat parameter buffer, four floats at a time:
//   d = g + wd·w                      (unless the parameter is excluded from weight decay)
//   buf = d on the first step, else momentum·buf + (1 − dampening)·d      (when momentum ≠ 0)
//   d = d + momentum·buf (Nesterov) or d = buf
//   w = w − lr·d
// Two entry points over the same update (optim_blocks in src/nn/kernels.ts chooses):
//  - main: one vec4 per invocation; `table` holds one word per 64-float chunk: the parameter's index |
//    flags << 24 (1 frozen: skipped, 2 no weight decay).
//  - main_blocks: one workgroup per block of one parameter (at most 1024 vec4s), a strided loop; `table`
//    holds 4 words per block (first vec4, vec4 count, flags, parameter index), read once per workgroup.

struct Params {
  n4: u32,
  first: u32,
  nesterov: u32,
  n_blocks: u32,
  lr: f32,
  momentum: f32,
  dampening: f32,
  wd: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> buf: array<vec4<f32>>;

fn update(i: u32, flags: u32) {
  let wi = w[i];
  var d = g[i];
  if ((flags & 2u) == 0u) { d = d + p.wd * wi; }
  if (p.momentum != 0.0) {
    var b = d;
    if (p.first == 0u) { b = p.momentum * buf[i] + (1.0 - p.dampening) * d; }
    buf[i] = b;
    if (p.nesterov != 0u) { d = d + p.momentum * b; } else { d = b; }
  }
  w[i] = wi - p.lr * d;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  let flags = table[i / 16u] >> 24u;
  if ((flags & 1u) != 0u) { return; }
  update(i, flags);
}

@compute @workgroup_size(WG)
fn main_blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= p.n_blocks) { return; }
  let first = table[4u * b];
  let count = table[4u * b + 1u];
  let flags = table[4u * b + 2u];
  if ((flags & 1u) != 0u) { return; }
  for (var k = lid; k < count; k += WG) { update(first + k, flags); }
}
