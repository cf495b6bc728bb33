// Element type of the batch-norm kernels that take one (batchnorm_channel_*.wgsl) when HW % 4 == 0: four
// values of one channel.
alias V = vec4<f32>;
fn hsum(v: V) -> f32 { return v.x + v.y + v.z + v.w; }
