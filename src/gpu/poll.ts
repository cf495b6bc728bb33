/**
 * Waiting on Dawn's promises in Node without giving a CPU core to the wait.
 *
 * dawn.node (the `webgpu` package) resolves its promises — `queue.onSubmittedWorkDone()`, `mapAsync()`,
 * `popErrorScope()` — only from a polling loop that calls the instance's ProcessEvents and reschedules
 * itself through the global `setImmediate` for as long as any promise is pending. That loop keeps one core
 * busy for the whole wait. On a GPU it only wastes the core; on a software adapter (lavapipe), whose shader
 * threads need every core, it is a tax on all work.
 *
 * `awaitGpu(start)` installs, for the duration of the wait, a `setImmediate` that lets Dawn's loop spin for
 * 0.05 ms (so a wait on work already done ends without a sleep), then puts the main thread to sleep before
 * each of Dawn's polls: 0.02 ms before the first, doubling up to 0.2 ms (pollPlan; Atomics.wait with a
 * timeout, since a timer's 1 ms granularity made waits of a few milliseconds come back late), leaving the
 * cores to the adapter. On lavapipe (2 cores) a long dispatch (ResNet-18's layer1 conv2d input gradient at
 * 96×96, batch 32) runs much faster this way than with the loop spinning, at the price of a little latency
 * on a trivial dispatch. A longer spin measured slower on short waits: the spinning thread holds a core the
 * shader threads wake onto (figures: bench/RESULTS.md, "Figures behind the kernel choices
 * (moved from code comments, 2026-12-05)").
 * Only Dawn's callbacks are throttled (native functions without a name, as N-API creates them); every other
 * `setImmediate` call goes to Node's own. Outside Node (no `setImmediate`: browsers run the GPU in another
 * process) it is a plain await. Dawn's loop looks `setImmediate` up each time it reschedules itself, so
 * `start` should create the promise once the throttle is in place (inside `start`) for the first poll to
 * see it too.
 */
import { declareOverrides, overridesOf } from './overrides.js';

declare module './overrides.js' {
  interface KernelOverrides {
    /** Overrides of how a wait on the GPU polls Dawn (pollPlan). */
    poll?: PollOverrides;
  }
}
declareOverrides('poll', { spinMs: true, firstSleepMs: true, sleepMs: true });

/** What a test or a measurement may change in how a wait polls (`withKernelOverrides({ poll: {...} }, fn)`). */
export type PollOverrides = Partial<PollPlan>;

/**
 * How a wait on the GPU polls Dawn in Node: a short spin, then sleeps between polls that leave the CPU cores
 * to the adapter (which matters on software adapters).
 */
export interface PollPlan {
  /** How long (ms) Dawn's loop may spin at the start of a wait (0: no spin); Infinity turns the throttle off. */
  spinMs: number;
  /**
   * After that, the main thread sleeps before each next poll: `firstSleepMs` before the first, doubling
   * from poll to poll up to `sleepMs`. Short waits keep a short latency; long ones cost one wake-up per
   * `sleepMs`.
   */
  firstSleepMs: number;
  /** The longest sleep (ms) between two polls. */
  sleepMs: number;
}

/**
 * How a wait polls under overrides `o` (the `poll` overrides of withKernelOverrides, src/gpu/overrides.ts, in
 * force when the first of overlapping waits starts): 0.05 ms of spin, then sleeps from 0.02 ms doubling up
 * to 0.2 ms.
 */
export function pollPlan(o: PollOverrides = {}): PollPlan {
  return { spinMs: o.spinMs ?? 0.05, firstSleepMs: o.firstSleepMs ?? 0.02, sleepMs: o.sleepMs ?? 0.2 };
}

/** A word to block on: Atomics.wait with a timeout is a sleep finer than a timer's millisecond. */
const sleeper = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : null;

/** Dawn polling callbacks seen during waits: let through at once (`spun`) or delayed (`throttled`). */
export const pollStats = {
  /** Polls let through at once, in the spin at the start of a wait. */
  spun: 0,
  /** Polls run after a sleep. */
  throttled: 0,
};

type Immediate = typeof globalThis.setImmediate;

let active = 0;
/** The plan of the waits under way (taken when the first of overlapping waits starts). */
let plan: PollPlan = pollPlan();
let since = 0;
let nextSleep = 0;
let saved: Immediate | null = null;
let installed: Immediate | null = null;

const nativeSource = /\{\s*\[native code\]\s*\}\s*$/;

/** Whether `fn` looks like dawn.node's polling callback: a native function with an empty name. */
function isDawnPoll(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' && nativeSource.test(Function.prototype.toString.call(fn));
}

function install(): void {
  const real = globalThis.setImmediate;
  saved = real;
  const gentle = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (isDawnPoll(fn)) {
      if (performance.now() - since >= plan.spinMs) {
        pollStats.throttled++;
        if (!sleeper) return setTimeout(fn, 0, ...args);
        Atomics.wait(sleeper, 0, 0, nextSleep);
        nextSleep = Math.min(plan.sleepMs, nextSleep * 2);
      } else {
        pollStats.spun++;
      }
    }
    return real(fn, ...args);
  }) as unknown as Immediate;
  installed = gentle;
  globalThis.setImmediate = gentle;
}

function uninstall(): void {
  // Leave it alone if someone replaced it meanwhile (fake timers in a test, say).
  if (globalThis.setImmediate === installed && saved) globalThis.setImmediate = saved;
  saved = null;
  installed = null;
}

/** Awaits the promise `start` creates, with Dawn's polling throttled as described above. */
export async function awaitGpu<T>(start: () => Promise<T>): Promise<T> {
  if (typeof globalThis.setImmediate !== 'function') return start();
  if (active === 0) {
    const next = pollPlan(overridesOf('poll'));
    if (!(next.spinMs < Infinity)) return start();
    plan = next;
    since = performance.now();
    nextSleep = Math.min(plan.firstSleepMs, plan.sleepMs);
    install();
  }
  active++;
  try {
    return await start();
  } finally {
    if (--active === 0) uninstall();
  }
}
