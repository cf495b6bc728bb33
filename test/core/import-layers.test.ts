/**
 * The layers of src (DESIGN.md): each folder imports only the folders below it, so the import graph has no
 * upward arrow. Reads every TypeScript file's static and dynamic imports; a file of a lower layer that
 * imports a higher one fails with the file, the line and the two layers named.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** From the bottom up; a folder may import itself and any folder before it. */
const LAYERS = ['gpu', 'tensor', 'kernels', 'autograd', 'capture', 'nn', 'data', 'byol', 'cli'] as const;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The layer of a path inside src, or null for the entry files at its top (index.ts, node.ts). */
function layerOf(path: string): string | null {
  const rel = relative(root, path).split(sep);
  return rel.length > 1 ? rel[0]! : null;
}

/** Every relative import of a file (static, re-export and dynamic), with its line. */
function importsOf(text: string): { spec: string; line: number }[] {
  const found: { spec: string; line: number }[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) found.push({ spec: m[1]!, line: text.slice(0, m.index).split('\n').length });
  return found;
}

describe('import layers', () => {
  it('finds the imports of each form', () => {
    const text = "import { a } from '../gpu/x.js';\nexport { b } from './y.js';\nconst m = await import('../nn/z.js');\nimport './side.js';";
    expect(importsOf(text)).toEqual([
      { spec: '../gpu/x.js', line: 1 },
      { spec: './y.js', line: 2 },
      { spec: '../nn/z.js', line: 3 },
      { spec: './side.js', line: 4 },
    ]);
  });

  it('every folder of src is a known layer', () => {
    const folders = readdirSync(root).filter((n) => statSync(join(root, n)).isDirectory());
    expect(folders.filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([]);
  });

  it('no file imports a layer above its own', () => {
    const upward: string[] = [];
    let checked = 0;
    for (const file of filesUnder(root)) {
      const from = layerOf(file);
      if (from === null) continue;
      for (const { spec, line } of importsOf(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(root + sep)) continue; // shaders/*.wgsl and the like
        const to = layerOf(target);
        checked++;
        if (to === null) {
          upward.push(`${relative(root, file)}:${line} imports the entry file ${spec}`);
          continue;
        }
        if (LAYERS.indexOf(to as (typeof LAYERS)[number]) > LAYERS.indexOf(from as (typeof LAYERS)[number])) {
          upward.push(`${relative(root, file)}:${line} (${from}) imports ${spec} (${to}, a layer above)`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(upward).toEqual([]);
  });
});
