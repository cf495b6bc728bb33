/**
 * The parameter-block check that test/setup.ts installs for every test (test/uniform-layout.ts): it reads a
 * WGSL uniform struct's layout, and refuses a block of another size or with a word of another type.
 */
import { describe, expect, it } from 'vitest';
import { checkUniformLayout, uniformLayout } from '../uniform-layout.js';
import { Params } from '../../src/kernels/util.js';

const shader = (struct: string) => ({
  name: 'test_shader',
  code: `struct P {\n${struct}\n}\n@group(0) @binding(0) var<uniform> p: P;\n@compute @workgroup_size(1) fn main() {}`,
});

describe('uniform layout check', () => {
  it('lays out scalars, vectors and arrays of vec4 with WGSL alignment', () => {
    const l = uniformLayout(shader('  a: u32, // count\n  b: f32,\n  v: vec4<f32>,\n  i: i32,\n  dims: array<vec4<u32>, 2>,').code)!;
    // a b _ _ | v v v v | i _ _ _ | dims ×8
    expect(l.words).toEqual(['u', 'f', null, null, 'f', 'f', 'f', 'f', 'u', null, null, null, 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u']);
    expect(l.fields[4]).toBe('v');
    expect(uniformLayout('@compute @workgroup_size(1) fn main() {}')).toBeNull();
  });

  it('passes a matching block and names the field of a mismatched word or the sizes of a mismatched block', () => {
    const s = shader('  n: u32,\n  scale: f32,\n  eps: f32,\n  k: u32,');
    const good = new Params().u32(3).f32(0.5, 1e-5).u32(7);
    const buf = good.build();
    const types = (good as unknown as { types: ('u' | 'f')[] }).types;
    expect(() => checkUniformLayout({ op: 't', shader: s, uniforms: buf }, types)).not.toThrow();
    const swapped = new Params().u32(3, 1).f32(0.5, 7);
    const sb = swapped.build();
    expect(() => checkUniformLayout({ op: 't', shader: s, uniforms: sb }, (swapped as unknown as { types: ('u' | 'f')[] }).types)).toThrow(
      /word 1 of the parameter block is written as u32, the shader reads it as f32 \(field scale\)/,
    );
    const long = new Params().u32(1, 2, 3, 4, 5).build();
    expect(() => checkUniformLayout({ op: 't', shader: s, uniforms: long })).toThrow(/has 32 bytes, the shader's struct 16 \(n, scale, eps, k\)/);
    expect(() => checkUniformLayout({ op: 't', shader: s })).toThrow(/declares a uniform struct, the launcher passes none/);
  });
});
