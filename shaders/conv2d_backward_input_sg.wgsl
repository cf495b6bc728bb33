// conv2d input gradient as an implicit GEMM with subgroup broadcasts (see conv2d_forward_sg.wgsl):
//   dx[n, ci, ih, iw] = Σ_{co, kh, kw} dy[n, co, oh, ow] · w[co, ci, kh, kw]
//   where oh = (ih + ph − kh) / sh and ow = (iw + pw − kw) / sw when both divide exactly and are in range.
// Workgroup z picks the stride phase (ih mod sh, iw mod sw) = (phase_h, phase_w): only the kernel taps
// kh ≡ ih + ph (mod sh), kw ≡ iw + pw (mod sw) reach the pixels of a phase, and for them oh = a + dh,
// ow = b + dw with (a, b) the pixel's position in the phase grid, so the tap loop visits those taps alone.
// GEMM view per phase: rows = input pixels of the phase, flattened as (n, a, b) or, when img_fast, as
// (a, b, n), the image fastest, so that a block of rows shares its place in a small map and with it which
// taps fall outside dy (see conv2d_forward_sg.wgsl); columns = input channels,
// K = (tap, co). A workgroup owns 32 rows; every invocation owns 8 input channels (two vec4 columns of
// `wt`, the weights laid out [co, kh·KW + kw, ci₄] by conv2d_layout.wgsl) for all 32 rows. Each lane
// gathers dy for 4 of the rows and subgroupBroadcast shares them.
// WDIRECT: the weights are read in place from `w` [C_out, C_in, KH, KW], 8 scalar gathers per step instead
// of two vec4 loads, which saves the layout pass when there are too few rows to repay it.
// ACCUMULATE: dx += the gradient (dx holds another gradient of the same input, e.g. a ResNet block's
// shortcut), instead of dx = the gradient.

// Row q of a phase with `per_image` pixels per image → (image, place in the phase grid).
fn pixel_of(q: u32, per_image: u32) -> vec2<u32> {
  if (p.img_fast != 0u) { return vec2<u32>(q % p.N, q / p.N); }
  return vec2<u32>(q / per_image, q % per_image);
}

/**
 * This invocation's 8 weight columns (input channels 4·ca … 4·ca + 3 and 4·cb … 4·cb + 3) for output
 * channel co at tap `tap` = kh·KW + kw, which is row k = co·KH·KW + tap of `wt`.
 */
fn weight_cols(co: u32, tap: u32, k: u32, ca: u32, cb: u32) -> array<vec4<f32>, 2> {
  var b: array<vec4<f32>, 2>;
  if (WDIRECT) {
    let KK = p.KH * p.KW;
    let wk = co * p.C_in * KK + tap;
    for (var e = 0u; e < 4u; e++) {
      b[0][e] = w[wk + min(ca * 4u + e, p.C_in - 1u) * KK];
      b[1][e] = w[wk + min(cb * 4u + e, p.C_in - 1u) * KK];
    }
  } else {
    b[0] = wt[k * p.ci4 + ca];
    b[1] = wt[k * p.ci4 + cb];
  }
  return b;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let m0 = (wid.y * nwg.x + wid.x) * 32u;
  let phase = wid.z / p.col_groups;
  let phase_h = phase / p.stride_w;
  let phase_w = phase % p.stride_w;
  // Rows of this phase: pixels (n, a, b) with ih = phase_h + a·sh < H, iw = phase_w + b·sw < W.
  let rows_h = select(0u, (p.H - phase_h + p.stride_h - 1u) / p.stride_h, phase_h < p.H);
  let rows_w = select(0u, (p.W - phase_w + p.stride_w - 1u) / p.stride_w, phase_w < p.W);
  let rows = p.N * rows_h * rows_w;
  if (m0 >= rows) { return; }
  let c4 = ((wid.z % p.col_groups) * WG + lid) * 2u;
  let ca = min(c4, p.ci4 - 1u);
  let cb = min(c4 + 1u, p.ci4 - 1u);
  let HWo = p.H_out * p.W_out;
  let KK = p.KH * p.KW;
  let l = sid & 7u;

  // The 4 rows this lane gathers for the subgroup: image offset into dy and phase-grid position (a, b).
  var yb: array<u32, 4>;
  var ra: array<i32, 4>;
  var rb: array<i32, 4>;
  for (var r = 0u; r < 4u; r++) {
    let q = min(m0 + l + 8u * r, rows - 1u);
    let pix = pixel_of(q, rows_h * rows_w);
    ra[r] = i32(pix.y / rows_w);
    rb[r] = i32(pix.y % rows_w);
    yb[r] = pix.x * p.C_out * HWo;
  }

  for (var i = 0u; i < 64u; i++) { acc[i] = vec4<f32>(0.0); }

  let sh = p.stride_h;
  let sw = p.stride_w;
  let kh0 = (phase_h + p.pad_h) % sh;
  let kw0 = (phase_w + p.pad_w) % sw;
  for (var kh = kh0; kh < p.KH; kh += sh) {
    let dh = (i32(phase_h + p.pad_h) - i32(kh)) / i32(sh);
    for (var kw = kw0; kw < p.KW; kw += sw) {
      let dw = (i32(phase_w + p.pad_w) - i32(kw)) / i32(sw);
      var off: array<u32, 4>;
      var ok: array<bool, 4>;
      var any_ok = false;
      for (var r = 0u; r < 4u; r++) {
        let oh = ra[r] + dh;
        let ow = rb[r] + dw;
        ok[r] = oh >= 0 && oh < i32(p.H_out) && ow >= 0 && ow < i32(p.W_out);
        any_ok = any_ok || ok[r];
        off[r] = yb[r] + u32(clamp(oh, 0, i32(p.H_out) - 1)) * p.W_out + u32(clamp(ow, 0, i32(p.W_out) - 1));
      }
      if (!subgroupAny(any_ok)) { continue; }
      var k = kh * p.KW + kw;
      var co = 0u;
      if (UNROLL4) {
        // Four output channels per step (accumulate_rows4); the rest one at a time below.
        for (; co + 4u <= p.C_out; co += 4u) {
          var b0: array<vec4<f32>, 4>;
          var b1: array<vec4<f32>, 4>;
          for (var t = 0u; t < 4u; t++) {
            let b = weight_cols(co + t, kh * p.KW + kw, k, ca, cb);
            b0[t] = b[0];
            b1[t] = b[1];
            k += KK;
          }
          let yo = co * HWo;
          for (var r = 0u; r < 4u; r++) {
            let o = off[r] + yo;
            let v = select(vec4<f32>(0.0), vec4<f32>(dy[o], dy[o + HWo], dy[o + 2u * HWo], dy[o + 3u * HWo]), ok[r]);
            accumulate_rows4(v, b0, b1, r * 16u);
          }
        }
      }
      if (UNROLL2) {
        // Two output channels per step (accumulate_rows2); the rest one at a time below.
        for (; co + 2u <= p.C_out; co += 2u) {
          var b0: array<vec4<f32>, 2>;
          var b1: array<vec4<f32>, 2>;
          for (var t = 0u; t < 2u; t++) {
            let b = weight_cols(co + t, kh * p.KW + kw, k, ca, cb);
            b0[t] = b[0];
            b1[t] = b[1];
            k += KK;
          }
          let yo = co * HWo;
          for (var r = 0u; r < 4u; r++) {
            let o = off[r] + yo;
            let v = select(vec2<f32>(0.0), vec2<f32>(dy[o], dy[o + HWo]), ok[r]);
            accumulate_rows2(v, b0, b1, r * 16u);
          }
        }
      }
      for (; co < p.C_out; co++) {
        let b = weight_cols(co, kh * p.KW + kw, k, ca, cb);
        let yo = co * HWo;
        for (var r = 0u; r < 4u; r++) {
          let v = select(0.0, dy[off[r] + yo], ok[r]);
          accumulate_rows(v, b[0], b[1], r * 16u);
        }
        k += KK;
      }
    }
  }

  let HW = p.H * p.W;
  for (var r = 0u; r < 4u; r++) {
    for (var j = 0u; j < 8u; j++) {
      let q = m0 + 8u * r + j;
      if (q >= rows) { continue; }
      let pix = pixel_of(q, rows_h * rows_w);
      let ih = phase_h + (pix.y / rows_w) * sh;
      let iw = phase_w + (pix.y % rows_w) * sw;
      let base = pix.x * p.C_in * HW + ih * p.W + iw;
      for (var h = 0u; h < 2u; h++) {
        let v = acc[16u * r + 2u * j + h];
        for (var e = 0u; e < 4u; e++) {
          let ci = (c4 + h) * 4u + e;
          if (ci < p.C_in) {
            let k = base + ci * HW;
            if (ACCUMULATE) { dx[k] += v[e]; } else { dx[k] = v[e]; }
          }
        }
      }
    }
  }
}
