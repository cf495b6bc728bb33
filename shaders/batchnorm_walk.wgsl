// Shared by batchnorm_channel_forward.wgsl and batchnorm_channel_backward.wgsl (appended to either; both
// declare a uniform `p` with C and HWV, and the overrides WG and PER_LANE).

// The channel an invocation works on and its place among the lanes that share it: a workgroup of WG lanes
// per channel, or (PER_LANE) a lane per channel.
struct Lanes { c: u32, lane: u32, lanes: u32, }

fn channel_lanes(wid: vec3<u32>, lid: u32, nwg: vec3<u32>) -> Lanes {
  let w = wid.x + wid.y * nwg.x;
  if (PER_LANE) {
    return Lanes(w * WG + lid, 0u, 1u);
  }
  return Lanes(w, lid, WG);
}

// The walk over one group's values of one channel: lane `lane` of `lanes` starts at the group's value
// number `lane` and steps `lanes` values at a time; (n, i) = (sample, position in the plane), k the index.
struct Walk { n: u32, i: u32, k: u32, }

fn walk_start(n0: u32, ch: u32, lane: u32) -> Walk {
  let n = n0 + lane / p.HWV;
  let i = lane % p.HWV;
  return Walk(n, i, (n * p.C + ch) * p.HWV + i);
}

fn walk_step(w: ptr<function, Walk>, dn: u32, di: u32) {
  let plane = p.C * p.HWV;
  (*w).i += di;
  (*w).n += dn;
  (*w).k += di + dn * plane;
  if ((*w).i >= p.HWV) {
    (*w).i -= p.HWV;
    (*w).n += 1u;
    (*w).k += plane - p.HWV;
  }
}
