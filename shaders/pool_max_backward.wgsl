// Max-pooling backward as a gather (no atomics, deterministic): one invocation per input element sums the
// upstream gradient of every output whose window covers it and whose recorded argmax is this element.
// The geometry comes as override constants (MAX_CONSTANTS in src/kernels/pool.ts).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let iw = i % W;
  let ih = (i / W) % H;
  let nc = i / (W * H);
  let k = i32(ih * W + iw);
  // The outputs whose window covers (ih, iw): oh = (ih + PH) / SH − th for th < ceil(KH / SH) while the
  // window oh·SH − PH … oh·SH − PH + KH − 1 still reaches ih (likewise along w). A fixed number of
  // candidates, read clamped and masked, keeps every lane on the same path. They are summed in ascending
  // (oh, ow), the order PyTorch's and TensorFlow.js's kernels use, so that sums match theirs to the bit.
  let oh0 = i32((ih + PH) / SH);
  let ow0 = i32((iw + PW) / SW);
  let base = nc * H_OUT * W_OUT;
  var acc = 0.0;
  let TH = i32((KH + SH - 1u) / SH);
  let TW = i32((KW + SW - 1u) / SW);
  for (var th = 0; th < TH; th++) {
    let oh = oh0 - (TH - 1 - th);
    let okh = oh >= 0 && oh < i32(H_OUT) && oh * i32(SH) + i32(KH) > i32(ih + PH);
    let row = base + u32(clamp(oh, 0, i32(H_OUT) - 1)) * W_OUT;
    for (var tw = 0; tw < TW; tw++) {
      let ow = ow0 - (TW - 1 - tw);
      let ok = okh && ow >= 0 && ow < i32(W_OUT) && ow * i32(SW) + i32(KW) > i32(iw + PW);
      let o = row + u32(clamp(ow, 0, i32(W_OUT) - 1));
      acc += select(0.0, dy[o], ok && argmax[o] == k);
    }
  }
  dx[i] = acc;
}
