import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM helper without types
import { wgslTextPlugin } from './scripts/wgsl-plugin.mjs';

export default defineConfig({
  plugins: [wgslTextPlugin()],
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: more workers only fight over the software GPU.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup.ts'],
  },
});
