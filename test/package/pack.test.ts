/**
 * The package as a user gets it: built, packed with `npm pack`, the tarball installed into an empty project
 * with npm, the examples compiled there by `tsc --strict` against the installed type declarations and run
 * with Node: the MLP trains on Fashion-MNIST to its stated accuracy, the custom op passes its gradient check.
 *
 * The install is offline: the project gets a lockfile that pins the package's dependencies (read from the
 * packed package.json) to the versions in this repository's lockfile, whose tarballs `npm ci` left in npm's
 * cache. Where a tarball is missing from the cache, npm fetches it (--prefer-offline). A dependency the
 * package uses but does not declare is not installed, so the examples fail.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const EXAMPLES = ['mlp-fashion-mnist.ts', 'custom-op.ts'];
/** The MLP example's test accuracy, measured 85.73 % on lavapipe (seeded, the same every run); a margin for other adapters. */
const MLP_MIN_ACCURACY = 83;

let work = '';
let project = '';
let packed: { filename: string; files: { path: string }[] } | null = null;

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The lockfile entries of `deps` and everything they depend on, as this repository's lockfile has them. */
function lockClosure(deps: Record<string, string>): Record<string, unknown> {
  const repo = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  const todo = Object.keys(deps);
  while (todo.length) {
    const name = todo.pop()!;
    const key = `node_modules/${name}`;
    if (key in out) continue;
    const entry = repo[key];
    if (!entry) throw new Error(`package-lock.json has no entry for ${name}, a dependency of the package: run npm install`);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    out[key] = rest;
    todo.push(...Object.keys((entry.dependencies as Record<string, string> | undefined) ?? {}));
  }
  return out;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'byol-pack-'));
  ok(run(process.execPath, ['scripts/build.mjs'], ROOT), 'node scripts/build.mjs');
  const out = ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT), 'npm pack');
  packed = JSON.parse(out)[0];

  project = join(work, 'project');
  mkdirSync(project);
  copyFileSync(join(work, packed!.filename), join(project, packed!.filename));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string> };
  const spec = `file:${packed!.filename}`;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'byol-webgpu': spec } }, null, 2));
  const lock = {
    name: 'consumer',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'consumer', dependencies: { 'byol-webgpu': spec } },
      'node_modules/byol-webgpu': { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies },
      ...lockClosure(pkg.dependencies),
    },
  };
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const args = ['ci', '--ignore-scripts', '--no-audit', '--no-fund'];
  let r = run('npm', [...args, '--offline'], project);
  if (r.status !== 0 && /ENOTCACHED/.test(r.stderr)) r = run('npm', [...args, '--prefer-offline'], project);
  ok(r, 'npm ci (the packed tarball)');

  for (const f of EXAMPLES) copyFileSync(join(ROOT, 'examples', f), join(project, f));
  const nodeTypes = join(ROOT, 'node_modules/@types');
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        typeRoots: [nodeTypes],
        types: ['node'],
        outDir: 'out',
      },
      files: EXAMPLES,
    }),
  );
  // A page's script, as a bundler sees it: the main entry without Node's types.
  writeFileSync(join(project, 'page.ts'), "import { init, fromArray, matmul } from 'byol-webgpu';\nawait init();\nconst a = fromArray([1, 2, 3, 4], [2, 2]);\nconsole.log(await matmul(a, a).data());\n");
  writeFileSync(
    join(project, 'tsconfig.page.json'),
    JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], noEmit: true }, files: ['page.ts'] }),
  );
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the bundles, the type declarations and the package metadata, and nothing else', () => {
    const paths = packed!.files.map((f) => f.path);
    for (const p of ['package.json', 'dist/byol-webgpu.browser.js', 'dist/node/index.js', 'dist/node/node.js', 'dist/types/index.d.ts', 'dist/types/node.d.ts']) {
      expect(paths).toContain(p);
    }
    const unexpected = paths.filter((p) => !/^(dist\/|package\.json$|README\.md$|LICENSE)/.test(p));
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(test|tests|fixtures|results|src|examples)\//.test(p))).toEqual([]);
  });

  it('type-checks the examples with tsc --strict against the installed declarations (Node) and a page script without Node types', () => {
    ok(run(process.execPath, [TSC, '-p', 'tsconfig.json'], project), 'tsc --strict (examples)');
    ok(run(process.execPath, [TSC, '-p', 'tsconfig.page.json'], project), 'tsc --strict (page script, no Node types)');
  }, 300_000);

  it("resolves the browser bundle for a page's bundler", async () => {
    const r = await build({
      stdin: { contents: "export { init } from 'byol-webgpu';", resolveDir: project },
      absWorkingDir: project,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(Object.keys(r.metafile.inputs)).toContain('node_modules/byol-webgpu/dist/byol-webgpu.browser.js');
  });

  it(`runs the MLP example: Fashion-MNIST test accuracy ≥ ${MLP_MIN_ACCURACY} %`, () => {
    const out = ok(run(process.execPath, ['out/mlp-fashion-mnist.js'], project, 600_000), 'the MLP example');
    const m = /test accuracy ([\d.]+) %/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(MLP_MIN_ACCURACY);
  }, 600_000);

  it('runs the custom-op example: its kernels pass the gradient check', () => {
    const out = ok(run(process.execPath, ['out/custom-op.js'], project), 'the custom-op example');
    expect(out).toMatch(/silu: forward relative error \S+, gradient \S+/);
    expect(out).toMatch(/gradient of mean\(silu\(w\)\): -?\d/);
  });
});
