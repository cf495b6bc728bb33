/** Command-line flags of `npm run bench`. */
import { BACKENDS, type BackendName, type SyncMode } from './backends.js';

export interface Options {
  /** Families to run; null means all. */
  ops: string[] | null;
  backends: BackendName[];
  quick: boolean;
  reps: number;
  warmup: number;
  sync: SyncMode;
  json: string | null;
  markdown: string | null;
  /** PNG bar chart of the baseline/ours ratios. */
  chart: string | null;
  /** Instead of the rows: the per-op GPU time of one ResNet-18 training step and one BYOL step. */
  profile: boolean;
  /** Whether --reps / --warmup were given (then rows' maxRuns do not lower them). */
  repsGiven: boolean;
  help: boolean;
}

export const DEFAULT_REPS = 15;
export const DEFAULT_WARMUP = 3;
export const QUICK_REPS = 5;
export const QUICK_WARMUP = 1;

export function usage(families: string[]): string {
  return `Usage: npm run bench -- [flags]

Times each benchmark row on our engine, on TensorFlow.js (same WebGPU adapter) and on PyTorch (CPU), and
prints a table.

Flags:
  --ops LIST        comma-separated families to run (default: all). Known: ${families.join(', ') || '(none)'}
  --backends LIST   comma-separated backends (default: ${BACKENDS.join(',')}; unavailable ones are skipped
                    with a note). tfjs-wasm needs @tensorflow/tfjs-backend-wasm installed; torch needs
                    /usr/bin/python3 with PyTorch (Debian: apt-get install python3-torch python3-torchvision)
                    and runs in a worker process (bench/torch_worker.py) on the CPU.
  --quick           fewer repetitions (${QUICK_WARMUP} warm-up, ${QUICK_REPS} timed runs per backend)
  --reps N          timed runs per backend and row (default ${DEFAULT_REPS}; ${QUICK_REPS} with --quick;
                    whole-network rows cap it at their own small count unless --reps is given)
  --warmup N        untimed runs before timing (default ${DEFAULT_WARMUP}; ${QUICK_WARMUP} with --quick)
  --sync MODE       how each timed run waits for the GPU, the same on both sides:
                      fence    (default) submit and await queue.onSubmittedWorkDone(), no readback
                      readback read every output back in full (await tensor.data())
  --json FILE       also write machine-readable results (all samples) to FILE
  --markdown FILE   append the results table to FILE as Markdown (created if missing)
  --chart FILE.png  also draw the baseline/ours ratio of every row as a horizontal bar chart (log scale)
  --profile         instead of the rows: the per-op GPU time (timestamp queries) of one eager ResNet-18
                    training step (batch 64, 32×32) and one BYOL step (batch 32), after warm-up: op,
                    dispatches, ms, share, GFLOP/s or GB/s where the op's work is known, the kernels
                    its dispatches ran (the variants their plans chose); --json and --markdown write
                    its tables instead of the rows' (--chart has nothing to draw)
  --help, -h        show this text

Timing: the median of the timed runs, each awaited to completion. Backends alternate run by run so slow
drift on a noisy machine hits both sides alike. ratio = baseline ms / ours ms (> 1: ours is faster).
torch times each run in its worker (the computation only, not the message round trip).`;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function count(flag: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} needs a whole number, got '${v ?? ''}'`);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}`);
  return n;
}

function commaList(flag: string, v: string | undefined): string[] {
  const items = (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new UsageError(`${flag} needs a comma-separated list`);
  return items;
}

/** Parses argv (without node and script). Accepts `--flag value` and `--flag=value`. */
export function parseArgs(argv: string[], knownFamilies: string[]): Options {
  const o: Options = {
    ops: null,
    backends: [...BACKENDS],
    quick: false,
    reps: -1,
    warmup: -1,
    sync: 'fence',
    json: null,
    markdown: null,
    chart: null,
    profile: false,
    repsGiven: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string | undefined => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) return undefined;
      i++;
      return v;
    };
    const noValue = (): void => {
      if (inline !== undefined) throw new UsageError(`${arg} takes no value`);
    };
    switch (arg) {
      case '--help':
      case '-h':
        noValue();
        o.help = true;
        break;
      case '--quick':
        noValue();
        o.quick = true;
        break;
      case '--profile':
        noValue();
        o.profile = true;
        break;
      case '--ops': {
        const ops = commaList(arg, value());
        const unknown = ops.filter((f) => !knownFamilies.includes(f));
        if (unknown.length) throw new UsageError(`--ops: unknown famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}`);
        o.ops = ops;
        break;
      }
      case '--backends': {
        const names = commaList(arg, value());
        const unknown = names.filter((b) => !(BACKENDS as readonly string[]).includes(b));
        if (unknown.length) throw new UsageError(`--backends: unknown ${unknown.join(', ')} (known: ${BACKENDS.join(', ')})`);
        if (!names.includes('ours')) throw new UsageError("--backends must include 'ours' (ratios are against it)");
        o.backends = BACKENDS.filter((b) => names.includes(b));
        break;
      }
      case '--reps':
        o.reps = count(arg, value(), 1);
        o.repsGiven = true;
        break;
      case '--warmup':
        o.warmup = count(arg, value(), 0);
        o.repsGiven = true;
        break;
      case '--sync': {
        const v = value();
        if (v !== 'fence' && v !== 'readback') throw new UsageError(`--sync must be fence or readback, got '${v ?? ''}'`);
        o.sync = v;
        break;
      }
      case '--json':
      case '--markdown':
      case '--chart': {
        const v = value();
        if (!v) throw new UsageError(`${arg} needs a file name`);
        if (arg === '--json') o.json = v;
        else if (arg === '--chart') o.chart = v;
        else o.markdown = v;
        break;
      }
      default:
        throw new UsageError(`unknown argument '${argv[i]}'`);
    }
  }
  if (o.reps < 0) o.reps = o.quick ? QUICK_REPS : DEFAULT_REPS;
  if (o.warmup < 0) o.warmup = o.quick ? QUICK_WARMUP : DEFAULT_WARMUP;
  return o;
}
