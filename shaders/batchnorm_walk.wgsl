// Shared by batchnorm_channel_forward.wgsl and batchnorm_channel_backward.wgsl (appended to either; both
// kernels' declarations in src/kernels/batchnorm.ts give `p` with C and HWV, and the constants WG and
// PER_LANE).

// The channel an invocation works on and its place among the lanes that share it: a workgroup of WG lanes
// per channel, or (PER_LANE) a lane per channel. Lanes past the last channel (PER_LANE) compute the last
// channel again (`ch`) and store nothing (`live` false). A walk's stride of `lanes` values is `dn` samples
// and `di` positions.
struct Lanes { ch: u32, live: bool, lane: u32, dn: u32, di: u32, }

fn channel_lanes(wid: vec3<u32>, lid: u32, nwg: vec3<u32>) -> Lanes {
  let w = wid.x + wid.y * nwg.x;
  let c = select(w, w * WG + lid, PER_LANE);
  let lane = select(lid, 0u, PER_LANE);
  let lanes = select(WG, 1u, PER_LANE);
  return Lanes(min(c, p.C - 1u), c < p.C, lane, lanes / p.HWV, lanes % p.HWV);
}

// The walk over one group's values of one channel: lane `lane` of `lanes` starts at the group's value
// number `lane` and steps `lanes` values at a time; (n, i) = (sample, position in the plane), k the index.
struct Walk { n: u32, i: u32, k: u32, }

fn walk_start(n0: u32, at: Lanes) -> Walk {
  let n = n0 + at.lane / p.HWV;
  let i = at.lane % p.HWV;
  return Walk(n, i, (n * p.C + at.ch) * p.HWV + i);
}

fn walk_step(w: ptr<function, Walk>, at: Lanes) {
  let plane = p.C * p.HWV;
  (*w).i += at.di;
  (*w).n += at.dn;
  (*w).k += at.di + at.dn * plane;
  if ((*w).i >= p.HWV) {
    (*w).i -= p.HWV;
    (*w).n += 1u;
    (*w).k += plane - p.HWV;
  }
}
