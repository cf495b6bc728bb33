// Batched matrix product C[b] = op(A[b]) · op(B[b]), op = optional transpose (TRANS_A, TRANS_B are
// override constants, so each combination compiles to its own straight-line code).
//
// Register tiling: every invocation computes a 4×4 block of C, keeping the block in registers and
// reading A and B straight from memory, four k at a time. No workgroup memory and no barriers: software
// adapters (lavapipe, SwiftShader) run barriers slowly, and their CPU caches do the tiling's work.
// Rows and columns past the edge are clamped on load (their results are never stored), so the inner loop
// has no bounds checks. Shapes, batch strides, bindings and constants:
// declared in src/kernels/matmul.ts.

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let batch = gid.z;
  if (n0 >= p.N || m0 >= p.M) { return; }

  // Element (m, k) of op(A) sits at a_row[m] + k * a_k; element (k, n) of op(B) at b_col[n] + k * b_k.
  var a_k = 1u;
  var a_m = p.K;
  if (TRANS_A) { a_k = p.M; a_m = 1u; }
  var b_k = p.N;
  var b_n = 1u;
  if (TRANS_B) { b_k = 1u; b_n = p.K; }

  let a_base = batch * p.a_batch_stride;
  let b_base = batch * p.b_batch_stride;
  var a_row: array<u32, 4>;
  var b_col: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    a_row[i] = a_base + min(m0 + i, p.M - 1u) * a_m;
    b_col[i] = b_base + min(n0 + i, p.N - 1u) * b_n;
  }

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  let k4 = p.K & ~3u;
  var k = 0u;
  for (; k < k4; k += 4u) {
    for (var kk = 0u; kk < 4u; kk++) {
      let ka = (k + kk) * a_k;
      let kb = (k + kk) * b_k;
      let b = vec4<f32>(B[b_col[0] + kb], B[b_col[1] + kb], B[b_col[2] + kb], B[b_col[3] + kb]);
      acc0 = fma(vec4<f32>(A[a_row[0] + ka]), b, acc0);
      acc1 = fma(vec4<f32>(A[a_row[1] + ka]), b, acc1);
      acc2 = fma(vec4<f32>(A[a_row[2] + ka]), b, acc2);
      acc3 = fma(vec4<f32>(A[a_row[3] + ka]), b, acc3);
    }
  }
  for (; k < p.K; k++) {
    let ka = k * a_k;
    let kb = k * b_k;
    let b = vec4<f32>(B[b_col[0] + kb], B[b_col[1] + kb], B[b_col[2] + kb], B[b_col[3] + kb]);
    acc0 = fma(vec4<f32>(A[a_row[0] + ka]), b, acc0);
    acc1 = fma(vec4<f32>(A[a_row[1] + ka]), b, acc1);
    acc2 = fma(vec4<f32>(A[a_row[2] + ka]), b, acc2);
    acc3 = fma(vec4<f32>(A[a_row[3] + ka]), b, acc3);
  }

  let c_base = batch * p.c_batch_stride;
  var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < p.N) { C[c_base + m * p.N + n] = rows[i][j]; }
    }
  }
}
