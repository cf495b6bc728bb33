// Batch-norm statistics in eval mode on the 'planes' path: stats [2, C] = (running_mean, 1/sqrt(running_var
// + eps)), one invocation per channel (x is not read). Training statistics come from batchnorm_partial.wgsl
// and batchnorm_combine.wgsl, or with the output from batchnorm_channel_forward.wgsl.

struct Params {
  C: u32, _pad0: u32, _pad1: u32, _pad2: u32,
  eps: f32, _pad3: u32, _pad4: u32, _pad5: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> running_mean: array<f32>;
@group(0) @binding(2) var<storage, read> running_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  stats[c] = running_mean[c];
  stats[p.C + c] = inverseSqrt(running_var[c] + p.eps);
}
