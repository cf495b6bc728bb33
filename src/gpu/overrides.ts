/**
 * Overrides of the engine's variant choices, for tests and measurements.
 *
 * Each family of launches (conv2d, matmul, batchNorm, optim, and poll for the waits on the GPU) chooses its
 * variant (which kernel, tile and workgroup sizes, workgroup counts) with a pure plan function of the shape,
 * the adapter's capabilities (GpuRuntime.caps) and that family's overrides, e.g.
 * `conv2dForwardPlan(geometry, caps, overrides)`. Unset overrides leave the choice to the shape and the
 * adapter. The overrides in force come from one place and are set one way: for the length of a call,
 *
 *   withKernelOverrides({ conv2d: { forward: 'tile' }, matmul: { kernel: 'sg' } }, () => ...);
 *
 * and they are part of a captured step's key (overridesKey), so a replay never runs launches planned under
 * other overrides.
 *
 * A family declares its overrides with declareOverrides (its knobs' names, checked at run time) and adds its
 * entry to {@link KernelOverrides} (declaration merging: `declare module '../gpu/overrides.js'`), which types
 * withKernelOverrides' argument.
 */

/** Each family's overrides, by family name; every family adds its own entry (see the file's comment). */
export interface KernelOverrides {}

type Knobs = Readonly<Record<string, unknown>>;

const NONE: Knobs = Object.freeze({});
/** Knob names by family, as the families declared them. */
const declared = new Map<string, readonly string[]>();
/** The overrides in force (frozen, never changed in place) and their key. */
let active: Readonly<Record<string, Knobs>> = NONE as Readonly<Record<string, Knobs>>;
let activeKey = '';

/**
 * Declares a family's knobs (once, where its plan lives; every knob of its overrides type, each `true`), so
 * that withKernelOverrides can check names.
 */
export function declareOverrides<F extends keyof KernelOverrides>(family: F, knobs: Readonly<Record<keyof NonNullable<KernelOverrides[F]>, true>>): void {
  declared.set(family as string, Object.freeze(Object.keys(knobs)));
}

/** The overrides in force for one family (an empty object when none is set). */
export function overridesOf<F extends keyof KernelOverrides>(family: F): NonNullable<KernelOverrides[F]> {
  return (active[family as string] ?? NONE) as NonNullable<KernelOverrides[F]>;
}

/** The overrides in force as a string ('' when none): the same string for the same overrides. */
export function overridesKey(): string {
  return activeKey;
}

function check(overrides: Readonly<Record<string, unknown>>): void {
  for (const [family, knobs] of Object.entries(overrides)) {
    const names = declared.get(family);
    if (!names) {
      const known = [...declared.keys()].join(', ');
      throw new Error(`withKernelOverrides: unknown family '${family}' (known: ${known}; a family is known once its module is loaded)`);
    }
    if (knobs === undefined) continue;
    if (!knobs || typeof knobs !== 'object' || Array.isArray(knobs)) {
      throw new Error(`withKernelOverrides: ${family} must be an object of overrides, got ${JSON.stringify(knobs)}`);
    }
    for (const k of Object.keys(knobs)) {
      if (!names.includes(k)) throw new Error(`withKernelOverrides: ${family} has no override '${k}' (it has ${names.join(', ')})`);
    }
  }
}

/** A canonical string of overrides: families and knobs in name order, unset knobs left out. */
function keyOf(overrides: Readonly<Record<string, Knobs>>): string {
  const parts: string[] = [];
  for (const family of Object.keys(overrides).sort()) {
    const knobs = overrides[family]!;
    const set = Object.keys(knobs)
      .filter((k) => knobs[k] !== undefined)
      .sort()
      .map((k) => `${k}=${String(knobs[k])}`);
    if (set.length) parts.push(`${family}{${set.join(',')}}`);
  }
  return parts.join(';');
}

/**
 * Runs `fn` with `overrides` in force, over those already in force (knob by knob: a knob set to undefined
 * goes back to the plan's own choice), and restores the previous ones when `fn` returns or throws, or, when
 * `fn` returns a promise, when that settles. Scopes nest; asynchronous ones should not overlap except by
 * nesting, since each restores what it found.
 */
export function withKernelOverrides<T>(overrides: KernelOverrides, fn: () => T): T {
  const given = overrides as Readonly<Record<string, Knobs | undefined>>;
  check(given);
  const prev = active;
  const prevKey = activeKey;
  const next: Record<string, Knobs> = { ...prev };
  for (const [family, knobs] of Object.entries(given)) {
    if (knobs) next[family] = Object.freeze({ ...prev[family], ...knobs });
  }
  active = Object.freeze(next);
  activeKey = keyOf(active);
  const restore = () => {
    active = prev;
    activeKey = prevKey;
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
