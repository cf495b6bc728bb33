// Element type of the batch-norm kernels that take one (batchnorm_channel_*.wgsl): one value.
alias V = f32;
fn hsum(v: V) -> f32 { return v; }
