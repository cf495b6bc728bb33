// Batched matrix products read and written as vec4s. Every invocation computes a 4×4 block of C with no
// workgroup memory and no barriers, which software adapters run slowly:
//   main: C = A · B   for A [M, K], B [K, N]; K, N multiples of 4. Four vec4 rows of A and four of B per
//         four steps of k: 8 loads for 64 multiply-adds.
//   nt:   C = A · Bᵀ  for A [M, K], B [N, K]; K, N multiples of 4. Rows of A and B both run along k: dot
//         products of vec4s, 8 loads for 64 multiply-adds.
//   tn:   C = Aᵀ · B  for A [K, M], B [K, N]; M, N multiples of 4. Each k gives a vec4 of A (4 rows of C)
//         and a vec4 of B (4 columns): an outer product, 2 loads for 16 multiply-adds.
// Rows past M are clamped on load and never stored. Shapes, batch strides,
// bindings and constants: declared in src/kernels/matmul.ts.

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x; // column block: columns 4·n4 .. 4·n4 + 3
  let m0 = gid.y * 4u;
  let batch = gid.z;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  if (n4 >= N4 || m0 >= p.M) { return; }

  // Offsets in vec4 units (the kernels layer only picks this shader when they divide evenly).
  let a_base = (batch * p.a_batch_stride) / 4u;
  let b_base = (batch * p.b_batch_stride) / 4u + n4;
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

  let c_base = (batch * p.c_batch_stride) / 4u + n4;
  C[c_base + m0 * N4] = c0;
  if (m0 + 1u < p.M) { C[c_base + (m0 + 1u) * N4] = c1; }
  if (m0 + 2u < p.M) { C[c_base + (m0 + 2u) * N4] = c2; }
  if (m0 + 3u < p.M) { C[c_base + (m0 + 3u) * N4] = c3; }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn nt(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x;
  let m0 = gid.y * 4u;
  let batch = gid.z;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  if (n4 >= N4 || m0 >= p.M) { return; }
  let a_base = (batch * p.a_batch_stride) / 4u;
  let b_base = (batch * p.b_batch_stride) / 4u + n4 * 4u * K4;
  let r0 = a_base + min(m0, p.M - 1u) * K4;
  let r1 = a_base + min(m0 + 1u, p.M - 1u) * K4;
  let r2 = a_base + min(m0 + 2u, p.M - 1u) * K4;
  let r3 = a_base + min(m0 + 3u, p.M - 1u) * K4;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let b0 = B[b_base + k4];
    let b1 = B[b_base + K4 + k4];
    let b2 = B[b_base + 2u * K4 + k4];
    let b3 = B[b_base + 3u * K4 + k4];
    let a0 = A[r0 + k4];
    let a1 = A[r1 + k4];
    let a2 = A[r2 + k4];
    let a3 = A[r3 + k4];
    c0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    c1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    c2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    c3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  let c_base = (batch * p.c_batch_stride) / 4u + n4;
  C[c_base + m0 * N4] = c0;
  if (m0 + 1u < p.M) { C[c_base + (m0 + 1u) * N4] = c1; }
  if (m0 + 2u < p.M) { C[c_base + (m0 + 2u) * N4] = c2; }
  if (m0 + 3u < p.M) { C[c_base + (m0 + 3u) * N4] = c3; }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn tn(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x;
  let m4 = gid.y;
  let batch = gid.z;
  let N4 = p.N / 4u;
  let M4 = p.M / 4u;
  if (n4 >= N4 || m4 >= M4) { return; }
  let a_base = (batch * p.a_batch_stride) / 4u + m4;
  let b_base = (batch * p.b_batch_stride) / 4u + n4;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let a = A[a_base + k * M4];
    let b = B[b_base + k * N4];
    c0 = fma(vec4<f32>(a.x), b, c0);
    c1 = fma(vec4<f32>(a.y), b, c1);
    c2 = fma(vec4<f32>(a.z), b, c2);
    c3 = fma(vec4<f32>(a.w), b, c3);
  }
  let c_base = (batch * p.c_batch_stride) / 4u + n4;
  let m0 = m4 * 4u;
  C[c_base + m0 * N4] = c0;
  C[c_base + (m0 + 1u) * N4] = c1;
  C[c_base + (m0 + 2u) * N4] = c2;
  C[c_base + (m0 + 3u) * N4] = c3;
}
