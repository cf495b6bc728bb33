// LARS, pass 3 of 3: the update, four floats at a time:
//   u = (g + wd·w)·q;  μ = momentum·μ + u;  w = w − lr·μ
// (wd only for parameters not excluded from weight decay; q from pass 2). Entry points and `table`: see
// optim_sgd.wgsl (main: the chunk table, whose word's low 24 bits index `ratio`; main_blocks: the block
// table, whose 4th word does, read once per workgroup).

fn update(i: u32, flags: u32, q: f32) {
  let wi = w[i];
  var u = g[i];
  if ((flags & 2u) == 0u) { u = u + p.wd * wi; }
  u = u * q;
  let m = p.momentum * mu[i] + u;
  mu[i] = m;
  w[i] = wi - p.lr * m;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  let e = table[i / 16u];
  let flags = e >> 24u;
  if ((flags & 1u) != 0u) { return; }
  update(i, flags, ratio[e & 0xffffffu]);
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
  let q = ratio[table[4u * b + 3u]];
  for (var k = lid; k < count; k += WG) { update(first + k, flags, q); }
}
