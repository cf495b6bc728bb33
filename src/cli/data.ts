/**
 * `npm run data -- <dataset> [--dir DIR] [--mirror URL]`: makes a dataset available in the data folder,
 * downloading its official release if needed.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DOWNLOADABLE_DATASETS, type DownloadProgress, type DownloadableDataset, downloadUrlProblem, prepareDataset } from '../data/download.js';
import { defaultDataDir } from '../data/open.js';
import { notAFile, parseCommandLine, type CommandSpec, type FlagSpec } from './args.js';

const USAGE = `usage: npm run data -- <${DOWNLOADABLE_DATASETS.join('|')}> [--dir DIR] [--mirror URL]

Downloads a dataset's official release, checks its MD5 and unpacks it into DIR/<dataset folder>.
Fashion-MNIST is taken from Debian's dataset-fashion-mnist package when installed, without a download.

  --dir DIR      data folder (default: $BYOL_DATA_DIR or ${defaultDataDir({})})
  --mirror URL   base URL to fetch the release files from instead of the official one (https; plain
                 http only from this machine: 127.0.0.1, localhost or [::1])
                 (default: $BYOL_DATA_MIRROR)
  -h, --help     show this text`;

const FLAGS: Record<string, FlagSpec> = {
  dir: { kind: 'string', check: notAFile },
  mirror: { kind: 'string', check: (v) => (/^https?:\/\/[^/]/.test(v) ? downloadUrlProblem(v) : `must be an https URL, got "${v}"`) },
};

/** The command line of `npm run data`. */
export const DATA: CommandSpec = { usage: USAGE, flags: FLAGS, positional: { name: 'dataset', values: DOWNLOADABLE_DATASETS, required: true } };

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
  const parsed = parseCommandLine(argv, DATA);
  if (typeof parsed === 'number') return parsed;
  const dataset = parsed.positional as DownloadableDataset;
  const dir = parsed.flags.dir as string | undefined;
  const mirror = parsed.flags.mirror as string | undefined;
  const progress = progressPrinter();
  try {
    const result = await prepareDataset(dataset, {
      ...(dir !== undefined ? { dataDir: resolve(dir) } : {}),
      ...(mirror !== undefined ? { mirror } : {}),
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

/** Runs as the command when it is the entry point (imported, e.g. by the tests of its command line, it only exports). */
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) process.exitCode = await main(process.argv.slice(2));
