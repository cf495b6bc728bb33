// Shared by the subgroup kernels (conv2d_*_sg.wgsl and matmul_sg.wgsl, put after this file): the 32 × 8
// register tile of one invocation (64 vec4 accumulators) and its step. A step takes one row operand per lane (`v`, a value for
// row `lane` of a group of 8 rows), shares the 8 values across the subgroup, and multiplies them with this
// invocation's 8 columns (b0, b1): 4 gathers + 2 vec4 loads feed 256 multiply-adds over 4 such groups.
// The kernels that use it declare SUBGROUP_DIRECTIVES (src/kernels/subgroups.ts): `enable subgroups` and
// subgroup_uniformity diagnostics off.

var<private> acc: array<vec4<f32>, 64>;

/** acc[base + 2j + c] += broadcast(v from lane j) · b_c for the 8 lanes j (lane indices must be constants). */
fn accumulate_rows(v: f32, b0: vec4<f32>, b1: vec4<f32>, base: u32) {
  let a0 = vec4<f32>(subgroupBroadcast(v, 0u));
  let a1 = vec4<f32>(subgroupBroadcast(v, 1u));
  let a2 = vec4<f32>(subgroupBroadcast(v, 2u));
  let a3 = vec4<f32>(subgroupBroadcast(v, 3u));
  let a4 = vec4<f32>(subgroupBroadcast(v, 4u));
  let a5 = vec4<f32>(subgroupBroadcast(v, 5u));
  let a6 = vec4<f32>(subgroupBroadcast(v, 6u));
  let a7 = vec4<f32>(subgroupBroadcast(v, 7u));
  acc[base] = fma(a0, b0, acc[base]);
  acc[base + 1u] = fma(a0, b1, acc[base + 1u]);
  acc[base + 2u] = fma(a1, b0, acc[base + 2u]);
  acc[base + 3u] = fma(a1, b1, acc[base + 3u]);
  acc[base + 4u] = fma(a2, b0, acc[base + 4u]);
  acc[base + 5u] = fma(a2, b1, acc[base + 5u]);
  acc[base + 6u] = fma(a3, b0, acc[base + 6u]);
  acc[base + 7u] = fma(a3, b1, acc[base + 7u]);
  acc[base + 8u] = fma(a4, b0, acc[base + 8u]);
  acc[base + 9u] = fma(a4, b1, acc[base + 9u]);
  acc[base + 10u] = fma(a5, b0, acc[base + 10u]);
  acc[base + 11u] = fma(a5, b1, acc[base + 11u]);
  acc[base + 12u] = fma(a6, b0, acc[base + 12u]);
  acc[base + 13u] = fma(a6, b1, acc[base + 13u]);
  acc[base + 14u] = fma(a7, b0, acc[base + 14u]);
  acc[base + 15u] = fma(a7, b1, acc[base + 15u]);
}

// Four steps of K at once: `v` holds this lane's row operand for steps k … k + 3, b0[t] and b1[t] the
// invocation's 8 columns at step k + t. Each accumulator takes the four products in one chained update: on
// software adapters every write of a loop-carried accumulator is a masked read-modify-write of memory, so
// writing it once per four steps instead of once per step saves most of that traffic, at the cost of a loop
// body about four times as long. matmul_sg.wgsl's 'main' and the conv kernels take it only when asked
// (MatmulOverrides.ksteps, Conv2dOverrides.steps): on this project's AMD EPYC two steps (acc_row2 below)
// measured fastest. However many steps are taken, the sums are the same to the bit.
fn acc_row4(s: vec4<f32>, b0: array<vec4<f32>, 4>, b1: array<vec4<f32>, 4>, i: u32) {
  acc[i] = fma(vec4<f32>(s.w), b0[3], fma(vec4<f32>(s.z), b0[2], fma(vec4<f32>(s.y), b0[1], fma(vec4<f32>(s.x), b0[0], acc[i]))));
  acc[i + 1u] = fma(vec4<f32>(s.w), b1[3], fma(vec4<f32>(s.z), b1[2], fma(vec4<f32>(s.y), b1[1], fma(vec4<f32>(s.x), b1[0], acc[i + 1u]))));
}

fn accumulate_rows4(v: vec4<f32>, b0: array<vec4<f32>, 4>, b1: array<vec4<f32>, 4>, base: u32) {
  acc_row4(subgroupBroadcast(v, 0u), b0, b1, base);
  acc_row4(subgroupBroadcast(v, 1u), b0, b1, base + 2u);
  acc_row4(subgroupBroadcast(v, 2u), b0, b1, base + 4u);
  acc_row4(subgroupBroadcast(v, 3u), b0, b1, base + 6u);
  acc_row4(subgroupBroadcast(v, 4u), b0, b1, base + 8u);
  acc_row4(subgroupBroadcast(v, 5u), b0, b1, base + 10u);
  acc_row4(subgroupBroadcast(v, 6u), b0, b1, base + 12u);
  acc_row4(subgroupBroadcast(v, 7u), b0, b1, base + 14u);
}

// Two steps of K at once (acc_row4's chain over two steps): `v` holds this lane's row operand for steps k and
// k + 1, b0[t] and b1[t] the invocation's 8 columns at step k + t. The default of matmul_sg.wgsl ('main2')
// and of the conv kernels where their reductions are long enough.
fn acc_row2(s: vec2<f32>, b0: array<vec4<f32>, 2>, b1: array<vec4<f32>, 2>, i: u32) {
  acc[i] = fma(vec4<f32>(s.y), b0[1], fma(vec4<f32>(s.x), b0[0], acc[i]));
  acc[i + 1u] = fma(vec4<f32>(s.y), b1[1], fma(vec4<f32>(s.x), b1[0], acc[i + 1u]));
}

fn accumulate_rows2(v: vec2<f32>, b0: array<vec4<f32>, 2>, b1: array<vec4<f32>, 2>, base: u32) {
  acc_row2(subgroupBroadcast(v, 0u), b0, b1, base);
  acc_row2(subgroupBroadcast(v, 1u), b0, b1, base + 2u);
  acc_row2(subgroupBroadcast(v, 2u), b0, b1, base + 4u);
  acc_row2(subgroupBroadcast(v, 3u), b0, b1, base + 6u);
  acc_row2(subgroupBroadcast(v, 4u), b0, b1, base + 8u);
  acc_row2(subgroupBroadcast(v, 5u), b0, b1, base + 10u);
  acc_row2(subgroupBroadcast(v, 6u), b0, b1, base + 12u);
  acc_row2(subgroupBroadcast(v, 7u), b0, b1, base + 14u);
}
