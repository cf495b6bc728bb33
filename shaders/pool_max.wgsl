// Max pooling over NCHW, one invocation per output element: scans its KH×KW window (padding never wins)
// and keeps the first maximum in scan order, as PyTorch does (NaN counts as a maximum). Writes the value
// and the winner's flat index ih·W + iw within its (n, c) plane, for the backward pass.
// The geometry comes as override constants (MAX_CONSTANTS in src/kernels/pool.ts).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * WG;
  if (o >= p.total) { return; }
  let ow = o % W_OUT;
  let oh = (o / W_OUT) % H_OUT;
  let nc = o / (W_OUT * H_OUT);
  let base = nc * H * W;
  let ih0 = i32(oh * SH) - i32(PH);
  let iw0 = i32(ow * SW) - i32(PW);
  var best = 0.0;
  var at = -1;
  for (var kh = 0; kh < i32(KH); kh++) {
    let ih = ih0 + kh;
    if (ih < 0 || ih >= i32(H)) { continue; }
    for (var kw = 0; kw < i32(KW); kw++) {
      let iw = iw0 + kw;
      if (iw < 0 || iw >= i32(W)) { continue; }
      let k = ih * i32(W) + iw;
      let v = x[base + u32(k)];
      if (at < 0 || v > best || v != v) {
        best = v;
        at = k;
        if (v != v) { break; }
      }
    }
    if (best != best) { break; }
  }
  y[o] = best;
  argmax[o] = at;
}
