import { expect, it } from 'vitest';
import { build } from 'esbuild';
// @ts-expect-error plain ESM helper without types
import { esbuildWgslLoader } from '../../scripts/wgsl-plugin.mjs';

it('bundles for the browser with the shaders inlined and no Node imports a bundler would follow', async () => {
  const result = await build({
    entryPoints: ['src/index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    loader: esbuildWgslLoader,
    external: ['webgpu', 'node:*'],
    write: false,
  });
  const code = result.outputFiles[0].text;
  expect(code).toContain('fn philox'); // WGSL arrived as text
  expect(code).toContain('navigator');
  expect(code).not.toMatch(/^import .* from /m);
  // Nor a dynamic import a page's bundler would try to resolve (Node-only modules are named by variables).
  expect(code).not.toMatch(/import\(\s*["'](node:|webgpu)/);
});
