// Batch-norm statistics in eval mode on the 'planes' path: stats [2, C] = (running_mean, 1/sqrt(running_var
// + eps)), one invocation per channel (x is not read). Training statistics come from batchnorm_partial.wgsl
// and batchnorm_combine.wgsl, or with the output from batchnorm_channel_forward.wgsl.

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  stats[c] = running_mean[c];
  stats[p.C + c] = inverseSqrt(running_var[c] + p.eps);
}
