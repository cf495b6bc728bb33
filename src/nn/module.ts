/**
 * Module and Parameter, PyTorch's way: a module owns named parameters, named buffers and named child
 * modules, each in registration order, so that `namedParameters()` and `stateDict()` list them in the same
 * order and with the same dotted names as torch's `named_parameters()` / `state_dict()` (own parameters,
 * then own buffers, then each child's, depth first).
 *
 * A Parameter wraps its tensor (`.value`) so the tensor can be moved into a flat parameter buffer
 * (see flat.ts) without the layers noticing. Buffers are float32 tensors (running_mean, running_var) or
 * CPU-side int64 counters (num_batches_tracked), kept outside the flat parameter buffer.
 */
import { clone as cloneTensor } from '../kernels/copy.js';
import { keep } from '../tensor/engine.js';
import { shapeString, type Shape, type Tensor } from '../tensor/tensor.js';
import type { FlatParameters } from './flat.js';

/**
 * Counts every change that {@link Module.modeKey} reads: a module's training flag, a parameter's
 * requiresGrad, a parameter or child registered or replaced. A module's key is cached against it.
 */
let modeEpoch = 0;

/**
 * A trainable tensor of a {@link Module}: float32, gradient on by default. Layers read it through `.value`,
 * which may be re-pointed into a flat buffer ({@link flattenParameters}).
 */
export class Parameter {
  private _requiresGrad = true;

  /** Wraps `value` (kept out of every scope) as a parameter that requires gradients. */
  constructor(
    /** The parameter's tensor (a view into the flat buffer once the module is flattened). */
    public value: Tensor,
  ) {
    if (value.dtype !== 'float32') throw new TypeError(`Parameter: only float32 tensors can be parameters, got ${value.dtype}`);
    keep(value);
    value.requiresGrad = true;
  }

  /** The tensor's shape. */
  get shape(): Shape {
    return this.value.shape;
  }

  /** The tensor's number of elements. */
  get size(): number {
    return this.value.size;
  }

  /** The accumulated gradient (a view into the flat gradient buffer once the module is flattened). */
  get grad(): Tensor | null {
    return this.value.grad;
  }

  /** Whether the parameter gets gradients and updates (false: frozen). */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  /** Freezes (false) or unfreezes (true) this parameter: a frozen one gets no gradient and no update. */
  set requiresGrad(on: boolean) {
    if (on !== this._requiresGrad) modeEpoch++;
    this._requiresGrad = on;
    this.value.requiresGrad = on;
  }

  /** Re-points this parameter at another tensor (e.g. its view in a flat buffer), keeping the grad flag. */
  replace(t: Tensor): void {
    if (t.size !== this.value.size) throw new Error(`Parameter.replace: ${shapeString(t.shape)} does not match ${shapeString(this.value.shape)}`);
    keep(t);
    t.requiresGrad = this._requiresGrad;
    this.value = t;
  }
}

/** An int64 buffer kept on the CPU (num_batches_tracked). */
export class Counter {
  /** A counter starting at `value`. */
  constructor(
    /** The count. */
    public value = 0,
  ) {}
}

/** What a module's buffer holds: a float32 tensor (running statistics) or a CPU-side counter. */
export type BufferValue = Tensor | Counter;

/** A parameter with its dotted name, as `namedParameters()` lists it. */
export interface NamedParameter {
  /** The dotted name, e.g. 'layer1.0.conv1.weight'. */
  name: string;
  /** The parameter. */
  param: Parameter;
}

/** A buffer with its dotted name, as `namedBuffers()` lists it. */
export interface NamedBuffer {
  /** The dotted name, e.g. 'bn1.running_mean'. */
  name: string;
  /** The buffer. */
  buffer: BufferValue;
}

/**
 * A layer or a network, as torch.nn.Module: it owns named parameters, buffers and child modules in
 * registration order, so names and order match PyTorch's state dict. Subclasses register their parts in the
 * constructor and implement `forward`.
 */
export abstract class Module {
  private _training = true;
  private modeCache: { epoch: number; key: string } | null = null;

  /** Training mode (batch statistics in batch norm) or eval mode; set with train() / eval(). */
  get training(): boolean {
    return this._training;
  }

  /** Sets training (true) or eval (false) mode on this module alone; train() / eval() set its descendants too. */
  set training(on: boolean) {
    if (on !== this._training) modeEpoch++;
    this._training = on;
  }
  /** Own parameters by name, in registration order. */
  protected readonly _parameters = new Map<string, Parameter>();
  /** Own buffers by name, in registration order. */
  protected readonly _buffers = new Map<string, BufferValue>();
  /** Child modules by name, in registration order. */
  protected readonly _modules = new Map<string, Module>();
  /**
   * The flat parameter and gradient buffers, set by {@link flattenParameters} on the module it was called on.
   * @internal
   */
  _flat: FlatParameters | null = null;

  /** Computes the module's output; differentiable ops record themselves for backward. */
  abstract forward(x: Tensor): Tensor;

  /** Same as forward(x). */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  /**
   * Registers a parameter under `name` (no dots) and returns it; call in the constructor, in PyTorch's order.
   */
  protected registerParameter(name: string, t: Tensor): Parameter {
    this.checkName(name);
    const p = new Parameter(t);
    this._parameters.set(name, p);
    modeEpoch++;
    return p;
  }

  /** Registers a buffer (running statistics, a counter) under `name` and returns it. */
  protected registerBuffer<B extends BufferValue>(name: string, b: B): B {
    this.checkName(name);
    if (!(b instanceof Counter)) keep(b);
    this._buffers.set(name, b);
    return b;
  }

  /** Registers a child module under `name` and returns it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this._modules.set(name, m);
    modeEpoch++;
    return m;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`Module: invalid name '${name}' (non-empty, no dots)`);
    if (this._parameters.has(name) || this._buffers.has(name) || this._modules.has(name)) {
      throw new Error(`Module: '${name}' is already registered in ${this.constructor.name}`);
    }
  }

  /** Replaces a registered child module (e.g. `fc` by Identity or a new Linear), keeping its place in the order. */
  setModule(name: string, m: Module): void {
    if (!this._modules.has(name)) throw new Error(`setModule: ${this.constructor.name} has no child '${name}'`);
    if (this._flat) throw new Error('setModule: the module is flattened; replace children before flattenParameters()');
    this._modules.set(name, m);
    modeEpoch++;
    const self = this as unknown as Record<string, unknown>;
    if (name in self) self[name] = m;
  }

  /** The child module registered under `name`. */
  child(name: string): Module | undefined {
    return this._modules.get(name);
  }

  /** The direct children with their names, in registration order. */
  *namedChildren(): Generator<[string, Module]> {
    yield* this._modules;
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this._modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  /** Every parameter with its dotted name, in torch's `named_parameters()` order. */
  namedParameters(prefix = ''): NamedParameter[] {
    const out: NamedParameter[] = [];
    for (const [n, m] of this.namedModules(prefix)) {
      for (const [pn, p] of m._parameters) out.push({ name: n ? `${n}.${pn}` : pn, param: p });
    }
    return out;
  }

  /** Every parameter, in the order of `namedParameters()`. */
  parameters(): Parameter[] {
    return this.namedParameters().map((e) => e.param);
  }

  /** Every buffer with its dotted name, in torch's `named_buffers()` order. */
  namedBuffers(prefix = ''): NamedBuffer[] {
    const out: NamedBuffer[] = [];
    for (const [n, m] of this.namedModules(prefix)) {
      for (const [bn, b] of m._buffers) out.push({ name: n ? `${n}.${bn}` : bn, buffer: b });
    }
    return out;
  }

  /**
   * The state dict's entries in torch's order: per module (depth first), its parameters then its buffers.
   */
  stateEntries(prefix = ''): {
    /** The dotted name, e.g. 'layer1.0.bn1.running_mean'. */
    name: string;
    /** The parameter or buffer. */
    value: Parameter | BufferValue;
  }[] {
    const out: { name: string; value: Parameter | BufferValue }[] = [];
    for (const [n, m] of this.namedModules(prefix)) {
      for (const [pn, p] of m._parameters) out.push({ name: n ? `${n}.${pn}` : pn, value: p });
      for (const [bn, b] of m._buffers) out.push({ name: n ? `${n}.${bn}` : bn, value: b });
    }
    return out;
  }

  /**
   * A short string that changes whenever the train/eval mode of this module or a descendant, or whether one
   * of their parameters requires gradients, changes: part of a captured step's key (see captureStep).
   */
  modeKey(): string {
    // Cached until anything it reads changes anywhere (a captured step asks for it on every call).
    if (this.modeCache?.epoch === modeEpoch) return this.modeCache.key;
    let s = this.training ? 'T' : 'E';
    for (const p of this._parameters.values()) s += p.requiresGrad ? 'g' : 'f';
    for (const m of this._modules.values()) s += m.modeKey();
    this.modeCache = { epoch: modeEpoch, key: s };
    return s;
  }

  /** Sets training mode on this module and every descendant. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Sets eval mode on this module and every descendant (running statistics in batch norm). */
  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter of this module and its descendants. */
  requiresGrad(on: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /**
   * A deep copy (as copy.deepcopy): the same structure with copies of every parameter and buffer, sharing
   * no GPU storage with this one. A flattened module's copy is flattened too, with the same layout, so
   * emaUpdate can run over both flat buffers. Gradients are not copied.
   */
  deepCopy(): this {
    const memo = new Map<unknown, unknown>();
    const copy = deepCopyValue(this, memo) as this;
    if (this._flat) this._flat.flattenLike(copy);
    return copy;
  }

  /** Frees every parameter and buffer (and the flat buffers). */
  dispose(): void {
    if (this._flat) {
      this._flat.dispose();
      return;
    }
    for (const { param } of this.namedParameters()) param.value.dispose();
    for (const { buffer } of this.namedBuffers()) if (!(buffer instanceof Counter)) buffer.dispose();
  }
}

function deepCopyValue(v: unknown, memo: Map<unknown, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (memo.has(v)) return memo.get(v);
  if (v instanceof Parameter) {
    const p = new Parameter(cloneTensor(v.value));
    p.requiresGrad = v.requiresGrad;
    memo.set(v, p);
    return p;
  }
  if (v instanceof Counter) {
    const c = new Counter(v.value);
    memo.set(v, c);
    return c;
  }
  if (isTensor(v)) {
    const t = keep(cloneTensor(v));
    memo.set(v, t);
    return t;
  }
  if (v instanceof Map) {
    const m = new Map();
    memo.set(v, m);
    for (const [k, val] of v) m.set(k, deepCopyValue(val, memo));
    return m;
  }
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    memo.set(v, a);
    for (const x of v) a.push(deepCopyValue(x, memo));
    return a;
  }
  const proto = Object.getPrototypeOf(v);
  if (v instanceof Module || proto === Object.prototype) {
    const o = Object.create(proto) as Record<string, unknown>;
    memo.set(v, o);
    for (const key of Object.keys(v)) {
      o[key] = key === '_flat' ? null : deepCopyValue((v as Record<string, unknown>)[key], memo);
    }
    return o;
  }
  // Anything else (generators, functions' owners, frozen option objects) is shared.
  return v;
}

function isTensor(v: object): v is Tensor {
  return 'storage' in v && 'shape' in v && 'dtype' in v && typeof (v as { view?: unknown }).view === 'function';
}
