/**
 * `npm run data -- <dataset> [--dir DIR] [--mirror URL]`: makes a dataset available in the data folder,
 * downloading its official release if needed.
 */
import { resolve } from 'node:path';
import { DOWNLOADABLE_DATASETS, type DownloadProgress, type DownloadableDataset, prepareDataset } from '../data/download.js';
import { defaultDataDir } from '../data/open.js';

const USAGE = `usage: npm run data -- <${DOWNLOADABLE_DATASETS.join('|')}> [--dir DIR] [--mirror URL]

Downloads a dataset's official release, checks its MD5 and unpacks it into DIR/<dataset folder>.
Fashion-MNIST is taken from Debian's dataset-fashion-mnist package when installed, without a download.

  --dir DIR      data folder (default: $BYOL_DATA_DIR or ${defaultDataDir({})})
  --mirror URL   base URL to fetch the release files from instead of the official one
                 (default: $BYOL_DATA_MIRROR)
  -h, --help     show this text`;

class UsageError extends Error {}

interface Args {
  dataset: DownloadableDataset;
  dir?: string;
  mirror?: string;
}

function parseArgs(argv: readonly string[]): Args | 'help' {
  let dataset: DownloadableDataset | undefined;
  let dir: string | undefined;
  let mirror: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    const flag = /^(--dir|--mirror)(?:=(.*))?$/.exec(arg);
    if (flag !== null) {
      const value = flag[2] ?? argv[++i];
      if (value === undefined || value === '' || (flag[2] === undefined && value.startsWith('-'))) throw new UsageError(`${flag[1]} needs a value`);
      if (flag[1] === '--dir') dir = resolve(value);
      else {
        if (!/^https?:\/\/[^/]/.test(value)) throw new UsageError(`--mirror must be an http(s) URL, got "${value}"`);
        mirror = value;
      }
      continue;
    }
    if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    if (dataset !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
    const known = DOWNLOADABLE_DATASETS.find((d) => d === arg);
    if (known === undefined) throw new UsageError(`unknown dataset "${arg}"`);
    dataset = known;
  }
  if (dataset === undefined) throw new UsageError('no dataset given');
  return { dataset, ...(dir !== undefined ? { dir } : {}), ...(mirror !== undefined ? { mirror } : {}) };
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let unit = 0;
  while (n >= 1000 && unit < units.length - 1) {
    n /= 1000;
    unit++;
  }
  return `${n.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Progress on stderr: rewritten in place on a terminal, a line every few seconds otherwise. */
function progressPrinter(): { update(p: DownloadProgress): void; finish(): void } {
  const tty = process.stderr.isTTY === true;
  const interval = tty ? 200 : 5000;
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < interval && p.received !== p.total) return;
      last = now;
      const name = p.file.slice(p.file.lastIndexOf('/') + 1);
      const size = p.total === null ? formatBytes(p.received) : `${formatBytes(p.received)} / ${formatBytes(p.total)} (${((100 * p.received) / p.total).toFixed(1)}%)`;
      const line = `${name}: ${size}, ${formatBytes(p.bytesPerSecond)}/s`;
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      shown = true;
    },
    finish() {
      if (tty && shown) process.stderr.write('\n');
      shown = false;
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let args: Args | 'help';
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const progress = progressPrinter();
  try {
    const result = await prepareDataset(args.dataset, {
      ...(args.dir !== undefined ? { dataDir: args.dir } : {}),
      ...(args.mirror !== undefined ? { mirror: args.mirror } : {}),
      onProgress: (p) => progress.update(p),
      log: (line) => {
        progress.finish();
        process.stderr.write(`${line}\n`);
      },
    });
    progress.finish();
    const origin = { present: 'already present', system: 'system copy, nothing downloaded', downloaded: 'downloaded' }[result.origin];
    process.stdout.write(`${result.name}: ready in ${result.dir} (${origin})\n`);
    return 0;
  } catch (err) {
    progress.finish();
    // DatasetError messages already name the file; other errors are reported by message alone.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
