// The plain epilogue of conv2d_forward_sg.wgsl: its output as computed (see conv2d_store_bn.wgsl for the
// other).

fn channel_epilogue(co: u32) -> vec3<f32> {
  return vec3<f32>(0.0);
}

fn store_out(i: u32, y: f32, ep: vec3<f32>) {
  out[i] = y;
}
