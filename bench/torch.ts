/**
 * The 'torch' backend: PyTorch on the CPU, in one worker process per bench run (bench/torch_worker.py, run
 * with Debian's /usr/bin/python3, which has python3-torch; the python3 first on PATH may not). The bench
 * talks to it in JSON lines (the protocol is described at the top of the worker). A row's torch
 * implementation (`torchImpl`) describes its workload (op, parameters, and the row's own inputs, sent once as
 * base64 little-endian arrays); the worker builds it, runs it once for the correctness check ("run", which
 * returns the first output), and times it ("time"): the worker times the computation alone, so the message
 * round trip and the decoding of inputs stay outside the timed span, as the uploads do for the GPU backends.
 * The bench still drives every warm-up and timed run, interleaved with the other backends.
 *
 * Where /usr/bin/python3 cannot import torch, the backend is skipped with a note (loadBackends).
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Impl, Outputs } from './registry.js';

/** The interpreter with Debian's python3-torch. */
export const TORCH_PYTHON = '/usr/bin/python3';

export type TorchDtype = 'float32' | 'int32' | 'uint8';
export type TorchData = Float32Array | Int32Array | Uint8Array;

/** An array as the worker receives and returns it: shape, dtype and base64 of the little-endian bytes. */
export interface WireArray {
  shape: number[];
  dtype: TorchDtype;
  data: string;
}

/** What a row asks the worker to build: an op it knows (see OPS in the worker), parameters and inputs. */
export interface TorchWorkload {
  op: string;
  params?: Record<string, unknown>;
  inputs?: Record<string, { data: TorchData; shape: readonly number[] }>;
}

/** What a torch run hands the harness: the first output, already on the host (null: the op returned none). */
export interface TorchOutputs {
  first: { shape: number[]; data: TorchData } | null;
}

export interface TorchInfo {
  torch: string;
  threads: number;
  python: string;
  cpu: string;
}

export function dtypeOf(a: TorchData): TorchDtype {
  return a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint8';
}

export function encodeArray(data: TorchData, shape: readonly number[]): WireArray {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`torch: an input of shape [${shape.join(', ')}] needs ${n} elements, got ${data.length}`);
  if (os.endianness() !== 'LE') throw new Error('torch: the worker protocol sends little-endian arrays');
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { shape: [...shape], dtype: dtypeOf(data), data: bytes.toString('base64') };
}

export function decodeArray(w: WireArray): { shape: number[]; data: TorchData } {
  const bytes = Buffer.from(w.data, 'base64');
  // A copy into its own (aligned) buffer: Node's base64 buffers may sit at any offset of a shared pool.
  const own = new Uint8Array(bytes.byteLength);
  own.set(bytes);
  const Ctor = w.dtype === 'float32' ? Float32Array : w.dtype === 'int32' ? Int32Array : w.dtype === 'uint8' ? Uint8Array : null;
  if (!Ctor) throw new Error(`torch: unknown dtype '${String(w.dtype)}' in a reply`);
  const data = new Ctor(own.buffer, 0, own.byteLength / Ctor.BYTES_PER_ELEMENT);
  const n = w.shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`torch: a reply of shape [${w.shape.join(', ')}] carries ${data.length} elements`);
  return { shape: w.shape, data };
}

/**
 * Splits a byte stream into lines: `push` each chunk as it comes; `onLine` gets every complete line (without
 * its '\n', as UTF-8 text). Chunks are joined only when a line ends, so a line of tens of MB costs one copy.
 */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  return (chunk) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      parts.push(chunk.subarray(start, nl));
      const line = Buffer.concat(parts).toString('utf8');
      parts = [];
      start = nl + 1;
      if (line.trim()) onLine(line);
    }
    if (start < chunk.length) parts.push(chunk.subarray(start));
  };
}

/** Where bench/torch_worker.py is: next to this file, or (from the bundle in .cache/run/) under bench/. */
export function workerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, 'torch_worker.py'), resolve(here, '../../bench/torch_worker.py'), resolve(process.cwd(), 'bench/torch_worker.py')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`bench/torch_worker.py not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** Why `python` cannot serve as the torch backend, or null when it imports torch. */
export function torchMissing(python = TORCH_PYTHON): Promise<string | null> {
  return new Promise((done) => {
    execFile(python, ['-c', 'import torch'], { timeout: 120_000 }, (err, _out, stderr) => {
      if (!err) return done(null);
      const last = String(stderr).trim().split('\n').pop() || err.message.split('\n')[0];
      done(`${python} cannot import torch (${last}); install Debian's python3-torch and python3-torchvision to add this column`);
    });
  });
}

type Reply = Record<string, unknown> & { id: number; ok: boolean; error?: string };

/** The worker process and its request queue (replies come in request order, matched by id). */
export class TorchWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private stderrTail: string[] = [];
  private exited: string | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on(
      'data',
      lineSplitter((line) => {
        let reply: Reply;
        try {
          reply = JSON.parse(line) as Reply;
        } catch {
          this.stderrTail.push(`(not a reply) ${line.slice(0, 200)}`);
          return;
        }
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        if (reply.ok) p.resolve(reply);
        else p.reject(new Error(`torch: ${reply.error ?? 'failed'}`));
      }),
    );
    child.stderr.on(
      'data',
      lineSplitter((line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
      }),
    );
    const gone = (why: string) => {
      if (this.exited) return;
      const tail = this.stderrTail.slice(-3).join(' | ');
      this.exited = `the torch worker ${why}${tail ? `: ${tail}` : ''}`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    };
    child.on('exit', (code, signal) => gone(signal ? `was killed (${signal})` : `exited with code ${code}`));
    child.on('error', (e) => gone(`could not run (${e.message})`));
    child.stdin.on('error', (e) => gone(`stopped reading its input (${e.message})`));
  }

  /** Starts `python script` with PyTorch's threads sleeping while they wait (OMP_WAIT_POLICY=PASSIVE). */
  static start(python = TORCH_PYTHON, script = workerScript()): TorchWorker {
    const child = spawn(python, [script], {
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', PYTHONUNBUFFERED: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new TorchWorker(child);
  }

  request(msg: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(JSON.stringify({ ...msg, id }) + '\n');
    });
  }

  async hello(): Promise<TorchInfo> {
    const r = await this.request({ cmd: 'hello' });
    return { torch: String(r.torch), threads: Number(r.threads), python: String(r.python), cpu: String(r.cpu) };
  }

  /** Builds a workload in the worker; returns its handle. */
  async setup(w: TorchWorkload): Promise<number> {
    const inputs: Record<string, WireArray> = {};
    for (const [k, v] of Object.entries(w.inputs ?? {})) inputs[k] = encodeArray(v.data, v.shape);
    const r = await this.request({ cmd: 'setup', op: w.op, params: w.params ?? {}, inputs });
    return Number(r.handle);
  }

  /** One untimed run; its first output. */
  async run(handle: number): Promise<TorchOutputs> {
    const r = await this.request({ cmd: 'run', handle });
    return { first: r.first ? decodeArray(r.first as WireArray) : null };
  }

  /** One run timed in the worker, in milliseconds. */
  async time(handle: number): Promise<number> {
    const r = await this.request({ cmd: 'time', handle });
    return Number(r.ms);
  }

  /** Frees a workload; not awaited by the harness (replies come in order, so later requests wait for it). */
  dispose(handle: number): void {
    this.request({ cmd: 'dispose', handle }).catch(() => {
      /* the worker is gone: nothing left to free */
    });
  }

  /** Closes the worker's input (it exits at its end) and lets this process exit without waiting for it. */
  close(): void {
    if (!this.child.stdin.destroyed) this.child.stdin.end();
    this.child.unref();
    for (const s of [this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  }
}

/** A row's torch implementation: the worker builds `workload()` (the row's own inputs, sent once) and runs it. */
export function torchImpl(workload: () => TorchWorkload | Promise<TorchWorkload>): Impl {
  return {
    async setup({ torch }) {
      const handle = await torch.setup(await workload());
      return {
        run: () => torch.run(handle),
        time: () => torch.time(handle),
        dispose: () => torch.dispose(handle),
      };
    },
  };
}

export function isTorchOutputs(x: Outputs): x is TorchOutputs {
  return typeof x === 'object' && x !== null && 'first' in x;
}
