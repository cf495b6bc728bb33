#!/usr/bin/env node
// Runs one of the project's commands (a TypeScript entry point, through scripts/run-ts.mjs) so that the
// terminal shows the project's own output only. Dawn prints notices from native code straight to fd 2
// (scripts/dawn-notices.mjs); the command runs as a child whose fd 2 is a pipe read here, where those notices
// are dropped and every other line passes on, while its process.stderr (errors, progress bars) writes to this
// process's stderr directly through fd 3 (scripts/stderr-fd.mjs), so a terminal stays a terminal.
//
// BYOL_GPU_VERBOSE=1 runs the command in this process with Dawn's output as it comes.
// usage: node scripts/cli.mjs <entry.ts> [args...]
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dawnNoticeFilter } from './dawn-notices.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const runTs = join(here, 'run-ts.mjs');
const verbose = /^(1|true|yes)$/i.test(process.env.BYOL_GPU_VERBOSE ?? '');

if (verbose) {
  process.argv = [process.argv[0], runTs, ...process.argv.slice(2)];
  await import(pathToFileURL(runTs).href);
} else {
  const child = spawn(
    process.execPath,
    [...process.execArgv, '--import', pathToFileURL(join(here, 'stderr-fd.mjs')).href, runTs, ...process.argv.slice(2)],
    { stdio: ['inherit', 'inherit', 'pipe', 2], env: { ...process.env, BYOL_STDERR_FD: '3' } },
  );
  // This process never touches process.stderr (its stream would make the shared fd non-blocking).
  const filter = dawnNoticeFilter((text) => {
    const bytes = Buffer.from(text);
    for (let done = 0; done < bytes.length; ) done += writeSync(2, bytes, done);
  });
  child.stderr.on('data', (chunk) => filter.push(chunk));
  // Ctrl-C reaches the command from the terminal itself; a signal sent to this process alone is passed on.
  process.on('SIGINT', () => undefined);
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('close', (code, signal) => {
    filter.end();
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
