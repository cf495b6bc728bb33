// Extending the engine with an op of your own: SiLU, y = x·sigmoid(x). The forward and the backward are
// WGSL kernels launched on the engine's runtime; `record` puts the op on the autograd tape with its backward
// rule next to it; `gradcheck` holds both against a float64 reference and its central differences.
import { arr, backward, empty, getRuntime, gradcheck, grid, init, mean, record, requireGrad, uniform, type Arr, type Tensor } from 'byol-webgpu';

// One thread per element; the grid may spill into y when there are more than 65,535 workgroups.
const index = 'let i = id.x + id.y * nw.x * 64u; if (i >= n) { return; }';
const header = '@group(0) @binding(0) var<uniform> n: u32;\n@group(0) @binding(1) var<storage, read> x: array<f32>;\n';
const main = '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nw: vec3u)';
const FORWARD = { name: 'silu', code: `${header}@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${main} { ${index} y[i] = x[i] / (1.0 + exp(-x[i])); }` };
const BACKWARD = { name: 'silu.backward', code: `${header}@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${main} { ${index} let s = 1.0 / (1.0 + exp(-x[i])); dx[i] = g[i] * s * (1.0 + x[i] * (1.0 - s)); }` };

/** Runs one of the kernels over `inputs`' elements into a new tensor of the first input's shape. */
function launch(op: string, shader: typeof FORWARD, inputs: Tensor[]): Tensor {
  const out = empty(inputs[0]!.shape);
  getRuntime().dispatch({
    op, shader, uniforms: new Uint32Array([out.size]),
    storage: [...inputs.map((t) => t.binding(op)), out.binding(op)],
    workgroups: grid(Math.ceil(out.size / 64)),
  });
  return out;
}

/** SiLU as a differentiable op: the backward rule gets the output's gradient and the saved input. */
export function silu(x: Tensor): Tensor {
  return record('silu', [x], launch('silu', FORWARD, [x]), (g, [saved]) => [launch('silu.backward', BACKWARD, [saved!, g])], [x]);
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
