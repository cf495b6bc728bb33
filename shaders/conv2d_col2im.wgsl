// conv2d input gradient from columns (the GEMM route, conv2dBackwardInput for inputs of few channels):
//   cols[n] = Wᵀ · dy[n], [C_in·KH·KW, H_out·W_out] per image, computed by the matmul kernel, then
//   dx[n, ci, ih, iw] = Σ cols[n, (ci·KH + kh)·KW + kw, oh·W_out + ow]
//   over the taps with oh = (ih + pad_h − kh) / stride_h and ow = (iw + pad_w − kw) / stride_w exact and in
//   range. One invocation per element of dx; the tap loops step by the stride from the first tap that
//   divides, so they visit only taps that reach the pixel. Along W the invocations go phase by phase
//   (iw = phase + b·stride_w for b = 0, 1, …), so neighbouring invocations share their taps: interleaved
//   phases would make every subgroup run the taps of both (slower on lavapipe; the measurement's figure was
//   not recorded in bench/RESULTS.md).

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  // total = N · C_in · H · (stride_w · Wq): Wq slots per phase, the last ones past W idle.
  let Wq = (p.W + p.stride_w - 1u) / p.stride_w;
  let span = p.stride_w * Wq;
  let iwp = i % span;
  let iw = iwp / Wq + (iwp % Wq) * p.stride_w;
  if (iw >= p.W) { return; }
  let t = i / span;
  let ih = t % p.H;
  let nc = t / p.H; // n · C_in + ci
  let HWo = p.H_out * p.W_out;
  let base = nc * p.KH * p.KW * HWo;
  let yh = ih + p.pad_h;
  let yw = iw + p.pad_w;
  var sum = 0.0;
  for (var kh = yh % p.stride_h; kh < p.KH && kh <= yh; kh += p.stride_h) {
    let oh = (yh - kh) / p.stride_h;
    if (oh >= p.H_out) { continue; }
    for (var kw = yw % p.stride_w; kw < p.KW && kw <= yw; kw += p.stride_w) {
      let ow = (yw - kw) / p.stride_w;
      if (ow >= p.W_out) { continue; }
      sum += cols[base + (kh * p.KW + kw) * HWo + oh * p.W_out + ow];
    }
  }
  dx[(t * p.W) + iw] = sum;
}
