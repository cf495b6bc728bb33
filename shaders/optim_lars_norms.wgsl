// LARS, pass 1 of 3: per block of one parameter (at most 1024 vec4s), the partial sums of ‖w‖² and
// ‖g + wd·w‖² (wd only for parameters not excluded from weight decay). One workgroup per block: a strided
// loop, then a tree in workgroup memory.
// blocks[b] = (first vec4, vec4 count, flags, parameter index); flags: 1 frozen, 2 no weight decay,
// 4 no adaptation.

struct Params {
  n_blocks: u32,
  _pad0: u32,
  wd: f32,
  _pad1: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> blocks: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> partials: array<vec2<f32>>;

var<workgroup> sh: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.x + wid.y * nwg.x;
  var acc = vec2<f32>(0.0);
  if (b < p.n_blocks) {
    let blk = blocks[b];
    var wd = p.wd;
    if ((blk.z & 2u) != 0u) { wd = 0.0; }
    for (var k = lid; k < blk.y; k += WG) {
      let wi = w[blk.x + k];
      let u = g[blk.x + k] + wd * wi;
      acc += vec2<f32>(dot(wi, wi), dot(u, u));
    }
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] += sh[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u && b < p.n_blocks) { partials[b] = sh[0]; }
}
