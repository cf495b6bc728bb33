// One rule for WGSL everywhere: `import src from '../../shaders/x.wgsl'` yields the file's text.
// esbuild (Node CLI, bench, browser bundle) uses its built-in text loader; vitest uses this plugin.
import { readFileSync } from 'node:fs';

export function wgslTextPlugin() {
  return {
    name: 'wgsl-text',
    enforce: 'pre',
    load(id) {
      const file = id.split('?')[0];
      if (!file.endsWith('.wgsl')) return null;
      return `export default ${JSON.stringify(readFileSync(file, 'utf8'))};`;
    },
  };
}

export const esbuildWgslLoader = { '.wgsl': 'text' };
