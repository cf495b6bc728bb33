// Max-pooling backward as pool_max_backward.wgsl's gather, four neighbouring input elements of one row per
// invocation (W % 4 == 0): the outputs whose windows cover any of the four are read once for all four (for a
// 3×3 window at stride 2, three columns of candidates instead of two per element: 12 loads for four elements
// instead of 32), and the four sums leave as one vec4. Each element sums its own candidates in ascending
// (oh, ow), the order of the scalar kernel, so the bits are the same. The geometry comes as override
// constants (MAX_CONSTANTS in src/kernels/pool.ts).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i4 = gid.x + gid.y * nwg.x * WG;
  if (i4 >= p.total) { return; }
  let W4 = W / 4u;
  let iw0 = (i4 % W4) * 4u;
  let ih = (i4 / W4) % H;
  let nc = i4 / (W4 * H);
  let k0 = i32(ih * W + iw0);
  // Candidate rows as in the scalar kernel; candidate columns: from the first of element 0's to the last
  // of element 3's, a fixed count TWV (wider than any one element's TW) read clamped and masked.
  let TH = i32((KH + SH - 1u) / SH);
  let TW = i32((KW + SW - 1u) / SW);
  let TWV = TW + i32(3u / SW) + 1;
  let oh0 = i32((ih + PH) / SH);
  let ow_first = i32((iw0 + PW) / SW) - (TW - 1);
  let base = nc * H_OUT * W_OUT;
  var acc = vec4<f32>(0.0);
  for (var th = 0; th < TH; th++) {
    let oh = oh0 - (TH - 1 - th);
    let okh = oh >= 0 && oh < i32(H_OUT) && oh * i32(SH) + i32(KH) > i32(ih + PH);
    let row = base + u32(clamp(oh, 0, i32(H_OUT) - 1)) * W_OUT;
    for (var tw = 0; tw < TWV; tw++) {
      let ow = ow_first + tw;
      let okw = okh && ow >= 0 && ow < i32(W_OUT);
      let o = row + u32(clamp(ow, 0, i32(W_OUT) - 1));
      let g = dy[o];
      let am = argmax[o];
      // Element e (column iw0 + e) lies in this window when ow·SW − PW ≤ iw0 + e < ow·SW − PW + KW.
      let lo = ow * i32(SW) - i32(PW);
      for (var e = 0; e < 4; e++) {
        let iw = i32(iw0) + e;
        let ok = okw && lo <= iw && iw < lo + i32(KW) && am == k0 + e;
        acc[e] += select(0.0, g, ok);
      }
    }
  }
  dx[i4] = acc;
}
