// conv2d filter gradient as an implicit GEMM with subgroup broadcasts (see conv2d_forward_sg.wgsl):
//   dw[co, ci, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, ci, oh·sh − ph + kh, ow·sw − pw + kw]
// GEMM view: rows = (ci, tap) over the window of kernel taps that meet the input (from row tap_h0 and
// column tap_w0 of the kernel, taps_w wide, `taps` in all: every tap unless the map is tiny; the launcher
// clears the gradient of the taps outside it, which see padding alone), ordered as channel_tap says;
// columns = output channels; K = (n, oh, ow). A workgroup owns 32 rows; every invocation owns 8 output
// channels (two vec4 columns of `dyt`, dy laid out [N, H_out·W_out, C_out₄] by conv2d_layout.wgsl) for
// all 32 rows. Each lane gathers x for 4 of the rows and subgroupBroadcast shares them.
// YDIRECT: dy is read in place from `dy` [N, C_out, H_out·W_out], 8 scalar gathers per step instead of two
// vec4 loads, which saves the layout pass when there are too few rows to repay it.
// Split-K: workgroup z / col_groups takes a slice of the batch and writes its partial sums to its own plane
// of `out` ([splits, C_out, C_in·KH·KW]); the launcher sums the planes when there is more than one.

// Row j → (input channel, tap of the window): channel-major (the weight's own order) or, with TAP_MAJOR,
// tap-major, so that a block of 32 rows shares its tap when C_in is a multiple of 32 and with it the
// output positions where that tap meets padding, which the block then skips together.
fn channel_tap(j: u32) -> vec2<u32> {
  if (TAP_MAJOR) { return vec2<u32>(j % p.C_in, j / p.C_in); }
  return vec2<u32>(j / p.taps, j % p.taps);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let m0 = (wid.y * nwg.x + wid.x) * 32u;
  let split = wid.z / p.col_groups;
  let c4 = ((wid.z % p.col_groups) * WG + lid) * 2u;
  let ca = min(c4, p.co4 - 1u);
  let cb = min(c4 + 1u, p.co4 - 1u);
  let HW = p.H * p.W;
  let HWo = p.H_out * p.W_out;
  let KK = p.KH * p.KW;
  let l = sid & 7u;

  // The 4 rows (ci, kh, kw) this lane gathers for the subgroup.
  var xo: array<u32, 4>;
  var rkh: array<i32, 4>;
  var rkw: array<i32, 4>;
  for (var r = 0u; r < 4u; r++) {
    let ct = channel_tap(min(m0 + l + 8u * r, p.rows - 1u));
    xo[r] = ct.x * HW;
    rkh[r] = i32(p.tap_h0 + ct.y / p.taps_w) - i32(p.pad_h);
    rkw[r] = i32(p.tap_w0 + ct.y % p.taps_w) - i32(p.pad_w);
  }

  for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); }

  let n_begin = split * p.n_per_split;
  let n_end = min(p.N, n_begin + p.n_per_split);
  for (var n = n_begin; n < n_end; n++) {
    let xn = n * p.C_in * HW;
    var kq = n * HWo * p.co4;
    var yq = n * p.C_out * HWo;
    // Output positions in order, (oh, ow) stepped along without divisions.
    var oh = 0u;
    var ow = 0u;
    var sp = 0u;
    if (UNROLL4) {
      // Four positions per step (accumulate_rows4); the rest one at a time below.
      for (; sp + 4u <= HWo; sp += 4u) {
        var b0: array<vec4<f32>, 4>;
        var b1: array<vec4<f32>, 4>;
        var ihb: array<i32, 4>;
        var iwb: array<i32, 4>;
        for (var t = 0u; t < 4u; t++) {
          if (YDIRECT) {
            for (var e = 0u; e < 4u; e++) {
              b0[t][e] = dy[yq + t + min(ca * 4u + e, p.C_out - 1u) * HWo];
              b1[t][e] = dy[yq + t + min(cb * 4u + e, p.C_out - 1u) * HWo];
            }
          } else {
            b0[t] = dyt[kq + t * p.co4 + ca];
            b1[t] = dyt[kq + t * p.co4 + cb];
          }
          ihb[t] = i32(oh * p.stride_h);
          iwb[t] = i32(ow * p.stride_w);
          ow += 1u;
          if (ow == p.W_out) { ow = 0u; oh += 1u; }
        }
        kq += 4u * p.co4;
        yq += 4u;
        if (TAP_MAJOR) {
          var any_ok = false;
          for (var r = 0u; r < 4u; r++) {
            for (var t = 0u; t < 4u; t++) {
              let ih = ihb[t] + rkh[r];
              let iw = iwb[t] + rkw[r];
              any_ok = any_ok || (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W));
            }
          }
          if (!subgroupAny(any_ok)) { continue; }
        }
        for (var r = 0u; r < 4u; r++) {
          var v: vec4<f32>;
          for (var t = 0u; t < 4u; t++) {
            let ih = ihb[t] + rkh[r];
            let iw = iwb[t] + rkw[r];
            let ok = ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W);
            v[t] = select(0.0, x[xn + xo[r] + u32(clamp(ih, 0, i32(p.H) - 1)) * p.W + u32(clamp(iw, 0, i32(p.W) - 1))], ok);
          }
          accumulate_rows4(v, b0, b1, r * 16u);
        }
      }
    }
    if (UNROLL2) {
      // Two positions per step (accumulate_rows2); the rest one at a time below. The two are written out:
      // as loops over them, with tap-major rows, lavapipe ran this loop about 7× slower.
      for (; sp + 2u <= HWo; sp += 2u) {
        let ih0 = i32(oh * p.stride_h);
        let iw0 = i32(ow * p.stride_w);
        ow += 1u;
        if (ow == p.W_out) { ow = 0u; oh += 1u; }
        let ih1 = i32(oh * p.stride_h);
        let iw1 = i32(ow * p.stride_w);
        ow += 1u;
        if (ow == p.W_out) { ow = 0u; oh += 1u; }
        let kq0 = kq;
        let yq0 = yq;
        kq += 2u * p.co4;
        yq += 2u;
        if (TAP_MAJOR) {
          var any_ok = false;
          for (var r = 0u; r < 4u; r++) {
            let a = ih0 + rkh[r];
            let b = iw0 + rkw[r];
            let c = ih1 + rkh[r];
            let d = iw1 + rkw[r];
            any_ok = any_ok || (a >= 0 && a < i32(p.H) && b >= 0 && b < i32(p.W)) || (c >= 0 && c < i32(p.H) && d >= 0 && d < i32(p.W));
          }
          if (!subgroupAny(any_ok)) { continue; }
        }
        var b0: array<vec4<f32>, 2>;
        var b1: array<vec4<f32>, 2>;
        if (YDIRECT) {
          for (var e = 0u; e < 4u; e++) {
            b0[0][e] = dy[yq0 + min(ca * 4u + e, p.C_out - 1u) * HWo];
            b1[0][e] = dy[yq0 + min(cb * 4u + e, p.C_out - 1u) * HWo];
            b0[1][e] = dy[yq0 + 1u + min(ca * 4u + e, p.C_out - 1u) * HWo];
            b1[1][e] = dy[yq0 + 1u + min(cb * 4u + e, p.C_out - 1u) * HWo];
          }
        } else {
          b0[0] = dyt[kq0 + ca];
          b1[0] = dyt[kq0 + cb];
          b0[1] = dyt[kq0 + p.co4 + ca];
          b1[1] = dyt[kq0 + p.co4 + cb];
        }
        for (var r = 0u; r < 4u; r++) {
          let a = ih0 + rkh[r];
          let b = iw0 + rkw[r];
          let c = ih1 + rkh[r];
          let d = iw1 + rkw[r];
          let ok0 = a >= 0 && a < i32(p.H) && b >= 0 && b < i32(p.W);
          let ok1 = c >= 0 && c < i32(p.H) && d >= 0 && d < i32(p.W);
          let x0 = x[xn + xo[r] + u32(clamp(a, 0, i32(p.H) - 1)) * p.W + u32(clamp(b, 0, i32(p.W) - 1))];
          let x1 = x[xn + xo[r] + u32(clamp(c, 0, i32(p.H) - 1)) * p.W + u32(clamp(d, 0, i32(p.W) - 1))];
          accumulate_rows2(vec2<f32>(select(0.0, x0, ok0), select(0.0, x1, ok1)), b0, b1, r * 16u);
        }
      }
    }
    for (; sp < HWo; sp++) {
      let ihb = i32(oh * p.stride_h);
      let iwb = i32(ow * p.stride_w);
      ow += 1u;
      if (ow == p.W_out) { ow = 0u; oh += 1u; }
      let kq0 = kq;
      let yq0 = yq;
      kq += p.co4;
      yq += 1u;
      if (TAP_MAJOR) {
        var any_ok = false;
        for (var r = 0u; r < 4u; r++) {
          let ih = ihb + rkh[r];
          let iw = iwb + rkw[r];
          any_ok = any_ok || (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W));
        }
        if (!subgroupAny(any_ok)) { continue; }
      }
      var b0: vec4<f32>;
      var b1: vec4<f32>;
      if (YDIRECT) {
        for (var e = 0u; e < 4u; e++) {
          b0[e] = dy[yq0 + min(ca * 4u + e, p.C_out - 1u) * HWo];
          b1[e] = dy[yq0 + min(cb * 4u + e, p.C_out - 1u) * HWo];
        }
      } else {
        b0 = dyt[kq0 + ca];
        b1 = dyt[kq0 + cb];
      }
      for (var r = 0u; r < 4u; r++) {
        let ih = ihb + rkh[r];
        let iw = iwb + rkw[r];
        let ok = ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W);
        let v = select(0.0, x[xn + xo[r] + u32(clamp(ih, 0, i32(p.H) - 1)) * p.W + u32(clamp(iw, 0, i32(p.W) - 1))], ok);
        accumulate_rows(v, b0, b1, r * 16u);
      }
    }
  }

  // Row j of the window is element (ci, kh, kw) of the gradient's row of C_in·KH·KW.
  let CKK = p.C_in * KK;
  let plane = split * p.C_out * CKK;
  for (var r = 0u; r < 4u; r++) {
    for (var j = 0u; j < 8u; j++) {
      let row = m0 + 8u * r + j;
      if (row >= p.rows) { continue; }
      let ct = channel_tap(row);
      let at = ct.x * KK + (p.tap_h0 + ct.y / p.taps_w) * p.KW + p.tap_w0 + ct.y % p.taps_w;
      for (var h = 0u; h < 2u; h++) {
        let v = acc[16u * r + 2u * j + h];
        for (var e = 0u; e < 4u; e++) {
          let co = (c4 + h) * 4u + e;
          if (co < p.C_out) { out[plane + co * CKK + at] = v[e]; }
        }
      }
    }
  }
}
