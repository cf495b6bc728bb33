/**
 * Process-wide engine state: the GPU runtime every op runs on, the stack of tensor scopes, and live-object
 * counts for memory statistics.
 */
import { GpuRuntime, type RuntimeOptions } from '../gpu/runtime.js';
import type { PoolStats } from '../gpu/pool.js';
import type { Tensor } from './tensor.js';

let runtime: GpuRuntime | null = null;

/** Live tensors and storages (read them with {@link memory}). */
export const counts = { tensors: 0, storages: 0 };

/** Starts the engine on the best adapter available (or installs a runtime made elsewhere). */
export async function init(options: RuntimeOptions | GpuRuntime = {}): Promise<GpuRuntime> {
  runtime = options instanceof GpuRuntime ? options : await GpuRuntime.create(options);
  return runtime;
}

/** The runtime {@link init} started; throws if the engine is not started. */
export function getRuntime(): GpuRuntime {
  if (!runtime) throw new Error('The engine is not started: call `await init()` before making tensors.');
  return runtime;
}

/** Whether {@link init} has run. */
export function hasRuntime(): boolean {
  return runtime !== null;
}

// ---------------------------------------------------------------------------------------------------------
// Scopes: every tensor made while a scope is open belongs to it, and is disposed when the scope closes
// unless it is returned from the scope (then it moves to the enclosing scope) or kept with keep().

const scopes: Set<Tensor>[] = [];

/** Puts a new tensor into the innermost open scope (the Tensor constructor calls this). */
export function trackTensor(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** Takes a tensor out of the scope holding it (dispose calls this). */
export function untrackTensor(t: Tensor): void {
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i].delete(t)) return;
}

/** Takes a tensor out of every scope: it lives until disposed by hand. */
export function keep<T extends Tensor>(t: T): T {
  untrackTensor(t);
  return t;
}

function collect(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (!value || typeof value !== 'object' || depth > 4) return;
  if ((value as { storage?: unknown; shape?: unknown }).storage && Array.isArray((value as { shape?: unknown }).shape)) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

/**
 * Opens a scope: tensors made until the matching {@link endScope} belong to it. For async code; synchronous
 * code uses {@link scope}.
 */
export function beginScope(): void {
  scopes.push(new Set());
}

/** Closes the innermost scope, disposing its tensors except `result`'s, which move to the enclosing scope. */
export function endScope(result?: unknown): void {
  const scope = scopes.pop();
  if (!scope) throw new Error('endScope: no scope is open');
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of scope) {
    if (kept.has(t)) continue;
    t.dispose();
  }
  if (scopes.length) for (const t of kept) if (scope.has(t)) scopes[scopes.length - 1].add(t);
}

/**
 * Runs `fn` in a scope: every tensor it makes is disposed when it returns, except the tensors in its result
 * (a tensor, or arrays / plain objects of tensors). Not for async functions: the scope would close at the
 * first await.
 */
export function scope<T>(fn: () => T): T {
  beginScope();
  let result: T | undefined;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('scope(fn): fn must be synchronous; use beginScope/endScope around async code');
    return result;
  } finally {
    endScope(result);
  }
}

/** The buffer pool's statistics and the tensors alive ({@link memory}). */
export interface MemoryStats extends PoolStats {
  /** Tensors made and not yet disposed. */
  liveTensors: number;
  /** GPU storages held by live tensors. */
  liveStorages: number;
}

/**
 * The buffer pool's statistics and the number of live tensors and storages: flat from step to step when
 * nothing leaks.
 */
export function memory(): MemoryStats {
  return { ...getRuntime().poolStats(), liveTensors: counts.tensors, liveStorages: counts.storages };
}
