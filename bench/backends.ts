/**
 * The backends a row can be measured on, and how the harness waits for them.
 *
 *  - 'ours':        this engine, on the device `init()` acquires (Dawn through the `webgpu` npm package).
 *  - 'tfjs-webgpu': TensorFlow.js 4.x with @tensorflow/tfjs-backend-webgpu, on its own device from the same
 *                   `webgpu` package (same adapter), through a navigator.gpu shim installed before it loads.
 *  - 'tfjs-wasm':   TensorFlow.js's WebAssembly CPU backend, only when @tensorflow/tfjs-backend-wasm is installed.
 *  - 'torch':       PyTorch on the CPU (Debian's python3-torch, /usr/bin/python3) in a worker process
 *                   (bench/torch.ts, bench/torch_worker.py), only when that interpreter imports torch.
 *
 * Waiting (the `--sync` mode), identical in kind on every GPU backend:
 *  - 'fence' (default): submit everything recorded and await the queue's onSubmittedWorkDone(), i.e. GPU
 *    completion without copying the result back. Ours: `getRuntime().sync()`. tfjs-webgpu: end its compute
 *    pass, submit its command encoder, await `device.queue.onSubmittedWorkDone()`. Both await through
 *    `awaitGpu` (src/gpu/poll.ts): Dawn's promise polling sleeps between polls instead of spinning a core.
 *  - 'readback': read every output tensor back to the CPU in full (`await t.data()` on both sides).
 * tfjs-wasm runs on the CPU; it always reads its outputs back (a memory copy), in both modes. torch runs on
 * the CPU and times itself in its worker (Prepared.time), its outputs in host memory, in both modes.
 */
import os from 'node:os';
import { awaitGpu, getRuntime, init, Tensor } from '../src/index.js';
import type { Outputs } from './registry.js';
import { isTorchOutputs, TorchWorker, torchMissing, TORCH_PYTHON } from './torch.js';

export type BackendName = 'ours' | 'tfjs-webgpu' | 'tfjs-wasm' | 'torch';
export const BACKENDS: readonly BackendName[] = ['ours', 'tfjs-webgpu', 'tfjs-wasm', 'torch'];
export type SyncMode = 'fence' | 'readback';

export type TF = typeof import('@tensorflow/tfjs');
type TfTensor = import('@tensorflow/tfjs').Tensor;

/**
 * Handed to an implementation's setup. `tf` is the TensorFlow.js module, for the tfjs backends only; `torch`
 * the PyTorch worker, for the torch backend only (elsewhere both throw when used).
 */
export interface BackendContext {
  readonly name: BackendName;
  readonly tf: TF;
  readonly torch: TorchWorker;
}

export interface Backend {
  readonly name: BackendName;
  readonly ctx: BackendContext;
  /** A human-readable description of what it runs on. */
  readonly info: string;
  /** Makes this backend the active one (tfjs has one global active backend). Not timed. */
  activate(): Promise<void>;
  /** Waits until the outputs are computed (fence or readback). Timed. */
  wait(out: Outputs, mode: SyncMode): Promise<void>;
  /** Reads the first output back, for the correctness check. */
  readFirst(out: Outputs): Promise<Float32Array>;
  disposeOutputs(out: Outputs): void;
}

export interface Unavailable {
  name: BackendName;
  reason: string;
}

function list<T>(out: Outputs, is: (x: unknown) => x is T, what: string): T[] {
  const items = Array.isArray(out) ? out : [out];
  for (const x of items) if (!is(x)) throw new Error(`bench: a ${what} row returned something that is not a ${what} tensor`);
  return items as T[];
}

function toFloat32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/** A stand-in for a context member the backend does not have (ctx.tf on ours, ctx.torch on tfjs...). */
function absent<T extends object>(backend: BackendName, member: string): T {
  return new Proxy({} as T, {
    get() {
      throw new Error(`bench: the '${backend}' implementation used ctx.${member}`);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------

export async function loadOurs(): Promise<Backend> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = os.tmpdir();
  const rt = await init();
  const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;
  return {
    name: 'ours',
    ctx: { name: 'ours', tf: absent('ours', 'tf'), torch: absent('ours', 'torch') },
    info: `${rt.report.name}${rt.report.software ? ' (software)' : ''}`,
    async activate() {},
    async wait(out, mode) {
      if (mode === 'fence') await getRuntime().sync();
      else for (const t of list(out, isTensor, 'ours')) await t.data();
    },
    async readFirst(out) {
      return toFloat32(await list(out, isTensor, 'ours')[0].data());
    },
    disposeOutputs(out) {
      for (const t of list(out, isTensor, 'ours')) t.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

/** The members of tfjs's WebGPUBackend the fence uses (public in its typings, not in tf.backend()'s type). */
interface TfWebgpuInternals {
  queue: GPUQueue;
  adapterInfo?: { vendor?: string; architecture?: string; description?: string };
  endComputePassEncoder(): void;
  ensureCommandEncoderReady(): void;
  submitQueue(): void;
}

let tfModule: TF | null = null;

/** Loads @tensorflow/tfjs once, with the WebGPU shim installed first (dynamic imports keep the order). */
async function loadTf(): Promise<TF> {
  if (tfModule) return tfModule;
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = os.tmpdir();
  const { create, globals } = (await import('webgpu')) as unknown as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  // defineProperty, not assignment: newer Node versions have a getter-only global navigator.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
  tfModule = (await import('@tensorflow/tfjs')) as TF;
  return tfModule;
}

function isTfTensor(tf: TF) {
  return (x: unknown): x is TfTensor => x instanceof tf.Tensor;
}

/** Whether more than one tfjs backend is loaded, so each run must switch the active one first. */
let tfBackendsLoaded = 0;

async function activateTf(tf: TF, name: string): Promise<void> {
  if (tfBackendsLoaded > 1 && tf.getBackend() !== name) {
    await tf.setBackend(name);
    await tf.ready();
  }
}

export async function loadTfjsWebgpu(): Promise<Backend> {
  const tf = await loadTf();
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
  tfBackendsLoaded++;
  const be = tf.backend() as unknown as TfWebgpuInternals;
  const ai = be.adapterInfo;
  const info = ai ? [ai.vendor, ai.architecture, ai.description].filter(Boolean).join(' / ') : 'unknown adapter';
  const isT = isTfTensor(tf);
  return {
    name: 'tfjs-webgpu',
    ctx: { name: 'tfjs-webgpu', tf, torch: absent('tfjs-webgpu', 'torch') },
    info,
    activate: () => activateTf(tf, 'webgpu'),
    async wait(out, mode) {
      const ts = list(out, isT, 'tfjs');
      // awaitGpu: the same throttled polling of Dawn's promises our runtime waits with (src/gpu/poll.ts).
      if (mode === 'readback') {
        for (const t of ts) await awaitGpu(() => t.data());
        return;
      }
      const b = tf.engine().findBackend('webgpu') as unknown as TfWebgpuInternals;
      b.endComputePassEncoder();
      b.ensureCommandEncoderReady(); // submitQueue() needs an encoder, even an empty one
      b.submitQueue();
      await awaitGpu(() => b.queue.onSubmittedWorkDone());
    },
    async readFirst(out) {
      return toFloat32(await list(out, isT, 'tfjs')[0].data());
    },
    disposeOutputs(out) {
      for (const t of list(out, isT, 'tfjs')) t.dispose();
    },
  };
}

export async function loadTfjsWasm(): Promise<Backend> {
  const tf = await loadTf();
  const name = '@tensorflow/tfjs-backend-wasm';
  try {
    await import(/* @vite-ignore */ name);
  } catch {
    throw new Error(`${name} is not installed (npm i -D ${name}@4.22.0 to add this column)`);
  }
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed");
  await tf.ready();
  tfBackendsLoaded++;
  const isT = isTfTensor(tf);
  return {
    name: 'tfjs-wasm',
    ctx: { name: 'tfjs-wasm', tf, torch: absent('tfjs-wasm', 'torch') },
    info: 'WebAssembly (CPU)',
    activate: () => activateTf(tf, 'wasm'),
    async wait(out) {
      for (const t of list(out, isT, 'tfjs')) await t.data();
    },
    async readFirst(out) {
      return toFloat32(await list(out, isT, 'tfjs')[0].data());
    },
    disposeOutputs(out) {
      for (const t of list(out, isT, 'tfjs')) t.dispose();
    },
  };
}

/**
 * PyTorch on the CPU in its worker process (bench/torch.ts), when `python` imports torch. Its rows time
 * themselves in the worker (Prepared.time), so `wait` has nothing to wait for; the outputs of a "run" (the
 * correctness check) come back with it.
 */
export async function loadTorch(python = TORCH_PYTHON): Promise<Backend & { worker: TorchWorker }> {
  const missing = await torchMissing(python);
  if (missing) throw new Error(missing);
  const worker = TorchWorker.start(python);
  let t;
  try {
    t = await worker.hello();
  } catch (e) {
    worker.close();
    throw e;
  }
  const outputs = (out: Outputs) => {
    if (!isTorchOutputs(out)) throw new Error("bench: a torch row returned something that is not the worker's output");
    return out;
  };
  return {
    name: 'torch',
    ctx: { name: 'torch', tf: absent('torch', 'tf'), torch: worker },
    info: `PyTorch ${t.torch} on the CPU (${t.cpu}, ${t.threads} threads; Python ${t.python} at ${python})`,
    worker,
    async activate() {},
    async wait(out) {
      outputs(out);
    },
    async readFirst(out) {
      const first = outputs(out).first;
      if (!first) throw new Error('bench: the torch workload returned no output to compare');
      return toFloat32(first.data);
    },
    disposeOutputs() {},
  };
}

/**
 * Loads the backends asked for, in order; those that cannot load are reported, not fatal (ours is).
 * `torchPython`: the interpreter of the torch backend.
 */
export async function loadBackends(
  names: readonly BackendName[],
  torchPython = TORCH_PYTHON,
): Promise<{ loaded: Backend[]; unavailable: Unavailable[] }> {
  const loaded: Backend[] = [];
  const unavailable: Unavailable[] = [];
  for (const name of names) {
    if (name === 'ours') {
      loaded.push(await loadOurs());
      continue;
    }
    try {
      loaded.push(name === 'tfjs-webgpu' ? await loadTfjsWebgpu() : name === 'tfjs-wasm' ? await loadTfjsWasm() : await loadTorch(torchPython));
    } catch (e) {
      unavailable.push({ name, reason: (e as Error).message });
    }
  }
  // The last tfjs backend loaded is active; make sure webgpu is the active one when both are there.
  const webgpu = loaded.find((b) => b.name === 'tfjs-webgpu');
  if (webgpu) await webgpu.activate();
  return { loaded, unavailable };
}
