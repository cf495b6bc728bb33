// In-place scaled accumulation four floats at a time: y[i] = alpha * y[i] + beta * x[i] over vec4s.
// Used when the length is a multiple of 4; software adapters move vec4s far faster than single floats.

struct Params {
  n4: u32,
  _pad: u32,
  alpha: f32,
  beta: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  y[i] = p.alpha * y[i] + p.beta * x[i];
}
