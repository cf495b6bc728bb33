// conv2d filter gradient as an implicit GEMM over the batch and output pixels:
//   dw[co, ci, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, ci, oh·sh − ph + kh, ow·sw − pw + kw]
// GEMM view: M = C_out, N = C_in·KH·KW, K = N·H_out·W_out. Every invocation keeps a register tile of
// 4 output channels × 4 input channels at one kernel position (kh, kw), so every input read of the tile
// lies at the same spatial place: the row test is uniform and the valid column range is computed once,
// leaving the inner loop without any bounds check.
// Split-K: workgroup z takes a slice of the batch and writes its partial sums to its own plane of `out`
// ([splits, C_out, C_in, KH, KW]); the launcher sums the planes when there is more than one.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (wid.y * nwg.x + wid.x) * WG + lid;
  if (t >= p.tiles) { return; }
  let split = wid.z;
  let KK = p.KH * p.KW;
  let k = t % KK;
  let r = t / KK;
  let ci0 = (r % p.ci_tiles) * 4u;
  let co0 = (r / p.ci_tiles) * 4u;
  let kh = k / p.KW;
  let kw = k % p.KW;

  let HW = p.H * p.W;
  let HWo = p.H_out * p.W_out;
  var dy_ch: vec4<u32>;
  var x_ch: vec4<u32>;
  for (var i = 0u; i < 4u; i++) {
    dy_ch[i] = min(co0 + i, p.C_out - 1u) * HWo;
    x_ch[i] = min(ci0 + i, p.C_in - 1u) * HW;
  }
  // Output columns whose input column iw = ow·sw − pw + kw lies inside [0, W).
  let sw = i32(p.stride_w);
  let lo_num = i32(p.pad_w) - i32(kw);
  let ow_lo = u32(max(0, (lo_num + sw - 1) / sw));
  let hi_num = i32(p.W) - 1 + i32(p.pad_w) - i32(kw);
  var ow_hi = 0u;
  if (hi_num >= 0) { ow_hi = min(p.W_out, u32(hi_num / sw) + 1u); }
  let iw_shift = i32(kw) - i32(p.pad_w);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  let n_begin = split * p.n_per_split;
  let n_end = min(p.N, n_begin + p.n_per_split);
  for (var n = n_begin; n < n_end; n++) {
    let dy_n = vec4<u32>(n * p.C_out * HWo) + dy_ch;
    let x_n = vec4<u32>(n * p.C_in * HW) + x_ch;
    for (var oh = 0u; oh < p.H_out; oh++) {
      let ih = i32(oh * p.stride_h) - i32(p.pad_h) + i32(kh);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let dy_r = dy_n + vec4<u32>(oh * p.W_out);
      let x_r = x_n + vec4<u32>(u32(ih) * p.W);
      for (var ow = ow_lo; ow < ow_hi; ow++) {
        let iw = u32(i32(ow * p.stride_w) + iw_shift);
        let gv = vec4<f32>(dy[dy_r.x + ow], dy[dy_r.y + ow], dy[dy_r.z + ow], dy[dy_r.w + ow]);
        let xv = vec4<f32>(x[x_r.x + iw], x[x_r.y + iw], x[x_r.z + iw], x[x_r.w + iw]);
        acc0 = fma(vec4<f32>(gv.x), xv, acc0);
        acc1 = fma(vec4<f32>(gv.y), xv, acc1);
        acc2 = fma(vec4<f32>(gv.z), xv, acc2);
        acc3 = fma(vec4<f32>(gv.w), xv, acc3);
      }
    }
  }

  var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let CKK = p.C_in * KK;
  let base = split * p.C_out * CKK + k;
  for (var i = 0u; i < 4u; i++) {
    let co = co0 + i;
    if (co >= p.C_out) { break; }
    for (var j = 0u; j < 4u; j++) {
      let ci = ci0 + j;
      if (ci < p.C_in) { out[base + co * CKK + ci * KK] = rows[i][j]; }
    }
  }
}
