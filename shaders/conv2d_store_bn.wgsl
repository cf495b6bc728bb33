// The batch-norm epilogue of conv2d_forward_sg.wgsl (kernel conv2d_forward_sg_bn): eval-mode batch norm on
// the running statistics, then an optional ReLU, applied to each output as it leaves the accumulators,
// instead of a batch-norm pass over the written output:
//   out = act((y − mean)·(inverseSqrt(var + eps)·gamma) + beta), act = ReLU when RELU.
// The arithmetic is batchnorm_channel_forward.wgsl's in eval mode (MODE 1), operation for operation, so the
// bits are those of the two passes. No residual add: gathered here one float per lane, it cost about what the
// separate pass saves (bench/RESULTS.md, "Eval batch norm in the convolution's epilogue").

/** (mean, invstd·gamma, beta) of output channel co. */
fn channel_epilogue(co: u32) -> vec3<f32> {
  let inv = inverseSqrt(bn_var[co] + p.bn_eps);
  return vec3<f32>(bn_mean[co], inv * bn_gamma[co], bn_beta[co]);
}

fn store_out(i: u32, y: f32, ep: vec3<f32>) {
  var o = fma(y - ep.x, ep.y, ep.z);
  if (RELU) { o = max(o, 0.0); }
  out[i] = o;
}
