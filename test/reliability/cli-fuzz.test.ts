/**
 * The command lines of every command, fuzzed: an unknown flag, a bad value, a missing value or an extra word
 * anywhere among valid flags is a usage error naming it. Thousands of seeded lines go through each command's
 * own parser in-process (the one its entry point calls); then a few of them per command run for real, in an
 * empty folder with an empty home: exit status 2, the error line, the usage text, no stack trace, and no file
 * or folder created anywhere.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rand, seedNote } from '../helpers.js';
import { parseCommand, UsageError, type CommandSpec, type FlagSpec } from '../../src/cli/args.js';
import { TRAIN_BYOL } from '../../src/cli/train-byol.js';
import { AUGMENT_PREVIEW } from '../../src/cli/augment-preview.js';
import { DATA } from '../../src/cli/data.js';
import { DEMO } from '../../src/cli/demo.js';
import { EMBED } from '../../src/cli/embed.js';
import { parseArgs as parseBenchArgs, UsageError as BenchUsageError } from '../../bench/cli.js';
import { BACKENDS } from '../../bench/backends.js';

const repo = resolve(import.meta.dirname, '../..');
const root = mkdtempSync(join(tmpdir(), 'byol-cli-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

/** How one flag's values are drawn: valid ones, and ones its command must refuse. */
interface FlagGrammar {
  boolean?: boolean;
  good: () => string;
  bad: () => string;
}

interface Command {
  name: string;
  entry: string;
  /** Parses as the entry point does; throws the command's usage error on a bad line. */
  parse: (argv: string[]) => void;
  isUsageError: (e: unknown) => boolean;
  flags: Record<string, FlagGrammar>;
  positional?: { values: readonly string[] };
}

/** Values a flag of a kind refuses, beyond its range (all are single words that do not start with "--"). */
const NOT_INTEGER = ['x', '1.5', '1e3', '0x10', '', ' 7', 'NaN', 'Infinity', '9007199254740993', '3,'];
const NOT_NUMBER = ['x', '', '0x10', 'NaN', 'Infinity', '-Infinity', '1e999', '1.2.3', '1,5', 'e5'];

/** A file where a folder flag wants a folder (absolute: the real runs start in another folder). */
const FILE = join(repo, 'package.json');

/** Flag values the table alone cannot know: valid strings, and what each flag's check refuses. */
const STRINGS: Record<string, { good: string[]; bad: string[] }> = {
  dataset: { good: ['fashion-mnist', 'mnist', 'stl10', 'cifar10', 'folder:images', 'folder:a/b c'], bad: ['nosuch', 'folder:', 'FASHION-MNIST', 'cifar-10', 'folder'] },
  out: { good: ['run-out', 'a/b'], bad: [FILE, '/'] },
  'data-dir': { good: ['data-here'], bad: [FILE] },
  dir: { good: ['data-here'], bad: [FILE] },
  checkpoint: { good: ['byol-encoder.safetensors', 'runs/x/enc.safetensors'], bad: [] },
  mirror: { good: ['https://mirror.example/x', 'https://m', 'http://127.0.0.1:8080/x', 'http://localhost/x'], bad: ['ftp://m', 'http://', 'mirror.example', 'file:///tmp', 'http://mirror.example/x'] },
};

function grammarOf(name: string, spec: FlagSpec, command: string): FlagGrammar {
  const kind = spec.kind;
  const lo = spec.min ?? 0;
  const hi = Math.min(spec.max ?? lo + 1000, lo + 1000);
  const range = (): string[] => [...(spec.min !== undefined ? [String(spec.min - 1)] : []), ...(spec.max !== undefined ? [String(spec.max + 1)] : [])];
  if (Array.isArray(kind)) return { good: () => pick(kind), bad: () => pick(['nosuch', '', pick(kind).toUpperCase(), `${pick(kind)}x`]) };
  if (kind === 'boolean') return { boolean: true, good: () => pick(['', '=true', '=false']), bad: () => pick(['=maybe', '=1', '=', '=yes']) };
  if (kind === 'int') return { good: () => String(int(lo, hi)), bad: () => pick([...NOT_INTEGER, ...range()]) };
  if (kind === 'number') {
    // Exponent notation within the range: '7e-3' where the floor is 0, the floor plus as much otherwise.
    const small = (): string => (lo === 0 ? `${int(1, 9)}e-3` : String(lo + int(1, 9) * 1e-3));
    return { good: () => pick([String(lo + rand() * (Math.min(hi, lo + 1) - lo)), small(), String(lo)]), bad: () => pick([...NOT_NUMBER, ...range()]) };
  }
  if (kind === 'int-list') return { good: () => pick(['0', '0,1,2', '3,1', '7']), bad: () => pick(['1,,2', '1,1', 'a', '-1', '1.5', '', '0,x']) };
  // A string: the value table's, or (augment:preview's --out) a .png name.
  const png = command === 'augment:preview' && name === 'out';
  const s = png ? { good: ['view.png', 'a/B.PNG'], bad: ['view.jpg', 'png', 'view.png.txt'] } : STRINGS[name];
  if (!s) throw new Error(`the fuzz test has no values for --${name} of ${command}: add them to STRINGS`);
  return { good: () => pick(s.good), bad: () => pick(['', ...s.bad]) };
}

function fromSpec(name: string, entry: string, spec: CommandSpec): Command {
  return {
    name,
    entry,
    parse: (argv) => {
      parseCommand(argv, spec);
    },
    isUsageError: (e) => e instanceof UsageError,
    flags: Object.fromEntries(Object.entries(spec.flags).map(([k, s]) => [k, grammarOf(k, s, name)])),
    ...(spec.positional ? { positional: { values: spec.positional.values } } : {}),
  };
}

// bench's own parser, with a stand-in list of families (the real list comes from its row modules).
const FAMILIES = ['matmul', 'conv2d', 'byol-step'];
const bench: Command = {
  name: 'bench',
  entry: 'bench/bench.ts',
  parse: (argv) => {
    parseBenchArgs(argv, FAMILIES);
  },
  isUsageError: (e) => e instanceof BenchUsageError,
  flags: {
    ops: { good: () => pick(['matmul', 'conv2d,matmul', 'byol-step']), bad: () => pick(['nosuch', '', ',', 'matmul,nosuch']) },
    backends: { good: () => pick(['ours', 'ours,tfjs-webgpu', BACKENDS.join(',')]), bad: () => pick(['tfjs-webgpu', 'nosuch', '', 'ours,gpu']) },
    quick: { boolean: true, good: () => '', bad: () => pick(['=true', '=1', '=']) },
    profile: { boolean: true, good: () => '', bad: () => pick(['=true', '=1', '=']) },
    reps: { good: () => String(int(1, 50)), bad: () => pick(['0', ...NOT_INTEGER]) },
    warmup: { good: () => String(int(0, 9)), bad: () => pick(NOT_INTEGER) },
    sync: { good: () => pick(['fence', 'readback']), bad: () => pick(['FENCE', 'none', '']) },
    json: { good: () => 'out.json', bad: () => '' },
    markdown: { good: () => 'out.md', bad: () => '' },
    chart: { good: () => 'out.png', bad: () => '' },
  },
};

const COMMANDS: Command[] = [
  fromSpec('train:byol', 'src/cli/train-byol.ts', TRAIN_BYOL),
  fromSpec('augment:preview', 'src/cli/augment-preview.ts', AUGMENT_PREVIEW),
  fromSpec('data', 'src/cli/data.ts', DATA),
  fromSpec('demo', 'src/cli/demo.ts', DEMO),
  fromSpec('embed', 'src/cli/embed.ts', EMBED),
  bench,
];

type Fault = 'unknown flag' | 'bad value' | 'missing value' | 'extra word';
const FAULTS: Fault[] = ['unknown flag', 'bad value', 'missing value', 'extra word'];

/** A valid flag as the words of a command line: `--name value`, `--name=value`, or a bare boolean. */
function unit(name: string, value: string, g: FlagGrammar): string[] {
  if (g.boolean) return [`--${name}${value}`];
  return rand() < 0.5 ? [`--${name}=${value}`] : [`--${name}`, value];
}

/** A valid command line: a few valid flags in random order, and the positional word where one is required. */
function validUnits(c: Command): string[][] {
  const names = Object.keys(c.flags).filter(() => rand() < 0.3);
  const units = names.map((n) => unit(n, c.flags[n].good(), c.flags[n]));
  if (c.positional) units.splice(int(0, units.length), 0, [pick(c.positional.values)]);
  return units;
}

/** A word that is no flag of the command: random letters, digits and dashes, or a near miss of a real one. */
function unknownFlag(c: Command): string {
  const known = new Set([...Object.keys(c.flags), 'help']);
  for (;;) {
    const near = pick(Object.keys(c.flags));
    const name = pick([
      Array.from({ length: int(1, 12) }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789-'])).join(''),
      near.toUpperCase(),
      `${near}s`,
      `-${near}`,
      `${near}-size`,
      '__proto__',
      'constructor',
    ]);
    if (!known.has(name)) return `--${name}${rand() < 0.3 ? `=${int(0, 9)}` : ''}`;
  }
}

interface Case {
  argv: string[];
  fault: Fault;
  /** What the message must contain. */
  names: string;
}

/** A valid command line with one fault put among its flags. */
function faulty(c: Command, fault: Fault): Case {
  const units = validUnits(c);
  const at = int(0, units.length);
  let bad: string[];
  let names: string;
  switch (fault) {
    case 'unknown flag': {
      const w = unknownFlag(c);
      bad = [w];
      names = w.split('=')[0];
      break;
    }
    case 'bad value': {
      const name = pick(Object.keys(c.flags));
      const g = c.flags[name];
      const v = g.bad();
      bad = g.boolean ? [`--${name}${v}`] : rand() < 0.5 || v === '' ? [`--${name}=${v}`] : [`--${name}`, v];
      names = `--${name}`;
      break;
    }
    case 'missing value': {
      const name = pick(Object.keys(c.flags).filter((n) => !c.flags[n].boolean));
      // Last on the line, or followed by another flag (a following positional word would be taken as its value).
      const flagUnits = units.map((u, i) => (u[0].startsWith('--') ? i : -1)).filter((i) => i >= 0);
      const before = rand() < 0.5 && flagUnits.length ? pick(flagUnits) : units.length;
      units.splice(before, 0, [`--${name}`]);
      return { argv: units.flat(), fault, names: `--${name}` };
    }
    case 'extra word': {
      const word = c.positional
        ? pick([`${pick(c.positional.values)}x`, 'nosuch', 'cifar-100'])
        : pick(['nosuch', 'train', '3', 'fashion-mnist', 'a b', '-x', '-v', '-', '']);
      if (c.positional && rand() < 0.5) {
        // A second word after the one allowed.
        bad = [pick(c.positional.values)];
        names = bad[0];
        units.push(bad);
        return { argv: units.flat(), fault, names };
      }
      if (c.positional) {
        // In place of the one allowed.
        const i = units.findIndex((u) => !u[0].startsWith('--'));
        units[i] = [word];
        return { argv: units.flat(), fault, names: word };
      }
      bad = [word];
      names = word;
      break;
    }
  }
  units.splice(at, 0, bad);
  return { argv: units.flat(), fault, names };
}

function messageOf(c: Command, argv: string[]): string | null {
  try {
    c.parse(argv);
    return null;
  } catch (e) {
    if (!c.isUsageError(e)) throw e;
    return (e as Error).message;
  }
}

/** Seeded lines per command: every fault kind, then valid lines. */
const PER_FAULT = 150;
const VALID = 150;

describe('command lines, fuzzed in-process through each command’s parser', () => {
  for (const c of COMMANDS) {
    it(`${c.name}: valid lines parse; one fault anywhere is a usage error naming it`, () => {
      const failures: string[] = [];
      for (let i = 0; i < VALID; i++) {
        const argv = validUnits(c).flat();
        const m = messageOf(c, argv);
        if (m !== null) failures.push(`valid ${JSON.stringify(argv)}: ${m}`);
      }
      for (const fault of FAULTS) {
        for (let i = 0; i < PER_FAULT; i++) {
          const k = faulty(c, fault);
          const m = messageOf(c, k.argv);
          if (m === null) failures.push(`${fault} ${JSON.stringify(k.argv)}: accepted`);
          else if (!m.includes(k.names)) failures.push(`${fault} ${JSON.stringify(k.argv)}: "${m}" does not name ${k.names}`);
          else if (m.includes('\n')) failures.push(`${fault} ${JSON.stringify(k.argv)}: "${m}" is more than one line`);
        }
      }
      expect(failures.slice(0, 10), `${failures.length} failures ${seedNote}`).toEqual([]);
    });
  }
});

/** A JavaScript stack frame of ours. */
const ourStack = /^\s+at .*\.(m?js|ts):\d+/m;

function run(entry: string, argv: string[], cwd: string, home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok, fail) => {
    const env = { ...process.env, HOME: home, BYOL_DATA_DIR: join(home, 'data'), XDG_CACHE_HOME: join(home, '.cache') };
    const child = spawn(process.execPath, [join(repo, 'scripts/run-ts.mjs'), join(repo, entry), ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

describe('command lines, run for real', () => {
  for (const c of COMMANDS) {
    it(`${c.name}: exit 2, the error and the usage, no stack trace, nothing created`, async () => {
      for (const fault of ['unknown flag', 'bad value', pick(['missing value', 'extra word'] as const)] as const) {
        const k = faulty(c, fault);
        const want = messageOf(c, k.argv);
        const cwd = mkdtempSync(join(root, 'cwd-'));
        const home = join(cwd, '..', `${cwd.split('/').pop()}-home`);
        mkdirSync(home);
        const r = await run(c.entry, k.argv, cwd, home);
        const what = `${c.name} ${JSON.stringify(k.argv)} ${seedNote}\n${r.stderr}`;
        expect(r.code, what).toBe(2);
        const lines = r.stderr.split('\n').filter((l) => !l.startsWith('Warning: '));
        expect(lines[0], what).toBe(`error: ${want}`);
        expect(r.stderr.toLowerCase(), what).toContain(`usage: npm run ${c.name}`);
        expect(r.stderr + r.stdout, what).not.toMatch(ourStack);
        expect(readdirSync(cwd), what).toEqual([]);
        expect(readdirSync(home), what).toEqual([]);
        expect(existsSync(join(home, 'data')), what).toBe(false);
      }
    }, 60_000);
  }
});
