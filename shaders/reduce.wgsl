// Reduction (sum or max) over any set of axes. The kernels layer splits the input's axes into kept axes
// (the output's shape) and reduced axes, merging neighbours where it can, and passes both lists with the
// input's strides. Three entry points:
//   per_thread: one invocation per output element loops over the reduced elements (many outputs, short
//               reductions: no barriers, which software adapters run slowly);
//   per_group:  one workgroup per output element, a strided loop then a tree in workgroup memory
//               (few outputs, long reductions, on adapters with real workgroup memory);
//   sliced:     invocation (o, s) reduces slice s of `slices` equal slices of output o's elements into
//               out[o * slices + s]; a second pass (per_thread) combines the slices. Few outputs and long
//               reductions without barriers, for software adapters.
// The result is multiplied by `scale` (1 for sum and max, 1/count for mean). `identity()` and `combine(a, b)`
// are one fold's, generated from its entry in src/kernels/op-tables.ts (shaders/op_common.wgsl says how the
// pieces are put together).

var<workgroup> partial: array<f32, WG>;

fn out_base(o: u32) -> u32 {
  var rest = o;
  var off = 0u;
  for (var d = i32(p.out_rank) - 1; d >= 0; d--) {
    let size = p.out_shape[d / 4][d % 4];
    off += (rest % size) * p.out_strides[d / 4][d % 4];
    rest = rest / size;
  }
  return off;
}

fn red_offset(r: u32) -> u32 {
  if (p.red_rank == 1u) { return r * p.red_strides[0][0]; }
  var rest = r;
  var off = 0u;
  for (var d = i32(p.red_rank) - 1; d >= 0; d--) {
    let size = p.red_shape[d / 4][d % 4];
    off += (rest % size) * p.red_strides[d / 4][d % 4];
    rest = rest / size;
  }
  return off;
}

@compute @workgroup_size(WG)
fn per_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * WG;
  if (o >= p.n_out) { return; }
  let base = out_base(o);
  var acc = identity();
  if (p.red_rank == 1u) {
    let stride = p.red_strides[0][0];
    for (var r = 0u; r < p.n_red; r++) { acc = combine(acc, x[base + r * stride]); }
  } else {
    for (var r = 0u; r < p.n_red; r++) { acc = combine(acc, x[base + red_offset(r)]); }
  }
  out[o] = acc * p.scale;
}

@compute @workgroup_size(WG)
fn sliced(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let slices = u32(p.scale); // the slice count travels in `scale` (the combining pass applies the real scale)
  if (t >= p.n_out * slices) { return; }
  let o = t / slices;
  let s = t % slices;
  let len = (p.n_red + slices - 1u) / slices;
  let start = s * len;
  let end = min(start + len, p.n_red);
  let base = out_base(o);
  var acc = identity();
  if (p.red_rank == 1u) {
    let stride = p.red_strides[0][0];
    for (var r = start; r < end; r++) { acc = combine(acc, x[base + r * stride]); }
  } else if (p.red_rank == 2u) {
    // Two reduced axes (e.g. N and H·W for per-channel statistics): step through them like an odometer
    // instead of dividing for every element.
    let n1 = p.red_shape[0][1];
    let s0 = p.red_strides[0][0];
    let s1 = p.red_strides[0][1];
    var i0 = start / n1;
    var i1 = start % n1;
    var off = base + i0 * s0 + i1 * s1;
    for (var r = start; r < end; r++) {
      acc = combine(acc, x[off]);
      i1++;
      off += s1;
      if (i1 == n1) {
        i1 = 0u;
        i0++;
        off = base + i0 * s0;
      }
    }
  } else {
    for (var r = start; r < end; r++) { acc = combine(acc, x[base + red_offset(r)]); }
  }
  out[t] = acc;
}

@compute @workgroup_size(WG)
fn per_group(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  let base = out_base(min(o, p.n_out - 1u));
  var acc = identity();
  for (var r = lid; r < p.n_red; r += WG) { acc = combine(acc, x[base + red_offset(r)]); }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u && o < p.n_out) { out[o] = partial[0] * p.scale; }
}
