/**
 * Batched matrix multiplication with either operand transposed. matmulPlan chooses the kernel, its entry
 * point and workgroups from the shapes, the adapter's capabilities and the `matmul` overrides
 * (withKernelOverrides, src/gpu/overrides.ts), as a pure function; matmulKernel encodes the plan.
 */
import matmulWgsl from '../../shaders/matmul.wgsl';
import matmulVec4Wgsl from '../../shaders/matmul_vec4.wgsl';
import sgCommonWgsl from '../../shaders/sg_tile_common.wgsl';
import matmulSgWgsl from '../../shaders/matmul_sg.wgsl';
import type { AdapterCaps } from '../gpu/device.js';
import { declareOverrides, overridesOf } from '../gpu/overrides.js';
import { empty, shapeString, sizeOf, type Tensor } from '../tensor/tensor.js';
import { getRuntime } from '../tensor/engine.js';
import { expandKernel } from './copy.js';
import { defineKernel } from './define.js';
import { SUBGROUP_DIRECTIVES, takesSubgroupTiles } from './subgroups.js';
import { assertFloat, broadcastShapes, sameShape } from './util.js';

/**
 * The shapes and batch strides every matmul kernel reads: C[b] = op(A[b]) · op(B[b]) for b < batch; a batch
 * stride of 0 broadcasts that operand over the batch.
 */
const PARAMS = { M: 'u32', N: 'u32', K: 'u32', batch: 'u32', a_batch_stride: 'u32', b_batch_stride: 'u32', c_batch_stride: 'u32' } as const;
const MATMUL = defineKernel({
  name: 'matmul',
  params: PARAMS,
  storage: { A: 'read array<f32>', B: 'read array<f32>', C: 'read_write array<f32>' },
  constants: { TRANS_A: false, TRANS_B: false, WG_X: 8, WG_Y: 8 },
  code: matmulWgsl,
});
const MATMUL_VEC4 = defineKernel({
  name: 'matmul_vec4',
  params: PARAMS,
  storage: { A: 'read array<vec4<f32>>', B: 'read array<vec4<f32>>', C: 'read_write array<vec4<f32>>' },
  constants: { WG_X: 8, WG_Y: 8 },
  code: matmulVec4Wgsl,
});
const MATMUL_SG = defineKernel({
  name: 'matmul_sg',
  directives: SUBGROUP_DIRECTIVES,
  params: PARAMS,
  storage: { A: 'read array<f32>', B: 'read array<f32>', C: 'read_write array<f32>' },
  // Each entry point reads each operand through one of its views.
  aliases: { A4: ['A', 'array<vec4<f32>>'], B4: ['B', 'array<vec4<f32>>'], A2: ['A', 'array<vec2<f32>>'], B2: ['B', 'array<vec2<f32>>'] },
  constants: { WG: 8, TRANS_A: false, TRANS_B: false },
  code: [sgCommonWgsl, matmulSgWgsl],
});
/** Rows of C per workgroup of the subgroup kernel. */
const SG_ROWS = 32;
/** Columns of C per invocation of the subgroup kernel. */
const SG_COLS = 8;

/**
 * What a test or a measurement may force in the matmul plan (`withKernelOverrides({ matmul: {...} }, fn)`);
 * a knob left unset is chosen by shape and adapter.
 */
export interface MatmulOverrides {
  /**
   * 'sg': the subgroup kernel (shaders/matmul_sg.wgsl), where its grid fits; 'tile': the register-tiled
   * kernels (matmul_vec4.wgsl where the layout has whole vec4 rows, else matmul.wgsl). Unset: the subgroup
   * kernel on software adapters that can run it (subgroupTilesPreferred), else the tiled ones.
   */
  kernel?: 'sg' | 'tile';
  /** Invocations per workgroup of the subgroup kernel (a multiple of 8; default 8). */
  WG?: number;
  /** Steps of k per accumulator update of the subgroup kernel's vec4 entry: 2 ('main2', the default) or 4 ('main'). */
  ksteps?: 2 | 4;
}

declare module '../gpu/overrides.js' {
  interface KernelOverrides {
    /** Overrides of the matmul plan (matmulPlan). */
    matmul?: MatmulOverrides;
  }
}
declareOverrides('matmul', { kernel: true, WG: true, ksteps: true });

/** Invocations per workgroup of the subgroup kernel, unless overridden. */
const SG_WG = 8;
/**
 * Workgroup shape of the vec4 kernel: 16×4, the best of a sweep of shapes on lavapipe at 512 and 1024
 * (figures: bench/RESULTS.md, "matmul — earlier (vec4 kernel)").
 */
const VEC4_WG_X = 16;
const VEC4_WG_Y = 4;
const TILE = 4;
const WG_X = 8;
const WG_Y = 8;

export interface MatmulDims {
  batchShape: number[];
  M: number;
  N: number;
  K: number;
}

/** Checks operand shapes: a is [..., M, K] ([..., K, M] transposed), b is [..., K, N] ([..., N, K] transposed). */
export function matmulDims(a: Tensor, b: Tensor, transA: boolean, transB: boolean, op = 'matmul'): MatmulDims {
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`${op}: both operands need at least 2 dimensions, got ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) {
    throw new Error(
      `${op}: inner dimensions differ: ${shapeString(a.shape)}${transA ? 'ᵀ' : ''} · ${shapeString(b.shape)}${transB ? 'ᵀ' : ''} (${K} vs ${Kb})`,
    );
  }
  const batchShape = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { batchShape, M, N, K };
}

/** What matmulPlan reads of a product: C[b] = op(A[b]) · op(B[b]), M × N by K, for `batch` matrices. */
export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
}

/** The launch of a product: which kernel and entry point, and its workgroups. */
export type MatmulPlan =
  | {
      /** shaders/matmul_sg.wgsl: 'main2' (or 'main', 4 k per update) with vec4 loads, 'ragged' without. */
      kernel: 'sg';
      entry: 'main' | 'main2' | 'ragged';
      wg: number;
      workgroups: [number, number, number];
    }
  | {
      /** shaders/matmul_vec4.wgsl: an entry point per layout (none transposed, B transposed, A transposed). */
      kernel: 'vec4';
      entry: 'main' | 'nt' | 'tn';
      workgroups: [number, number, number];
    }
  | {
      /** shaders/matmul.wgsl, any layout. */
      kernel: 'scalar';
      workgroups: [number, number, number];
    };

/** The plan of a product of shape `d` on an adapter with `caps`, under overrides `o`. */
export function matmulPlan(d: MatmulShape, caps: AdapterCaps, o: MatmulOverrides = {}): MatmulPlan {
  const { M, N, K, batch, transA, transB } = d;
  const rowBlocks = Math.ceil(M / SG_ROWS);
  const wg = o.WG ?? SG_WG;
  const sg = takesSubgroupTiles(o.kernel, caps);
  if (sg && rowBlocks <= 65535 && Math.ceil(N / SG_COLS / wg) <= 65535) {
    // vec4 loads where each operand's contiguous axis (and so its batch stride) is a multiple of 4.
    const vec4 = (transA ? M % 4 === 0 : K % 4 === 0) && (transB ? K % 4 === 0 : N % 4 === 0);
    return { kernel: 'sg', entry: vec4 ? (o.ksteps === 4 ? 'main' : 'main2') : 'ragged', wg, workgroups: [Math.ceil(N / SG_COLS / wg), rowBlocks, batch] };
  }
  // Whole vec4 rows (and batch strides) for the operands' layout: one of the vec4 kernels.
  const entry = !transA && !transB && K % 4 === 0 && N % 4 === 0 ? 'main' : !transA && transB && K % 4 === 0 && N % 4 === 0 ? 'nt' : transA && !transB && M % 4 === 0 && N % 4 === 0 ? 'tn' : null;
  if (entry) return { kernel: 'vec4', entry, workgroups: [Math.ceil(N / 4 / VEC4_WG_X), Math.ceil(M / 4 / VEC4_WG_Y), batch] };
  return { kernel: 'scalar', workgroups: [Math.ceil(N / TILE / WG_X), Math.ceil(M / TILE / WG_Y), batch] };
}

/**
 * a · b (either transposed), batched over leading axes. With `into` (a float32 tensor of the result's shape,
 * e.g. a weight's zeroed gradient), the product is written there and `into` itself is returned.
 */
export function matmulKernel(a: Tensor, b: Tensor, transA = false, transB = false, into: Tensor | null = null): Tensor {
  assertFloat('matmul', a, b);
  const { batchShape, M, N, K } = matmulDims(a, b, transA, transB);
  const batch = sizeOf(batchShape);
  if (into) {
    assertFloat('matmul', into);
    if (!sameShape(into.shape, [...batchShape, M, N])) {
      throw new Error(`matmul: the tensor to write the product into is ${shapeString(into.shape)}, the product is ${shapeString([...batchShape, M, N])}`);
    }
  }
  const out = into ?? empty([...batchShape, M, N], 'float32', 'matmul');
  if (out.size === 0) return out;
  // An operand whose batch axes are neither the full batch nor all ones is expanded once.
  const prep = (t: Tensor): { t: Tensor; stride: number; temp: boolean } => {
    const tb = t.shape.slice(0, -2);
    const matrix = t.shape[t.rank - 2] * t.shape[t.rank - 1];
    if (sizeOf(tb) === 1) return { t, stride: 0, temp: false };
    const padded = [...Array(batchShape.length - tb.length).fill(1), ...tb];
    if (sameShape(padded, batchShape)) return { t, stride: matrix, temp: false };
    return { t: expandKernel(t, [...batchShape, ...t.shape.slice(-2)]), stride: matrix, temp: true };
  };
  const pa = prep(a);
  const pb = prep(b);
  if (batch > 65535) {
    pa.temp && pa.t.dispose();
    pb.temp && pb.t.dispose();
    throw new Error(`matmul: ${batch} matrices in one batch exceed the 65535 the GPU can dispatch; split the batch`);
  }
  if (K === 0) {
    pa.temp && pa.t.dispose();
    pb.temp && pb.t.dispose();
    throw new Error('matmul: inner dimension 0 is not supported');
  }
  const params = { M, N, K, batch, a_batch_stride: pa.stride, b_batch_stride: pb.stride, c_batch_stride: M * N };
  const storage = { A: pa.t.binding('matmul'), B: pb.t.binding('matmul'), C: out.binding('matmul') };
  const plan = matmulPlan({ M, N, K, batch, transA, transB }, getRuntime().caps, overridesOf('matmul'));
  if (plan.kernel === 'sg') {
    MATMUL_SG.dispatch({
      op: 'matmul',
      entry: plan.entry,
      constants: { WG: plan.wg, TRANS_A: transA, TRANS_B: transB },
      params,
      storage,
      workgroups: plan.workgroups,
    });
  } else if (plan.kernel === 'vec4') {
    MATMUL_VEC4.dispatch({ op: 'matmul', entry: plan.entry, constants: { WG_X: VEC4_WG_X, WG_Y: VEC4_WG_Y }, params, storage, workgroups: plan.workgroups });
  } else {
    MATMUL.dispatch({ op: 'matmul', constants: { TRANS_A: transA, TRANS_B: transB, WG_X, WG_Y }, params, storage, workgroups: plan.workgroups });
  }
  if (pa.temp) pa.t.dispose();
  if (pb.temp) pb.t.dispose();
  return out;
}
