// Layout change for the subgroup convolution kernels: in viewed as [B, R, S] (row-major) becomes
// out [B, S, R_pad] with out[b, s, r] = in[b, r, s] for r < R and 0 for R ≤ r < R_pad, so that R_pad is a
// multiple of 4 and rows of the result read as vec4.
//   weights for the forward:        [C_out, C_in·KH·KW]      → [C_in·KH·KW, C_out₄]   (B = 1)
//   weights for the input gradient: [C_out, C_in, KH·KW]     → [C_out, KH·KW, C_in₄]  (B = C_out)
//   dy for the filter gradient:     [N, C_out, H_out·W_out] → [N, H_out·W_out, C_out₄] (B = N)
// Every invocation moves a block of 4 r × 4 s: 16 scalar reads, 4 vec4 writes (one element per invocation
// runs at a fraction of the speed on llvmpipe, where the per-invocation cost dominates such a kernel).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let r4 = i % p.R4;
  let t = i / p.R4;
  let s4 = t % p.S4;
  let b = t / p.S4;
  let r0 = r4 * 4u;
  for (var e = 0u; e < 4u; e++) {
    let s = s4 * 4u + e;
    if (s >= p.S) { break; }
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      let r = r0 + j;
      if (r < p.R) { v[j] = src[(b * p.R + r) * p.S + s]; }
    }
    dst[(b * p.S + s) * p.R4 + r4] = v;
  }
}
