// conv2d forward as an implicit GEMM over NCHW activations and [C_out, C_in, KH, KW] weights:
//   out[n, co, oh, ow] = bias[co] + Σ_{ci, kh, kw} x[n, ci, oh·sh − ph + kh, ow·sw − pw + kw] · w[co, ci, kh, kw]
// GEMM view: M = C_out, N = output pixels, K = C_in·KH·KW. Every invocation keeps a register tile of
// 4 output channels × 4 neighbouring output pixels of one row (n, oh, ow0..ow0+3) and reads input and
// weights straight from memory (no im2col buffer, no workgroup memory, no barriers).
// The reduction runs kernel position (kh, kw) outside and input channel inside: the row check is uniform
// over the tile, the column check is made once per kernel position, and the channel loop is branch-free.
// Split reduction (few tiles, long K, on GPUs): workgroup z = split · ⌈C_out / 4⌉ + channel group; split s
// sums input channels [s·ci_chunk, (s + 1)·ci_chunk) into slice s of `out` ([splits, N, C_out, H_out, W_out]),
// which a reduction then sums. One split (ci_chunk = C_in) is the plain convolution.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (wid.y * nwg.x + wid.x) * WG + lid;
  if (t >= p.tiles) { return; }
  let co_groups = (p.C_out + 3u) / 4u;
  let split = wid.z / co_groups;
  let co0 = (wid.z % co_groups) * 4u;
  let ci_begin = split * p.ci_chunk;
  let ci_end = min(p.C_in, ci_begin + p.ci_chunk);
  let owt = t % p.tiles_w;
  let r = t / p.tiles_w;
  let oh = r % p.H_out;
  let n = r / p.H_out;
  let ow0 = owt * 4u;

  let HW = p.H * p.W;
  let KK = p.KH * p.KW;
  let CKK = p.C_in * KK;
  var w_row: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { w_row[i] = min(co0 + i, p.C_out - 1u) * CKK; }
  let x_n = n * p.C_in * HW;
  let ih0 = i32(oh * p.stride_h) - i32(p.pad_h);
  let iw0 = i32(ow0 * p.stride_w) - i32(p.pad_w);
  let sw = i32(p.stride_w);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var kh = 0u; kh < p.KH; kh++) {
    let ih = ih0 + i32(kh);
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    let x_row = x_n + u32(ih) * p.W;
    for (var kw = 0u; kw < p.KW; kw++) {
      let iw = vec4<i32>(iw0 + i32(kw)) + vec4<i32>(0, sw, 2 * sw, 3 * sw);
      let valid = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
      if (!any(valid)) { continue; }
      let off = vec4<u32>(x_row) + vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(p.W) - 1)));
      let k = kh * p.KW + kw;
      for (var ci = ci_begin; ci < ci_end; ci++) {
        let xo = ci * HW;
        let xv = select(vec4<f32>(0.0), vec4<f32>(x[off.x + xo], x[off.y + xo], x[off.z + xo], x[off.w + xo]), valid);
        let wo = ci * KK + k;
        let wv = vec4<f32>(w[w_row[0] + wo], w[w_row[1] + wo], w[w_row[2] + wo], w[w_row[3] + wo]);
        acc0 = fma(vec4<f32>(xv.x), wv, acc0);
        acc1 = fma(vec4<f32>(xv.y), wv, acc1);
        acc2 = fma(vec4<f32>(xv.z), wv, acc2);
        acc3 = fma(vec4<f32>(xv.w), wv, acc3);
      }
    }
  }

  var b = vec4<f32>(0.0);
  if (HAS_BIAS && split == 0u) {
    b = vec4<f32>(bias[min(co0, p.C_out - 1u)], bias[min(co0 + 1u, p.C_out - 1u)],
                  bias[min(co0 + 2u, p.C_out - 1u)], bias[min(co0 + 3u, p.C_out - 1u)]);
  }
  var cols = array<vec4<f32>, 4>(acc0 + b, acc1 + b, acc2 + b, acc3 + b);
  let HWo = p.H_out * p.W_out;
  for (var i = 0u; i < 4u; i++) {
    let co = co0 + i;
    if (co >= p.C_out) { break; }
    let base = ((split * p.N + n) * p.C_out + co) * HWo + oh * p.W_out;
    for (var j = 0u; j < 4u; j++) {
      let ow = ow0 + j;
      if (ow < p.W_out) { out[base + ow] = cols[j][i]; }
    }
  }
}
