// Fills a flat float buffer with a constant in place, four floats per invocation (zeroing the flat gradient
// buffer of a model is one dispatch of this).

struct Params {
  n4: u32,
  _pad0: u32,
  value: f32,
  _pad1: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n4) { return; }
  out[i] = vec4<f32>(p.value);
}
