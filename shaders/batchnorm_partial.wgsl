// Batch-norm per-plane partial sums, the first of two steps of every training-mode reduction (the second is
// batchnorm_combine.wgsl). One invocation per (n, c) plane of x [N, C, HW] walks its HW values in order
// (as vec4 when VEC4, i.e. HW % 4 == 0): no workgroup memory and no barriers, which software adapters run
// slowly, and N·C invocations to spread over the cores.
// MODE 0 (statistics): part_a = the plane's mean, part_b = Σ (x − plane mean)² (two passes over the plane,
//   so no cancellation; combined across planes by Chan's formula).
// MODE 1 (backward):   part_a = Σ dy, part_b = Σ dy · (x − mean[c]).

struct Params {
  N: u32, C: u32, HW: u32, planes: u32,
}

override WG: u32 = 64u;
override MODE: u32 = 0u;
override VEC4: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> part_a: array<f32>;
@group(0) @binding(7) var<storage, read_write> part_b: array<f32>;

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
    part_a[i] = m;
    part_b[i] = q;
  } else {
    let m = mean[i % p.C];
    var g = 0.0;
    var gx = 0.0;
    if (VEC4) {
      var g4 = vec4<f32>(0.0);
      var gx4 = vec4<f32>(0.0);
      for (var j = base / 4u; j < (base + p.HW) / 4u; j++) {
        let d = dy4[j];
        g4 += d;
        gx4 = fma(d, x4[j] - vec4<f32>(m), gx4);
      }
      g = g4.x + g4.y + g4.z + g4.w;
      gx = gx4.x + gx4.y + gx4.z + gx4.w;
    } else {
      for (var j = base; j < base + p.HW; j++) {
        let d = dy[j];
        g += d;
        gx = fma(d, x[j] - m, gx);
      }
    }
    part_a[i] = g;
    part_b[i] = gx;
  }
}
