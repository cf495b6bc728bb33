// LARS, pass 1 of 3, the part both kernels share (optim_lars_norms.wgsl: a workgroup tree;
// optim_lars_norms_sg.wgsl: one subgroup per block; each is put after this file): per block of one parameter
// (at most 1024 vec4s), the partial sums of ‖w‖² and ‖g + wd·w‖² (wd only for parameters not excluded from
// weight decay).
// blocks[b] = (first vec4, vec4 count, flags, parameter index); flags: 1 frozen, 2 no weight decay,
// 4 no adaptation.

/** This invocation's share of block b's two sums: vec4s lid, lid + stride, … (zero past the blocks). */
fn block_sums(b: u32, lid: u32, stride: u32) -> vec2<f32> {
  var acc = vec2<f32>(0.0);
  if (b < p.n_blocks) {
    let blk = blocks[b];
    var wd = p.wd;
    if ((blk.z & 2u) != 0u) { wd = 0.0; }
    for (var k = lid; k < blk.y; k += stride) {
      let wi = w[blk.x + k];
      let u = g[blk.x + k] + wd * wi;
      acc += vec2<f32>(dot(wi, wi), dot(u, u));
    }
  }
  return acc;
}
