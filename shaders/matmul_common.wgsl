// Shared by the matmul kernels (matmul.wgsl, matmul_vec4.wgsl, matmul_sg.wgsl, each put after this file): the
// shapes and batch strides. C[b] = op(A[b]) · op(B[b]) for b < batch; a batch stride of 0 broadcasts that
// operand over the batch.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
  c_batch_stride: u32,
  _pad0: u32,
}
