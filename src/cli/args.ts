/**
 * Command lines from a declarative table: `--name VALUE`, `--name=VALUE`, boolean `--name`, and positional
 * words where a command takes them. Unknown flags, missing values, bad values and extra words throw
 * UsageError; parseCommandLine prints it with the command's usage text and returns exit status 2, before the
 * command touches anything.
 */

import { existsSync, statSync } from 'node:fs';
import { parse, resolve } from 'node:path';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagKind = 'string' | 'int' | 'number' | 'boolean' | 'int-list' | readonly string[];

export interface FlagSpec {
  kind: FlagKind;
  /** For int and number: the smallest value allowed. */
  min?: number;
  /** For int and number: the largest value allowed. */
  max?: number;
  /** For string: what is wrong with a value ("must name a .png file"), or null when it is fine. */
  check?: (value: string) => string | null;
}

/** A command's command line: its usage text, its flags, and the positional words it takes (none by default). */
export interface CommandSpec {
  usage: string;
  flags: Record<string, FlagSpec>;
  positional?: {
    /** As the usage text names it, e.g. "dataset". */
    name: string;
    /** The values allowed. */
    values: readonly string[];
    /** Whether the word must be given. */
    required: boolean;
  };
}

export type ParsedFlags = Record<string, string | number | boolean | undefined>;

/** A check for flags that name a folder: refuses a path that is a file. */
export function notAFile(path: string): string | null {
  return existsSync(path) && !statSync(path).isDirectory() ? `must name a folder, but "${path}" is a file` : null;
}

/** A check for flags that name a file to write: refuses a path that is a folder. */
export function notAFolder(path: string): string | null {
  return existsSync(path) && statSync(path).isDirectory() ? `must name a file, but "${path}" is a folder` : null;
}

/** A check for flags that name a folder a command writes into: refuses a file and the file system's root. */
export function outputFolder(path: string): string | null {
  const full = resolve(path);
  if (full === parse(full).root) return `must name a folder for the output, not the root of the file system ("${path}")`;
  return notAFile(path);
}

/**
 * What is wrong with a number for an int or number flag (not a number of that kind, under its min or over
 * its max), or null: the same words whether it came from a command line or from a file's stored settings.
 */
export function numberProblem(name: string, value: unknown, spec: FlagSpec): string | null {
  const v = value as number;
  const ok = typeof value === 'number' && (spec.kind === 'int' ? Number.isSafeInteger(v) : Number.isFinite(v));
  if (!ok) return `--${name} must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`;
  if (spec.min !== undefined && v < spec.min) return `--${name} must be at least ${spec.min}, got ${v}`;
  if (spec.max !== undefined && v > spec.max) return `--${name} must be at most ${spec.max}, got ${v}`;
  return null;
}

export function parseFlags(argv: readonly string[], table: Record<string, FlagSpec>): { flags: ParsedFlags; help: boolean; positional: string[] } {
  const flags: ParsedFlags = {};
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1) throw new UsageError(`unknown option ${arg}`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'boolean') {
      if (eq >= 0) {
        const v = arg.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`--${name} takes no value (or =true / =false), got "${v}"`);
        flags[name] = v === 'true';
      } else flags[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    flags[name] = convert(name, raw, spec);
  }
  return { flags, help, positional };
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function convert(name: string, raw: string, spec: FlagSpec): string | number {
  const kind = spec.kind;
  if (Array.isArray(kind)) {
    if (!kind.includes(raw)) throw new UsageError(`--${name} must be one of ${kind.join(', ')}, got "${raw}"`);
    return raw;
  }
  if (kind === 'string') {
    if (raw === '') throw new UsageError(`--${name} needs a non-empty value`);
    const problem = spec.check?.(raw);
    if (problem) throw new UsageError(`--${name} ${problem}`);
    return raw;
  }
  if (kind === 'int-list') {
    const parts = raw.split(',').map((p) => p.trim());
    for (const p of parts) {
      const v = Number(p);
      if (!INTEGER.test(p) || !Number.isSafeInteger(v) || (spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        throw new UsageError(`--${name} must be a comma-separated list of integers${spec.min !== undefined ? ` of at least ${spec.min}` : ''}, got "${raw}"`);
      }
    }
    if (new Set(parts.map(Number)).size !== parts.length) throw new UsageError(`--${name} lists a value twice: "${raw}"`);
    return parts.map(Number).join(',');
  }
  const v = Number(raw);
  const ok = kind === 'int' ? INTEGER.test(raw) && Number.isSafeInteger(v) : DECIMAL.test(raw) && Number.isFinite(v);
  if (!ok) throw new UsageError(`--${name} must be ${kind === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
  const problem = numberProblem(name, v, spec);
  if (problem) throw new UsageError(problem);
  return v;
}

export interface ParsedCommand {
  flags: ParsedFlags;
  /** The positional word, when the command takes one. */
  positional: string | undefined;
  help: boolean;
}

/** Parses a command line against its spec; throws UsageError naming what is wrong. */
export function parseCommand(argv: readonly string[], spec: CommandSpec): ParsedCommand {
  const parsed = parseFlags(argv, spec.flags);
  const words = parsed.positional;
  const p = spec.positional;
  if (!p || words.length > 1) {
    const extra = p ? words[1] : words[0];
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  }
  if (p && words.length === 1 && !p.values.includes(words[0])) throw new UsageError(`unknown ${p.name} "${words[0]}" (one of ${p.values.join(', ')})`);
  if (p?.required && words.length === 0 && !parsed.help) throw new UsageError(`no ${p.name} given (one of ${p.values.join(', ')})`);
  return { flags: parsed.flags, positional: words[0], help: parsed.help };
}

/**
 * A command's parsed command line, or the exit status when there is nothing more to do: 0 after printing the
 * usage for --help, 2 after printing a usage error and the usage.
 */
export function parseCommandLine(argv: readonly string[], spec: CommandSpec): ParsedCommand | number {
  let parsed;
  try {
    parsed = parseCommand(argv, spec);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${spec.usage}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(`${spec.usage}\n`);
    return 0;
  }
  return parsed;
}
