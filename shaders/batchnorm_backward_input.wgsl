// Batch-norm backward dx on the 'planes' path (after batchnorm_partial.wgsl and batchnorm_combine.wgsl), over
// x, dy [N, C, HW], with the forward's optional ReLU and residual add:
//   g = dy·[y > 0] with RELU (y the forward's output), else dy;
//   training: dx = gamma·invstd·(g − (Σg + x̂·Σg·x̂)/M), x̂ = (x − mean)·invstd, M = NG·HW (the group's
//             values), the sums those of the value's group (sums [2, G, C], from batchnorm_combine.wgsl);
//   eval:     dx = gamma·invstd·g (constant running statistics);
//   dresidual = g when RESIDUAL.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let plane = i / p.HW;
  let c = plane % p.C;
  let s = (plane / p.C / p.NG) * p.C + c;
  let inv = stats[p.G * p.C + s];
  var g = dy[i];
  if (RELU) { g = select(0.0, g, y[i] > 0.0); }
  var o = g;
  if (TRAINING) {
    let xhat = (x[i] - stats[s]) * inv;
    o -= (sums[s] + xhat * sums[p.G * p.C + s]) / f32(p.count);
  }
  dx[i] = gamma[c] * inv * o;
  if (RESIDUAL) { dresidual[i] = g; }
}
