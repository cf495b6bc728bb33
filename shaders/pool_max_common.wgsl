// Shared by the max-pooling kernels (pool_max.wgsl, pool_max_backward.wgsl, each put after this file): the
// element count, and the geometry compiled in as override constants (one pipeline per pooling shape). On
// software adapters an integer division by a runtime value is a scalar loop over the lanes, by a constant a
// vector multiply.

struct Params { total: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

override WG: u32 = 256u;
override H: u32;
override W: u32;
override H_OUT: u32;
override W_OUT: u32;
override KH: u32;
override KW: u32;
override SH: u32;
override SW: u32;
override PH: u32;
override PW: u32;
