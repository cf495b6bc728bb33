// conv2d forward as an implicit GEMM with subgroup broadcasts (devices with the 'subgroups' feature and a
// subgroup size of at least 8):
//   out[n, co, oh, ow] = bias[co] + Σ_{ci, kh, kw} x[n, ci, oh·sh − ph + kh, ow·sw − pw + kw] · w[co, ci, kh, kw]
// GEMM view: rows = output pixels, flattened as (n, oh, ow) or, when img_fast, as (oh, ow, n), the image
// fastest, so that a block of rows shares its place in a small map and with it which kernel taps fall on
// padding (the launcher picks that for small padded maps; otherwise neighbouring rows are neighbouring
// pixels, kinder to the caches); columns = output channels; K = (kh, kw, ci).
// A workgroup owns 32 rows; every invocation of it owns 8 output channels (two vec4 columns of `wt`, the
// weights laid out [ci·KK + kh·KW + kw][co] by conv2d_layout.wgsl) for all 32 rows: a 32 × 8 register tile.
// The rows are shared by the whole subgroup, so each invocation gathers the input values of only 4 of them
// (rows l, l + 8, l + 16, l + 24 for subgroup lane l) and subgroupBroadcast hands them round: per step of K,
// 4 scalar gathers and 2 vec4 loads feed 256 multiply-adds. On llvmpipe (one invocation per SIMD lane,
// 8 lanes per subgroup) a broadcast is a register shuffle, while every per-lane load is a gather.
// Kernel taps that no row of the block can use (padding at tiny feature maps) are skipped as a whole.
// WDIRECT: the weights are read in place from `w` [C_out, C_in·KH·KW], 8 scalar gathers per step instead of
// two vec4 loads, which saves the layout pass when there are too few rows to repay it.
// FLATK: K walked as one range of (kh, kw, ci), ci fastest (the order of the loops over taps and channels),
// two steps per accumulator update wherever they fall: for inputs of few channels (the stem's 3), whose taps
// hold too few steps for UNROLL2. Same sums, same order; no tap is skipped as a whole.

/** This invocation's 8 weight columns at step k: channels 4·ca … 4·ca + 3 and 4·cb … 4·cb + 3. */
fn weight_cols(k: u32, ca: u32, cb: u32) -> array<vec4<f32>, 2> {
  var b: array<vec4<f32>, 2>;
  if (WDIRECT) {
    let CKK = p.C_in * p.KH * p.KW;
    for (var e = 0u; e < 4u; e++) {
      b[0][e] = w[min(ca * 4u + e, p.C_out - 1u) * CKK + k];
      b[1][e] = w[min(cb * 4u + e, p.C_out - 1u) * CKK + k];
    }
  } else {
    b[0] = wt[k * p.co4 + ca];
    b[1] = wt[k * p.co4 + cb];
  }
  return b;
}

// Row q → (image, place in the output map).
fn pixel_of(q: u32) -> vec2<u32> {
  let HWo = p.H_out * p.W_out;
  if (p.img_fast != 0u) { return vec2<u32>(q % p.N, q / p.N); }
  return vec2<u32>(q / HWo, q % HWo);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let m0 = (wid.y * nwg.x + wid.x) * 32u;
  let c4 = (wid.z * WG + lid) * 2u;
  let ca = min(c4, p.co4 - 1u);
  let cb = min(c4 + 1u, p.co4 - 1u);
  let HW = p.H * p.W;
  let HWo = p.H_out * p.W_out;
  let KK = p.KH * p.KW;
  let l = sid & 7u;

  // The 4 rows this lane gathers for the subgroup.
  var xb: array<u32, 4>;
  var ih0: array<i32, 4>;
  var iw0: array<i32, 4>;
  for (var r = 0u; r < 4u; r++) {
    let q = min(m0 + l + 8u * r, p.rows - 1u);
    let pix = pixel_of(q);
    let ow = pix.y % p.W_out;
    let oh = pix.y / p.W_out;
    xb[r] = pix.x * p.C_in * HW;
    ih0[r] = i32(oh * p.stride_h) - i32(p.pad_h);
    iw0[r] = i32(ow * p.stride_w) - i32(p.pad_w);
  }

  for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); }

  if (FLATK) {
    let K = KK * p.C_in;
    var kh = 0u;
    var kw = 0u;
    var ci = 0u;
    var j = 0u;
    for (; j < K; j += 2u) {
      // Steps j and j + 1 (the second a zero step past the end of K, where K is odd).
      var v: array<vec2<f32>, 4>;
      var b0: array<vec4<f32>, 2>;
      var b1: array<vec4<f32>, 2>;
      for (var t = 0u; t < 2u; t++) {
        let live = j + t < K;
        let b = weight_cols(min(ci * KK + kh * p.KW + kw, K - 1u), ca, cb);
        b0[t] = select(vec4<f32>(0.0), b[0], live);
        b1[t] = select(vec4<f32>(0.0), b[1], live);
        for (var r = 0u; r < 4u; r++) {
          let ih = ih0[r] + i32(kh);
          let iw = iw0[r] + i32(kw);
          let ok = live && ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W);
          let o = xb[r] + ci * HW + u32(clamp(ih, 0, i32(p.H) - 1)) * p.W + u32(clamp(iw, 0, i32(p.W) - 1));
          v[r][t] = select(0.0, x[o], ok);
        }
        // Next (kh, kw, ci), ci fastest.
        ci += 1u;
        let wrap_c = ci == p.C_in;
        ci = select(ci, 0u, wrap_c);
        kw = select(kw, kw + 1u, wrap_c);
        let wrap_w = kw == p.KW;
        kw = select(kw, 0u, wrap_w);
        kh = select(kh, kh + 1u, wrap_w);
      }
      for (var r = 0u; r < 4u; r++) { accumulate_rows2(v[r], b0, b1, r * 16u); }
    }
  }

  for (var kh = 0u; kh < select(p.KH, 0u, FLATK); kh++) {
    for (var kw = 0u; kw < p.KW; kw++) {
      var off: array<u32, 4>;
      var ok: array<bool, 4>;
      var any_ok = false;
      for (var r = 0u; r < 4u; r++) {
        let ih = ih0[r] + i32(kh);
        let iw = iw0[r] + i32(kw);
        ok[r] = ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W);
        any_ok = any_ok || ok[r];
        off[r] = xb[r] + u32(clamp(ih, 0, i32(p.H) - 1)) * p.W + u32(clamp(iw, 0, i32(p.W) - 1));
      }
      if (!subgroupAny(any_ok)) { continue; }
      var k = kh * p.KW + kw;
      var ci = 0u;
      if (UNROLL4) {
        // Four input channels per step (accumulate_rows4); the rest one at a time below.
        for (; ci + 4u <= p.C_in; ci += 4u) {
          var b0: array<vec4<f32>, 4>;
          var b1: array<vec4<f32>, 4>;
          for (var t = 0u; t < 4u; t++) {
            let b = weight_cols(k, ca, cb);
            b0[t] = b[0];
            b1[t] = b[1];
            k += KK;
          }
          let xo = ci * HW;
          for (var r = 0u; r < 4u; r++) {
            let o = off[r] + xo;
            let v = select(vec4<f32>(0.0), vec4<f32>(x[o], x[o + HW], x[o + 2u * HW], x[o + 3u * HW]), ok[r]);
            accumulate_rows4(v, b0, b1, r * 16u);
          }
        }
      }
      if (UNROLL2) {
        // Two input channels per step (accumulate_rows2); the rest one at a time below.
        for (; ci + 2u <= p.C_in; ci += 2u) {
          var b0: array<vec4<f32>, 2>;
          var b1: array<vec4<f32>, 2>;
          for (var t = 0u; t < 2u; t++) {
            let b = weight_cols(k, ca, cb);
            b0[t] = b[0];
            b1[t] = b[1];
            k += KK;
          }
          let xo = ci * HW;
          for (var r = 0u; r < 4u; r++) {
            let o = off[r] + xo;
            let v = select(vec2<f32>(0.0), vec2<f32>(x[o], x[o + HW]), ok[r]);
            accumulate_rows2(v, b0, b1, r * 16u);
          }
        }
      }
      for (; ci < p.C_in; ci++) {
        let b = weight_cols(k, ca, cb);
        let xo = ci * HW;
        for (var r = 0u; r < 4u; r++) {
          let v = select(0.0, x[off[r] + xo], ok[r]);
          accumulate_rows(v, b[0], b[1], r * 16u);
        }
        k += KK;
      }
    }
  }

  // The epilogue's parameters of this invocation's 8 channels (channel_epilogue and store_out come from
  // conv2d_store.wgsl or conv2d_store_bn.wgsl).
  var ep: array<vec3<f32>, 8>;
  for (var h = 0u; h < 2u; h++) {
    for (var e = 0u; e < 4u; e++) { ep[4u * h + e] = channel_epilogue(min((c4 + h) * 4u + e, p.C_out - 1u)); }
  }
  // Row m0 + 8r + j sits in acc[16r + 2j] (channels 4·c4 … 4·c4 + 3) and acc[16r + 2j + 1] (the next 4).
  for (var r = 0u; r < 4u; r++) {
    for (var j = 0u; j < 8u; j++) {
      let q = m0 + 8u * r + j;
      if (q >= p.rows) { continue; }
      let pix = pixel_of(q);
      let sp = pix.y;
      let n = pix.x;
      for (var h = 0u; h < 2u; h++) {
        let v = acc[16u * r + 2u * j + h];
        for (var e = 0u; e < 4u; e++) {
          let co = (c4 + h) * 4u + e;
          if (co < p.C_out) {
            var y = v[e];
            if (HAS_BIAS) { y += bias[co]; }
            store_out((n * p.C_out + co) * HWo + sp, y, ep[4u * h + e]);
          }
        }
      }
    }
  }
}
