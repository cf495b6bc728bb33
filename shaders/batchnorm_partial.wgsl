// Batch-norm per-plane partial sums, the first of two steps of a training-mode reduction on the 'planes'
// path (the second is batchnorm_combine.wgsl). One invocation per (n, c) plane of x [N, C, HW] walks its HW
// values in order (as vec4 when VEC4, i.e. HW % 4 == 0): no workgroup memory and no barriers, and N·C
// invocations to spread over the cores.
// MODE 0 (statistics): part[0] = the plane's mean, part[1] = Σ (x − plane mean)² (two passes over the
//   plane, so no cancellation; combined across planes by Chan's formula).
// MODE 1 (backward):   part[0] = Σ g, part[1] = Σ g · (x − mean), with g = dy·[y > 0] when RELU (y the
//   forward's output) and g = dy otherwise, and mean that of the plane's group (stats [2, G, C]: means,
//   then invstds; sample n is in group n / NG).
// part is [2, N, C].

fn up(j: u32) -> f32 {
  if (RELU) { return select(0.0, dy[j], y[j] > 0.0); }
  return dy[j];
}

fn up4(j: u32) -> vec4<f32> {
  if (RELU) { return select(vec4<f32>(0.0), dy4[j], y4[j] > vec4<f32>(0.0)); }
  return dy4[j];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.planes) { return; }
  let base = i * p.HW;
  let hw = f32(p.HW);
  if (MODE == 0u) {
    var s = 0.0;
    var s4 = vec4<f32>(0.0);
    if (VEC4) {
      for (var j = base / 4u; j < (base + p.HW) / 4u; j++) { s4 += x4[j]; }
      s = s4.x + s4.y + s4.z + s4.w;
    } else {
      for (var j = base; j < base + p.HW; j++) { s += x[j]; }
    }
    let m = s / hw;
    var q = 0.0;
    if (VEC4) {
      var q4 = vec4<f32>(0.0);
      for (var j = base / 4u; j < (base + p.HW) / 4u; j++) {
        let d = x4[j] - vec4<f32>(m);
        q4 = fma(d, d, q4);
      }
      q = q4.x + q4.y + q4.z + q4.w;
    } else {
      for (var j = base; j < base + p.HW; j++) {
        let d = x[j] - m;
        q = fma(d, d, q);
      }
    }
    part[i] = m;
    part[p.planes + i] = q;
  } else {
    let c = i % p.C;
    let grp = (i / p.C) / p.NG;
    let m = stats[grp * p.C + c];
    var g = 0.0;
    var gx = 0.0;
    if (VEC4) {
      var g4 = vec4<f32>(0.0);
      var gx4 = vec4<f32>(0.0);
      for (var j = base / 4u; j < (base + p.HW) / 4u; j++) {
        let d = up4(j);
        g4 += d;
        gx4 = fma(d, x4[j] - vec4<f32>(m), gx4);
      }
      g = g4.x + g4.y + g4.z + g4.w;
      gx = gx4.x + gx4.y + gx4.z + gx4.w;
    } else {
      for (var j = base; j < base + p.HW; j++) {
        let d = up(j);
        g += d;
        gx = fma(d, x[j] - m, gx);
      }
    }
    part[i] = g;
    part[p.planes + i] = gx;
  }
}
