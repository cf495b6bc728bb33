// LARS, pass 3 of 3: the update, four floats per invocation:
//   u = (g + wd·w)·q;  μ = momentum·μ + u;  w = w − lr·μ
// (wd only for parameters not excluded from weight decay; q from pass 2). `table`: one word per 64-float
// chunk, the parameter's index | flags << 24 (1 frozen: skipped, 2 no weight decay).

struct Params {
  n4: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  lr: f32,
  momentum: f32,
  wd: f32,
  _pad3: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> ratio: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> mu: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  let e = table[i / 16u];
  let flags = e >> 24u;
  if ((flags & 1u) != 0u) { return; }
  let wi = w[i];
  var u = g[i];
  if ((flags & 2u) == 0u) { u = u + p.wd * wi; }
  u = u * ratio[e & 0xffffffu];
  let m = p.momentum * mu[i] + u;
  mu[i] = m;
  w[i] = wi - p.lr * m;
}
