// torch.optim.SGD over a flat parameter buffer, four floats per invocation:
//   d = g + wd·w                      (unless the parameter is excluded from weight decay)
//   buf = d on the first step, else momentum·buf + (1 − dampening)·d      (when momentum ≠ 0)
//   d = d + momentum·buf (Nesterov) or d = buf
//   w = w − lr·d
// `table` holds one word per 64-float chunk: the parameter's index | flags << 24 (1 frozen: skipped,
// 2 no weight decay).

struct Params {
  n4: u32,
  first: u32,
  nesterov: u32,
  _pad: u32,
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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  let flags = table[i / 16u] >> 24u;
  if ((flags & 1u) != 0u) { return; }
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
