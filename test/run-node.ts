// Runs a child Node process to its end and hands back its exit code and output (the command-line tests).
import { spawn } from 'node:child_process';

/** What a finished child process left: its exit code (null when a signal ended it), stdout and stderr. */
export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ARGS` from the repository root (the tests' working folder). */
export function runNode(args: string[]): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a TypeScript entry point of the project (bundled by scripts/run-ts.mjs) with `args`. */
export function runScript(script: string, args: string[]): Promise<NodeRun> {
  return runNode(['scripts/run-ts.mjs', script, ...args]);
}
