// Max pooling over NCHW, one invocation per output element: scans its KH×KW window (padding never wins)
// and keeps the first maximum in scan order, as PyTorch does (NaN counts as a maximum). Writes the value
// and the winner's flat index ih·W + iw within its (n, c) plane, for the backward pass.

struct Params {
  total: u32, H: u32, W: u32, H_out: u32,
  W_out: u32, KH: u32, KW: u32, stride_h: u32,
  stride_w: u32, pad_h: u32, pad_w: u32, _pad0: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * WG;
  if (o >= p.total) { return; }
  let ow = o % p.W_out;
  let oh = (o / p.W_out) % p.H_out;
  let nc = o / (p.W_out * p.H_out);
  let base = nc * p.H * p.W;
  let ih0 = i32(oh * p.stride_h) - i32(p.pad_h);
  let iw0 = i32(ow * p.stride_w) - i32(p.pad_w);
  var best = 0.0;
  var at = -1;
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ih = ih0 + kh;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let iw = iw0 + kw;
      if (iw < 0 || iw >= i32(p.W)) { continue; }
      let k = ih * i32(p.W) + iw;
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
