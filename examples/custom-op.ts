// Extending the engine with an op of your own: SiLU, y = x·sigmoid(x). The forward and the backward are
// WGSL kernels declared with `defineKernel`; `record` puts the op on the autograd tape with its backward
// rule next to it; `gradcheck` holds both against a float64 reference and its central differences.
import { arr, backward, defineKernel, empty, gradcheck, grid, init, mean, record, requireGrad, uniform, type Arr, type Tensor } from 'byol-webgpu';

// Each kernel is declared once: its parameters and bindings become the shader's WGSL declarations (`p.n`,
// `x`, ...), and a launch names every one of them. One thread per element; the grid may spill into y when
// there are more than 65,535 workgroups.
const index = 'let i = id.x + id.y * nw.x * 64u; if (i >= p.n) { return; }';
const main = '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nw: vec3u)';
const FORWARD = defineKernel({
  name: 'silu',
  params: { n: 'u32' },
  storage: { x: 'read array<f32>', y: 'read_write array<f32>' },
  code: `${main} { ${index} y[i] = x[i] / (1.0 + exp(-x[i])); }`,
});
const BACKWARD = defineKernel({
  name: 'silu_backward',
  params: { n: 'u32' },
  storage: { x: 'read array<f32>', g: 'read array<f32>', dx: 'read_write array<f32>' },
  code: `${main} { ${index} let s = 1.0 / (1.0 + exp(-x[i])); dx[i] = g[i] * s * (1.0 + x[i] * (1.0 - s)); }`,
});

function siluForward(x: Tensor): Tensor {
  const op = 'silu';
  const y = empty(x.shape);
  FORWARD.dispatch({ op, params: { n: y.size }, storage: { x: x.binding(op), y: y.binding(op) }, workgroups: grid(Math.ceil(y.size / 64)) });
  return y;
}

function siluBackward(x: Tensor, g: Tensor): Tensor {
  const op = 'silu.backward';
  const dx = empty(x.shape);
  BACKWARD.dispatch({ op, params: { n: dx.size }, storage: { x: x.binding(op), g: g.binding(op), dx: dx.binding(op) }, workgroups: grid(Math.ceil(dx.size / 64)) });
  return dx;
}

/** SiLU as a differentiable op: the backward rule gets the output's gradient and the saved input. */
export function silu(x: Tensor): Tensor {
  return record('silu', [x], siluForward(x), (g, [saved]) => [siluBackward(saved!, g)], [x]);
}

// The float64 reference the kernels must agree with.
const siluRef = ([x]: Arr[]): Arr => arr(x!.shape, x!.data.map((v) => v / (1 + Math.exp(-v))));

await init();
const input = arr([3, 37], Array.from({ length: 111 }, () => Math.random() * 8 - 4)); // odd sizes, both signs
const { forwardError, gradErrors } = await gradcheck(silu, siluRef, [input]);
console.log(`silu: forward relative error ${forwardError.toExponential(2)}, gradient ${gradErrors[0]!.toExponential(2)}`);
if (!(forwardError < 1e-5 && gradErrors[0]! < 1e-4)) throw new Error('silu does not match its reference');

// Used like any built-in op: d mean(silu(w)) / dw lands in w.grad.
const w = requireGrad(uniform([4, 4], 7, -1, 1));
backward(mean(silu(w)));
console.log('gradient of mean(silu(w)):', Array.from(await w.grad!.data(), (v) => v.toFixed(4)).slice(0, 4).join(' '), '...');
