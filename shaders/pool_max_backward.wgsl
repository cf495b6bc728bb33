// Max-pooling backward as a gather (no atomics, deterministic): one invocation per input element sums the
// upstream gradient of every output whose window covers it and whose recorded argmax is this element.

struct Params {
  total: u32, H: u32, W: u32, H_out: u32,
  W_out: u32, KH: u32, KW: u32, stride_h: u32,
  stride_w: u32, pad_h: u32, pad_w: u32, _pad0: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let iw = i32(i % p.W);
  let ih = i32((i / p.W) % p.H);
  let nc = i / (p.W * p.H);
  let k = ih * i32(p.W) + iw;
  let sh = i32(p.stride_h);
  let sw = i32(p.stride_w);
  // Outputs oh with oh·sh − ph ≤ ih ≤ oh·sh − ph + KH − 1.
  let nh_lo = ih + i32(p.pad_h) - i32(p.KH) + 1;
  let oh_lo = max(0, select(nh_lo / sh, (nh_lo + sh - 1) / sh, nh_lo > 0));
  let oh_hi = min(i32(p.H_out) - 1, (ih + i32(p.pad_h)) / sh);
  let nw_lo = iw + i32(p.pad_w) - i32(p.KW) + 1;
  let ow_lo = max(0, select(nw_lo / sw, (nw_lo + sw - 1) / sw, nw_lo > 0));
  let ow_hi = min(i32(p.W_out) - 1, (iw + i32(p.pad_w)) / sw);
  let base = nc * p.H_out * p.W_out;
  var acc = 0.0;
  for (var oh = oh_lo; oh <= oh_hi; oh++) {
    for (var ow = ow_lo; ow <= ow_hi; ow++) {
      let o = base + u32(oh) * p.W_out + u32(ow);
      if (argmax[o] == k) { acc += dy[o]; }
    }
  }
  dx[i] = acc;
}
