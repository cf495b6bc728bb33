/**
 * defineKernel (src/kernels/define.ts): the WGSL declarations it generates, the parameter block it writes
 * by field name (read back through a GPU kernel, so WGSL's layout and the block's agree), the StepValues it
 * leaves for a replay, the errors of a malformed launch, and the launches that do not compile (tsc checks
 * the `@ts-expect-error` lines: `npm test` runs it first).
 */
import { describe, expect, it } from 'vitest';
import { engine } from '../helpers.js';
import { StepValue, uniformPatches } from '../../src/gpu/step-encoder.js';
import { defineKernel } from '../../src/kernels/define.js';
import { empty } from '../../src/tensor/tensor.js';

const ECHO_BODY = `
@compute @workgroup_size(1)
fn main() {
  out[0] = f32(p.n);
  out[1] = p.scale;
  out[2] = f32(p.k);
  for (var i = 0u; i < 4u; i++) { out[3u + i] = p.mean[i]; }
  for (var i = 0u; i < 8u; i++) { out[7u + i] = f32(p.shape[i / 4u][i % 4u]); }
  out[15] = f32(OFFSET);
  out[16] = select(0.0, 1.0, FLAG);
}
`;

/** Writes each parameter (and constant) into `out`, in declaration order. */
const ECHO_REST = {
  storage: { out: 'read_write array<f32>' },
  constants: { OFFSET: 'u32', FLAG: false },
  code: ECHO_BODY,
} as const;
const ECHO = defineKernel({ name: 'echo', params: { n: 'u32', scale: 'f32', k: 'i32', mean: 'vec4<f32>', shape: 'array<vec4<u32>, 2>' }, ...ECHO_REST });

/** The same kernel with n and scale declared per step: launches must give them as StepValues. */
const ECHO_STEP = defineKernel({ name: 'echo_step', params: { n: 'step u32', scale: 'step f32', k: 'i32', mean: 'vec4<f32>', shape: 'array<vec4<u32>, 2>' }, ...ECHO_REST });

describe('defineKernel', () => {
  it('generates the struct, the bindings (aliases at their binding), the overrides and the directives', () => {
    const k = defineKernel({
      name: 'gen',
      directives: ['enable subgroups'],
      params: { n: 'u32', lr: 'f32' },
      storage: { a: 'read array<f32>', b: 'read_write array<f32>' },
      aliases: { a4: ['a', 'array<vec4<f32>>'] },
      constants: { WG: 64, TRANS: false, H: 'u32' },
      code: '// body\n',
    });
    expect(k.shader.name).toBe('gen');
    expect(k.shader.code).toBe(
      [
        'enable subgroups;',
        'struct Params {',
        '  n: u32,',
        '  lr: f32,',
        '}',
        '@group(0) @binding(0) var<uniform> p: Params;',
        '@group(0) @binding(1) var<storage, read> a: array<f32>;',
        '@group(0) @binding(2) var<storage, read_write> b: array<f32>;',
        '@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;',
        'override WG: u32 = 64u;',
        'override TRANS: bool = false;',
        'override H: u32;',
        '',
        '// body\n',
      ].join('\n'),
    );
    const bare = defineKernel({ name: 'bare', storage: { x: 'read_write array<u32>' }, code: '' });
    expect(bare.shader.code).toBe('@group(0) @binding(0) var<storage, read_write> x: array<u32>;\n\n');
  });

  it('writes each field at its WGSL offset, by name whatever the order given', () => {
    const buf = ECHO.encode('t', { shape: [2, 3, 5], k: -3, mean: [0.5, 1, 2, 4], scale: 0.25, n: 7 })!;
    // n scale k _ | mean ×4 | shape ×8
    expect(buf.byteLength).toBe(64);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    expect([u[0], f[1], new Int32Array(buf)[2], u[3]]).toEqual([7, 0.25, -3, 0]);
    expect([...f.slice(4, 8)]).toEqual([0.5, 1, 2, 4]);
    expect([...u.slice(8, 16)]).toEqual([2, 3, 5, 0, 0, 0, 0, 0]);
    // A block of scalars rounds up to whole 16 bytes, zero-filled.
    const two = defineKernel({ name: 'two', params: { a: 'u32', b: 'f32' }, storage: {}, code: '' });
    expect([...new Uint32Array(two.encode('t', { a: 9, b: 0 })!)]).toEqual([9, 0, 0, 0]);
  });

  it('leaves each StepValue for a replay at its word, with its type', () => {
    const lr = new StepValue(0.125);
    const step = new StepValue(3);
    // Per-step fields generate the same WGSL types as baked ones.
    expect(ECHO_STEP.shader.code.replace('echo_step', 'echo')).toBe(ECHO.shader.code);
    const buf = ECHO_STEP.encode('t', { n: step, scale: lr, k: 1, mean: [0, 0, 0, 0], shape: [] })!;
    expect(new Float32Array(buf)[1]).toBe(0.125);
    expect(new Uint32Array(buf)[0]).toBe(3);
    expect(uniformPatches.get(buf)).toEqual([
      { word: 0, type: 'u', value: step },
      { word: 1, type: 'f', value: lr },
    ]);
    expect(uniformPatches.get(ECHO.encode('t', { n: 1, scale: 1, k: 1, mean: [0, 0, 0, 0], shape: [] })!)).toBeUndefined();
    // A derived StepValue is read when the block is written (and again by each replay).
    let t = 2;
    const derived = StepValue.derived(() => t * 0.5);
    const d1 = ECHO_STEP.encode('t', { n: step, scale: derived, k: 1, mean: [0, 0, 0, 0], shape: [] })!;
    t = 6;
    expect([new Float32Array(d1)[1], derived.value]).toEqual([1, 3]);
    expect(() => (derived.value = 1)).toThrow(/a derived StepValue is computed from others/);
  });

  it('agrees with WGSL: a kernel reads back every field and constant as launched', async () => {
    await engine();
    const out = empty([17], 'float32', 'test');
    ECHO.dispatch({
      op: 'echo',
      params: { n: 11, scale: -1.5, k: 4, mean: [0.25, 0.5, 0.75, 1], shape: [8, 7, 6, 5, 4, 3, 2, 1] },
      storage: { out: out.binding('echo') },
      constants: { OFFSET: 42, FLAG: true },
      workgroups: [1],
    });
    expect(await out.data()).toEqual(new Float32Array([11, -1.5, 4, 0.25, 0.5, 0.75, 1, 8, 7, 6, 5, 4, 3, 2, 1, 42, 1]));
    out.dispose();
  });

  it('does not compile a launch with a field missing, extra, misspelt or of the wrong kind, and refuses it before any GPU work', async () => {
    await engine();
    const t = empty([17], 'float32', 'test');
    const out = t.binding('echo');
    const params = { n: 1, scale: 1, k: 1, mean: [0, 0, 0, 0], shape: [1] };
    const run = { op: 'echo', storage: { out }, constants: { OFFSET: 0 }, workgroups: [1] as [number] };
    // @ts-expect-error: k is missing
    expect(() => ECHO.dispatch({ ...run, params: { n: 1, scale: 1, mean: [0, 0, 0, 0], shape: [1] } })).toThrow(/echo \(echo\): parameter k is missing/);
    // @ts-expect-error: scael is misspelt
    expect(() => ECHO.dispatch({ ...run, params: { n: 1, scael: 1, k: 1, mean: [0, 0, 0, 0], shape: [1] } })).toThrow(/parameter scale is missing/);
    const extra = { ...params, kk: 2 };
    // @ts-expect-error: kk is not a parameter
    expect(() => ECHO.dispatch({ ...run, params: { ...params, kk: 2 } })).toThrow(/unknown parameter kk \(the kernel declares n, scale, k, mean, shape\)/);
    // A variable with an extra field passes the compiler (TypeScript checks excess fields of literals only).
    expect(() => ECHO.dispatch({ ...run, params: extra })).toThrow(/unknown parameter kk/);
    // @ts-expect-error: mean is a vec4, not a number
    expect(() => ECHO.dispatch({ ...run, params: { ...params, mean: 1 } })).toThrow(/parameter mean must be 4 numbers/);
    // @ts-expect-error: n is a number, not a string
    expect(() => ECHO.dispatch({ ...run, params: { ...params, n: '1' } })).toThrow(/parameter n must be a number/);
    // @ts-expect-error: scale is baked into a record: a StepValue there does not compile, and is refused
    expect(() => ECHO.dispatch({ ...run, params: { ...params, scale: new StepValue(1) } })).toThrow(/parameter scale must be a number.*declared 'step f32'/);
    // @ts-expect-error: n is declared per step: a plain number does not compile, and is refused
    expect(() => ECHO_STEP.dispatch({ ...run, params: { ...params, scale: new StepValue(1) } })).toThrow(/parameter n is declared per step: pass a StepValue/);
    expect(() => ECHO.dispatch({ ...run, params: { ...params, mean: [1, 2] } })).toThrow(/parameter mean must be 4 numbers/);
    expect(() => ECHO.dispatch({ ...run, params: { ...params, shape: [1, 2, 3, 4, 5, 6, 7, 8, 9] } })).toThrow(/parameter shape must be at most 8 numbers/);
    // @ts-expect-error: the binding out is missing
    expect(() => ECHO.dispatch({ ...run, params, storage: {} })).toThrow(/binding out is missing/);
    // @ts-expect-error: extra is not a binding
    expect(() => ECHO.dispatch({ ...run, params, storage: { out, extra: out } })).toThrow(/unknown binding extra \(the kernel declares out\)/);
    // @ts-expect-error: OFFSET has no default
    expect(() => ECHO.dispatch({ ...run, params, constants: { FLAG: true } })).toThrow(/constant OFFSET has no default and was not given/);
    // @ts-expect-error: FLAG is a bool
    expect(() => ECHO.dispatch({ ...run, params, constants: { OFFSET: 0, FLAG: 1 } })).toThrow(/constant FLAG must be a boolean, got 1/);
    // @ts-expect-error: WG is not a constant of this kernel
    expect(() => ECHO.dispatch({ ...run, params, constants: { OFFSET: 0, WG: 8 } })).toThrow(/unknown constant WG/);
    expect(() => ECHO.dispatch({ ...run, params, constants: { OFFSET: -1 } })).toThrow(/constant OFFSET must be a u32, got -1/);
    // StepValues for the per-step fields, and the optional constant left out, compile and run.
    ECHO_STEP.dispatch({ ...run, params: { ...params, n: new StepValue(5), scale: new StepValue(1) } });
    expect([...(await t.data()).slice(0, 2)]).toEqual([5, 1]);
    t.dispose();
  });

  it('refuses a malformed declaration', () => {
    expect(() => defineKernel({ name: 'd', storage: { WG: 'read array<f32>' }, constants: { WG: 64 }, code: '' })).toThrow(
      /kernel d: the name 'WG' is declared twice/,
    );
    expect(() => defineKernel({ name: 'd', params: { n: 'u32' }, storage: { p: 'read array<f32>' }, code: '' })).toThrow(/the name 'p' is declared twice/);
    expect(() => defineKernel({ name: 'd', storage: { 'a-b': 'read array<f32>' }, code: '' })).toThrow(/binding name 'a-b' is not a WGSL identifier/);
    expect(() => defineKernel({ name: 'd', storage: { a: 'read array<f32>' }, aliases: { b: ['c' as 'a', 'array<u32>'] }, code: '' })).toThrow(
      /alias b views binding c, which is not declared/,
    );
    expect(() => defineKernel({ name: 'd', storage: {}, constants: { WG: 1.5 }, code: '' })).toThrow(/constant WG has default 1.5, not a u32/);
  });
});
