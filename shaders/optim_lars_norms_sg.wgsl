// LARS, pass 1 of 3, without barriers (software adapters with subgroups of at least 8 lanes): the same
// partial sums as optim_lars_norms.wgsl, but one subgroup per block (WG ≤ the subgroup size): a strided loop,
// then subgroupAdd. On lavapipe a workgroup barrier switches coroutines for every invocation, which made the
// tree of optim_lars_norms.wgsl the slowest part of the optimizer step.
// blocks[b] = (first vec4, vec4 count, flags, parameter index); flags: 1 frozen, 2 no weight decay,
// 4 no adaptation.

enable subgroups;

struct Params {
  n_blocks: u32,
  _pad0: u32,
  wd: f32,
  _pad1: u32,
}

override WG: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> blocks: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> partials: array<vec2<f32>>;

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
  let total = subgroupAdd(acc);
  if (lid == 0u && b < p.n_blocks) { partials[b] = total; }
}
