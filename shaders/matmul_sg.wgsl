// Put after sg_tile_common.wgsl (the register tile and its four-step update, accumulate_rows4); the shapes,
// batch strides, bindings and constants are declared in src/kernels/matmul.ts.
// Batched matrix products with subgroup broadcasts (devices with the 'subgroups' feature and subgroups of at
// least 8 lanes), for every layout of the operands:
//   C[b] = op(A[b]) · op(B[b]),  op(A) [M, K] is A [M, K] or, with TRANS_A, A [K, M] transposed;
//                                op(B) [K, N] is B [K, N] or, with TRANS_B, B [N, K] transposed.
// A workgroup owns 32 rows of C; each invocation owns 8 columns for all 32 rows: a 32 × 8 register tile
// (64 vec4 accumulators). The rows are shared by the subgroup: lane l (of 8) reads op(A) for rows
// 4l … 4l + 3 of the block, and subgroupBroadcast hands them round. In 'main', K advances 4 at a time: per
// step a lane reads 4 rows × 4 k of op(A) and 8 columns × 4 k of op(B), then does 1024 multiply-adds, each
// accumulator touched once per 4 k. On llvmpipe (one invocation per SIMD lane) a broadcast is a register
// shuffle, while every per-lane load is a gather, which a vec4 load makes 4 times wider.
//   main:   vec4 loads, each along the operand's contiguous axis: A [M, K] along k (4 k of one row), Aᵀ
//           [K, M] along m (lane l's 4 rows at one k), B [K, N] along n (4 columns at one k), Bᵀ [N, K] along
//           k (4 k of one column). Needs that axis to be a multiple of 4: K for A, M for Aᵀ, N for B, K for Bᵀ.
//   main2:  main's layouts and conditions, 2 k per step, read as vec2s (the default: its loop is half as
//           long, and on this project's AMD EPYC it ran 1.35–1.6× faster than main on the NN and TN products,
//           0.99–1.13× on NT; bench/RESULTS.md, "Two steps of K per accumulator update").
//   ragged: scalar loads, any M, N, K.
// Edges: rows and columns past M, N are clamped on load and never stored; k past K reads a clamped op(B) and
// a zero op(A). The batch is workgroup z; a batch stride of 0 broadcasts that operand. C is written by
// scalars (vec4 stores measured no faster on lavapipe), so N needs no alignment.
// On lavapipe (bench: `npm run bench -- --ops matmul`) this ran several times faster than matmul_vec4.wgsl;
// on the machine of 2026-11-28, 4 k per step beat 1 and 8 (too many live registers), vec4 loads beat scalar ones,
// 32 rows per workgroup beat 16, and 8 invocations per workgroup matched 16 and 32 (figures: bench/RESULTS.md,
// "Kernel changes of 2026-11-28, second session: A/B in one process"; the vec4-load and workgroup-size
// comparisons are not recorded there).

// Each entry point reads the operands through one of the two views of bindings 1 and 2.

// op(B) at the current 4 k: bl[kk] holds this invocation's columns 0–3 at k + kk, bh[kk] columns 4–7.
var<private> bl: array<vec4<f32>, 4>;
var<private> bh: array<vec4<f32>, 4>;
// op(A) at the current 4 k: av[i] holds row 4l + i of the block (l: this lane) at k … k + 3.
var<private> av: array<vec4<f32>, 4>;

/**
 * The 4 k steps of the subgroup (accumulate_rows4 of sg_tile_common.wgsl): row 4j + i of the block is
 * lane j's av[i], kept in acc[16i + 2j] (columns 0–3) and acc[16i + 2j + 1] (columns 4–7).
 */
fn accumulate() {
  accumulate_rows4(av[0], bl, bh, 0u);
  accumulate_rows4(av[1], bl, bh, 16u);
  accumulate_rows4(av[2], bl, bh, 32u);
  accumulate_rows4(av[3], bl, bh, 48u);
}

/** Writes the tile: row m0 + r, column n0 + j is component j % 4 of acc[16 (r % 4) + 2 (r / 4) + j / 4]. */
fn store(m0: u32, n0: u32, batch: u32) {
  let c_base = batch * p.c_batch_stride;
  for (var r = 0u; r < 32u; r++) {
    let m = m0 + r;
    if (m >= p.M) { break; }
    let row = c_base + m * p.N;
    for (var j = 0u; j < 8u; j++) {
      let n = n0 + j;
      if (n < p.N) { C[row + n] = acc[16u * (r % 4u) + 2u * (r / 4u) + j / 4u][j % 4u]; }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sid: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let l = sid & 7u;
  let m0 = wid.y * 32u;
  let n0 = (wid.x * WG + lid) * 8u;
  // Offsets in vec4s (the launcher picks this entry only when they divide evenly).
  let a_base = (wid.z * p.a_batch_stride) / 4u;
  let b_base = (wid.z * p.b_batch_stride) / 4u;
  let K4 = K / 4u;
  let M4 = M / 4u;
  let N4 = N / 4u;
  // A [M, K]: this lane's 4 rows (clamped); Aᵀ [K, M]: the vec4 of rows 4l … 4l + 3 (M a multiple of 4, so
  // a block past M clamps to the last whole one, never stored).
  var ar: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { ar[i] = a_base + min(m0 + 4u * l + i, M - 1u) * K4; }
  let at = a_base + min(m0 + 4u * l, M - 4u) / 4u;
  // Bᵀ [N, K]: this invocation's 8 columns (clamped); B [K, N]: its two vec4s of columns.
  var bc: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { bc[j] = b_base + min(n0 + j, N - 1u) * K4; }
  let bn0 = b_base + min(n0, N - 4u) / 4u;
  let bn1 = b_base + min(n0 + 4u, N - 4u) / 4u;

  for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k = 0u; k < K; k += 4u) {
    if (TRANS_A) {
      // K need not be a multiple of 4 here: k past K reads zeros.
      for (var kk = 0u; kk < 4u; kk++) {
        let v = select(vec4<f32>(0.0), A4[at + min(k + kk, K - 1u) * M4], k + kk < K);
        av[0][kk] = v.x;
        av[1][kk] = v.y;
        av[2][kk] = v.z;
        av[3][kk] = v.w;
      }
    } else {
      let k4 = k / 4u;
      av[0] = A4[ar[0] + k4];
      av[1] = A4[ar[1] + k4];
      av[2] = A4[ar[2] + k4];
      av[3] = A4[ar[3] + k4];
    }
    if (TRANS_B) {
      let k4 = k / 4u;
      for (var j = 0u; j < 4u; j++) {
        let v0 = B4[bc[j] + k4];
        let v1 = B4[bc[4u + j] + k4];
        bl[0][j] = v0.x;
        bl[1][j] = v0.y;
        bl[2][j] = v0.z;
        bl[3][j] = v0.w;
        bh[0][j] = v1.x;
        bh[1][j] = v1.y;
        bh[2][j] = v1.z;
        bh[3][j] = v1.w;
      }
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        let ro = min(k + kk, K - 1u) * N4;
        bl[kk] = B4[bn0 + ro];
        bh[kk] = B4[bn1 + ro];
      }
    }
    accumulate();
  }
  store(m0, n0, wid.z);
}

// main2: main's layouts, two k per accumulator update instead of four (accumulate_rows2). Its loop is about
// half main's code, each accumulator is still written once per two products, and the sums are the same as
// main's (the same products added in the same order).
var<private> bl2: array<vec4<f32>, 2>;
var<private> bh2: array<vec4<f32>, 2>;
var<private> av2: array<vec2<f32>, 4>;

@compute @workgroup_size(WG)
fn main2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
         @builtin(subgroup_invocation_id) sid: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let l = sid & 7u;
  let m0 = wid.y * 32u;
  let n0 = (wid.x * WG + lid) * 8u;
  // Offsets in vec2s (the launcher picks this entry only where main's vec4s divide evenly). An entry point
  // may view a binding one way only, so the operands' vec4s along m and n are read as two vec2s.
  let a_base = (wid.z * p.a_batch_stride) / 2u;
  let b_base = (wid.z * p.b_batch_stride) / 2u;
  let K2 = K / 2u;
  let M2 = M / 2u;
  let N2 = N / 2u;
  var ar: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { ar[i] = a_base + min(m0 + 4u * l + i, M - 1u) * K2; }
  let at = a_base + min(m0 + 4u * l, M - 4u) / 2u;
  var bc: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { bc[j] = b_base + min(n0 + j, N - 1u) * K2; }
  let bn0 = b_base + min(n0, N - 4u) / 2u;
  let bn1 = b_base + min(n0 + 4u, N - 4u) / 2u;

  for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k = 0u; k < K; k += 2u) {
    if (TRANS_A) {
      // K need not be even here: k past K reads zeros.
      for (var kk = 0u; kk < 2u; kk++) {
        let o = at + min(k + kk, K - 1u) * M2;
        let v = select(vec4<f32>(0.0), vec4<f32>(A2[o], A2[o + 1u]), k + kk < K);
        av2[0][kk] = v.x;
        av2[1][kk] = v.y;
        av2[2][kk] = v.z;
        av2[3][kk] = v.w;
      }
    } else {
      let k2 = k / 2u;
      av2[0] = A2[ar[0] + k2];
      av2[1] = A2[ar[1] + k2];
      av2[2] = A2[ar[2] + k2];
      av2[3] = A2[ar[3] + k2];
    }
    if (TRANS_B) {
      let k2 = k / 2u;
      for (var j = 0u; j < 4u; j++) {
        let v0 = B2[bc[j] + k2];
        let v1 = B2[bc[4u + j] + k2];
        bl2[0][j] = v0.x;
        bl2[1][j] = v0.y;
        bh2[0][j] = v1.x;
        bh2[1][j] = v1.y;
      }
    } else {
      for (var kk = 0u; kk < 2u; kk++) {
        let ro = min(k + kk, K - 1u) * N2;
        bl2[kk] = vec4<f32>(B2[bn0 + ro], B2[bn0 + ro + 1u]);
        bh2[kk] = vec4<f32>(B2[bn1 + ro], B2[bn1 + ro + 1u]);
      }
    }
    accumulate_rows2(av2[0], bl2, bh2, 0u);
    accumulate_rows2(av2[1], bl2, bh2, 16u);
    accumulate_rows2(av2[2], bl2, bh2, 32u);
    accumulate_rows2(av2[3], bl2, bh2, 48u);
  }
  store(m0, n0, wid.z);
}

@compute @workgroup_size(WG)
fn ragged(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
          @builtin(subgroup_invocation_id) sid: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let l = sid & 7u;
  let m0 = wid.y * 32u;
  let n0 = (wid.x * WG + lid) * 8u;
  let a_base = wid.z * p.a_batch_stride;
  let b_base = wid.z * p.b_batch_stride;
  // Element offsets of this lane's 4 rows of op(A) and this invocation's 8 columns of op(B) at k = 0, and
  // the distance between consecutive k.
  var ar: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    let m = min(m0 + 4u * l + i, M - 1u);
    ar[i] = a_base + select(m * K, m, TRANS_A);
  }
  let a_dk = select(1u, M, TRANS_A);
  var bc: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) {
    let n = min(n0 + j, N - 1u);
    bc[j] = b_base + select(n, n * K, TRANS_B);
  }
  let b_dk = select(N, 1u, TRANS_B);

  for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k = 0u; k < K; k += 4u) {
    for (var kk = 0u; kk < 4u; kk++) {
      let kc = min(k + kk, K - 1u);
      let live = k + kk < K;
      let ao = kc * a_dk;
      for (var i = 0u; i < 4u; i++) { av[i][kk] = select(0.0, A[ar[i] + ao], live); }
      let bo = kc * b_dk;
      bl[kk] = vec4<f32>(B[bc[0] + bo], B[bc[1] + bo], B[bc[2] + bo], B[bc[3] + bo]);
      bh[kk] = vec4<f32>(B[bc[4] + bo], B[bc[5] + bo], B[bc[6] + bo], B[bc[7] + bo]);
    }
    accumulate();
  }
  store(m0, n0, wid.z);
}
