/**
 * Command-line flags from a declarative table: `--name VALUE`, `--name=VALUE` and boolean `--name`.
 * Unknown flags, missing values and bad values throw UsageError (the caller prints the usage text and
 * exits with status 2).
 */

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
}

export type ParsedFlags = Record<string, string | number | boolean | undefined>;

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
      if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = table[name];
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

function convert(name: string, raw: string, spec: FlagSpec): string | number {
  const kind = spec.kind;
  if (Array.isArray(kind)) {
    if (!kind.includes(raw)) throw new UsageError(`--${name} must be one of ${kind.join(', ')}, got "${raw}"`);
    return raw;
  }
  if (kind === 'string') {
    if (raw === '') throw new UsageError(`--${name} needs a non-empty value`);
    return raw;
  }
  if (kind === 'int-list') {
    const parts = raw.split(',').map((p) => p.trim());
    for (const p of parts) {
      const v = Number(p);
      if (p === '' || !Number.isInteger(v) || (spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        throw new UsageError(`--${name} must be a comma-separated list of integers${spec.min !== undefined ? ` of at least ${spec.min}` : ''}, got "${raw}"`);
      }
    }
    if (new Set(parts.map(Number)).size !== parts.length) throw new UsageError(`--${name} lists a value twice: "${raw}"`);
    return parts.map(Number).join(',');
  }
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (kind === 'int' && !Number.isInteger(v))) {
    throw new UsageError(`--${name} must be ${kind === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, got ${v}`);
  if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, got ${v}`);
  return v;
}

/**
 * A command's flags, or the exit status when there is nothing more to do: 0 after printing the usage for
 * --help, 2 after printing a usage error. Positional arguments are refused.
 */
export function parseCommandLine(argv: readonly string[], table: Record<string, FlagSpec>, usage: string): ParsedFlags | number {
  let parsed;
  try {
    parsed = parseFlags(argv, table);
    if (parsed.positional.length) throw new UsageError(`unexpected argument "${parsed.positional[0]}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n\n${usage}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return parsed.flags;
}
