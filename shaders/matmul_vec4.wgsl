// Batched matrix product C[b] = A[b] · B[b] for row-major A [M, K] and B [K, N] with K and N multiples of 4,
// read as vec4: every invocation computes a 4×4 block of C from four vec4 rows of A and four vec4 rows of B
// per four steps of k (8 loads for 64 multiply-adds). No workgroup memory and no barriers, which software
// adapters run slowly. Rows past M are clamped on load and never stored.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
  c_batch_stride: u32,
  a_offset: u32,
  b_offset: u32,
  c_offset: u32,
  _pad0: u32,
  _pad1: u32,
}

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x; // column block: columns 4·n4 .. 4·n4 + 3
  let m0 = gid.y * 4u;
  let batch = gid.z;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  if (n4 >= N4 || m0 >= p.M) { return; }

  // Offsets in vec4 units (the kernels layer only picks this shader when they divide evenly).
  let a_base = (p.a_offset + batch * p.a_batch_stride) / 4u;
  let b_base = (p.b_offset + batch * p.b_batch_stride) / 4u + n4;
  let r0 = a_base + min(m0, p.M - 1u) * K4;
  let r1 = a_base + min(m0 + 1u, p.M - 1u) * K4;
  let r2 = a_base + min(m0 + 2u, p.M - 1u) * K4;
  let r3 = a_base + min(m0 + 3u, p.M - 1u) * K4;

  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = b_base + k4 * 4u * N4;
    let b0 = B[kb];
    let b1 = B[kb + N4];
    let b2 = B[kb + 2u * N4];
    let b3 = B[kb + 3u * N4];
    let a0 = A[r0 + k4];
    let a1 = A[r1 + k4];
    let a2 = A[r2 + k4];
    let a3 = A[r3 + k4];
    c0 = fma(vec4<f32>(a0.x), b0, fma(vec4<f32>(a0.y), b1, fma(vec4<f32>(a0.z), b2, fma(vec4<f32>(a0.w), b3, c0))));
    c1 = fma(vec4<f32>(a1.x), b0, fma(vec4<f32>(a1.y), b1, fma(vec4<f32>(a1.z), b2, fma(vec4<f32>(a1.w), b3, c1))));
    c2 = fma(vec4<f32>(a2.x), b0, fma(vec4<f32>(a2.y), b1, fma(vec4<f32>(a2.z), b2, fma(vec4<f32>(a2.w), b3, c2))));
    c3 = fma(vec4<f32>(a3.x), b0, fma(vec4<f32>(a3.y), b1, fma(vec4<f32>(a3.z), b2, fma(vec4<f32>(a3.w), b3, c3))));
  }

  let c_base = (p.c_offset + batch * p.c_batch_stride) / 4u + n4;
  C[c_base + m0 * N4] = c0;
  if (m0 + 1u < p.M) { C[c_base + (m0 + 1u) * N4] = c1; }
  if (m0 + 2u < p.M) { C[c_base + (m0 + 2u) * N4] = c2; }
  if (m0 + 3u < p.M) { C[c_base + (m0 + 3u) * N4] = c3; }
}
