// conv2d input gradient (a transposed convolution) as an implicit GEMM:
//   dx[n, ci, ih, iw] = Σ_{co, kh, kw} dy[n, co, oh, ow] · w[co, ci, kh, kw]
//   where oh = (ih + ph − kh) / sh and ow = (iw + pw − kw) / sw when both divide exactly and are in range.
// GEMM view: M = C_in, N = input pixels, K = C_out·KH·KW. Every invocation keeps a register tile of
// 4 input channels × 4 input pixels of one row that share a phase modulo the stride
// (iw = phase + (4·chunk + j)·sw), so the divisibility test is uniform over the tile: kernel positions
// that do not divide are skipped outright instead of being masked, and the 4 pixels read 4 consecutive
// dy columns. The output-channel loop inside is branch-free.
// Split reduction (few tiles, long K, on GPUs): workgroup z = split · ⌈C_in / 4⌉ + channel group; split s
// sums output channels [s·co_chunk, (s + 1)·co_chunk) into slice s of `dx` ([splits, N, C_in, H, W]), which a
// reduction then sums. One split (co_chunk = C_out) is the plain input gradient.
// ACCUMULATE (one split only): dx += the gradient (dx holds another gradient of the same input, e.g. a
// ResNet block's shortcut), instead of dx = the gradient.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (wid.y * nwg.x + wid.x) * WG + lid;
  if (t >= p.tiles) { return; }
  let ci_groups = (p.C_in + 3u) / 4u;
  let split = wid.z / ci_groups;
  let ci0 = (wid.z % ci_groups) * 4u;
  let co_begin = split * p.co_chunk;
  let co_end = min(p.C_out, co_begin + p.co_chunk);
  let owt = t % p.tiles_w;
  let r = t / p.tiles_w;
  let ih = r % p.H;
  let n = r / p.H;
  // p.chunks: tiles per phase.
  let phase = owt / p.chunks;
  let chunk = owt % p.chunks;
  let iw_first = phase + chunk * 4u * p.stride_w;

  let KK = p.KH * p.KW;
  let HWo = p.H_out * p.W_out;
  let CoStride = p.C_in * KK;
  var w_col: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { w_col[i] = min(ci0 + i, p.C_in - 1u) * KK; }
  let dy_n = n * p.C_out * HWo;
  let sh = i32(p.stride_h);
  let sw = i32(p.stride_w);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var kh = 0u; kh < p.KH; kh++) {
    let nh = i32(ih + p.pad_h) - i32(kh);
    if (nh < 0 || nh % sh != 0) { continue; }
    let oh = nh / sh;
    if (oh >= i32(p.H_out)) { continue; }
    let dy_row = dy_n + u32(oh) * p.W_out;
    for (var kw = 0u; kw < p.KW; kw++) {
      let nw = i32(iw_first + p.pad_w) - i32(kw);
      // nw may be negative; a multiple of sw divides exactly in i32 either way.
      if (((nw % sw) + sw) % sw != 0) { continue; }
      let ow = vec4<i32>(nw / sw) + vec4<i32>(0, 1, 2, 3);
      let valid = (ow >= vec4<i32>(0)) & (ow < vec4<i32>(i32(p.W_out)));
      if (!any(valid)) { continue; }
      let off = vec4<u32>(dy_row) + vec4<u32>(clamp(ow, vec4<i32>(0), vec4<i32>(i32(p.W_out) - 1)));
      let k = kh * p.KW + kw;
      for (var co = co_begin; co < co_end; co++) {
        let yo = co * HWo;
        let gv = select(vec4<f32>(0.0), vec4<f32>(dy[off.x + yo], dy[off.y + yo], dy[off.z + yo], dy[off.w + yo]), valid);
        let wo = co * CoStride + k;
        let wv = vec4<f32>(w[w_col[0] + wo], w[w_col[1] + wo], w[w_col[2] + wo], w[w_col[3] + wo]);
        acc0 = fma(vec4<f32>(gv.x), wv, acc0);
        acc1 = fma(vec4<f32>(gv.y), wv, acc1);
        acc2 = fma(vec4<f32>(gv.z), wv, acc2);
        acc3 = fma(vec4<f32>(gv.w), wv, acc3);
      }
    }
  }

  var cols = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let HW = p.H * p.W;
  for (var i = 0u; i < 4u; i++) {
    let ci = ci0 + i;
    if (ci >= p.C_in) { break; }
    let base = ((split * p.N + n) * p.C_in + ci) * HW + ih * p.W;
    for (var j = 0u; j < 4u; j++) {
      let iw = iw_first + j * p.stride_w;
      if (iw < p.W) {
        if (ACCUMULATE) { dx[base + iw] += cols[j][i]; } else { dx[base + iw] = cols[j][i]; }
      }
    }
  }
}
