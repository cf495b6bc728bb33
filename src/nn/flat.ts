/**
 * A model's parameters in one flat GPU buffer, and their gradients in a parallel one.
 *
 * flattenParameters(model) lays the parameters out in named_parameters() order, each starting at a
 * multiple of the adapter's storage offset alignment (256 bytes = 64 floats), copies their values in, and
 * re-points every Parameter at its view of the flat buffer. Each parameter's `.grad` is preassigned to its
 * view of the flat gradient buffer, so the tape's accumulateLeaf adds gradients there in place. Zeroing
 * gradients, an optimizer step and the EMA update are then each one dispatch over the whole buffer.
 * Padding between parameters stays zero (zero value, zero gradient, so no optimizer moves it).
 *
 * Buffers (running statistics) are not part of it: they stay separate tensors.
 */
import { getRuntime, keep } from '../tensor/engine.js';
import { empty, shapeString, type Shape, type Tensor } from '../tensor/tensor.js';
import { emaKernel, zeroFlat } from './kernels.js';
import { perStep, StepValue, stepScalar, type Scalar } from '../capture/capture.js';
import type { Module, Parameter } from './module.js';

/** Where one parameter lives in the flat buffers. */
export interface FlatSegment {
  /** The parameter's dotted name. */
  name: string;
  /** The parameter. */
  param: Parameter;
  /** The parameter's shape. */
  shape: Shape;
  /** First element in the flat buffers. */
  offset: number;
  /** Elements of the parameter. */
  size: number;
}

/** Elements per alignment unit: every parameter starts at a multiple of this. */
export function flatAlignmentElements(): number {
  return Math.max(64, getRuntime().storageAlignment / 4);
}

/**
 * Every parameter of a module in one GPU buffer and every gradient in another, in `namedParameters()` order,
 * each parameter starting at an aligned offset (a multiple of 64 floats; the padding stays zero). Made by
 * {@link flattenParameters}; zeroing the gradients, an optimizer step and the EMA update are then one dispatch
 * each. Buffers (running statistics) stay separate tensors.
 */
export class FlatParameters {
  /** The flat parameter buffer: each parameter's `.value` is a view into it. */
  readonly params: Tensor;
  /** The flat gradient buffer: each parameter's `.grad` is a view into it. */
  readonly grads: Tensor;
  /** The parameters' places, in `namedParameters()` order. */
  readonly segments: readonly FlatSegment[];
  /** Length of the flat buffers in elements (a multiple of 64). */
  readonly length: number;
  private disposed = false;

  /** Moves `module`'s parameters into new flat buffers (use {@link flattenParameters}). */
  constructor(
    /** The module whose parameters these are. */
    readonly module: Module,
  ) {
    if (module._flat) throw new Error('flattenParameters: this module is already flattened');
    const align = flatAlignmentElements();
    const segs: FlatSegment[] = [];
    let at = 0;
    for (const { name, param } of module.namedParameters()) {
      if (segs.some((s) => s.param === param)) throw new Error(`flattenParameters: parameter '${name}' is shared; shared parameters are not supported`);
      segs.push({ name, param, shape: param.shape, offset: at, size: param.size });
      at += Math.ceil(param.size / align) * align;
    }
    this.length = Math.max(at, align);
    this.segments = segs;
    this.params = keep(empty([this.length], 'float32', 'flat.params'));
    this.grads = keep(empty([this.length], 'float32', 'flat.grads'));
    zeroFlat(this.params, 'flat.init');
    zeroFlat(this.grads, 'flat.init');
    const rt = getRuntime();
    for (const s of segs) {
      const old = s.param.value;
      if (s.size > 0) rt.copy(old.storage.buffer, old.byteOffset, this.params.storage.buffer, s.offset * 4, s.size * 4, 'flat.init');
      const v = this.params.view(s.shape, s.offset * 4);
      s.param.replace(v);
      v.grad = keep(this.grads.view(s.shape, s.offset * 4));
      old.dispose();
    }
    module._flat = this;
  }

  /** Zeroes every gradient: one dispatch. */
  zeroGrad(): void {
    this.assertAlive('zeroGrad');
    zeroFlat(this.grads, 'zeroGrad');
    for (const s of this.segments) if (s.param.grad) s.param.grad.zeroed = true;
  }

  /** Flattens `other` (a deep copy of this module) with this layout; checks that the layouts agree. */
  flattenLike(other: Module): FlatParameters {
    const f = new FlatParameters(other);
    f.assertSameLayout(this, 'deepCopy');
    return f;
  }

  /** Throws unless `other`'s layout equals this one's, or (prefix = true) this one's is a prefix of it. */
  assertSameLayout(other: FlatParameters, op: string, prefix = false): void {
    const a = this.segments;
    const b = other.segments;
    if (prefix ? a.length > b.length : a.length !== b.length) {
      throw new Error(`${op}: the models have ${a.length} and ${b.length} parameters; their flat layouts differ`);
    }
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      const y = b[i];
      if (x.offset !== y.offset || x.size !== y.size || x.shape.length !== y.shape.length || x.shape.some((d, j) => d !== y.shape[j])) {
        throw new Error(`${op}: parameter ${i} is '${x.name}' ${shapeString(x.shape)} at ${x.offset} in one model and '${y.name}' ${shapeString(y.shape)} at ${y.offset} in the other`);
      }
    }
  }

  /** The segment of a parameter by name. */
  segment(name: string): FlatSegment {
    const s = this.segments.find((x) => x.name === name);
    if (!s) throw new Error(`FlatParameters: no parameter named '${name}'`);
    return s;
  }

  /** Throws an error naming `op` if the buffers were disposed. */
  assertAlive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the flat parameter buffers were disposed`);
  }

  /** Frees the flat buffers, every parameter view and the module's buffers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.segments) s.param.value.dispose();
    for (const { buffer } of this.module.namedBuffers()) if ('dispose' in buffer) buffer.dispose();
    this.params.dispose();
    this.grads.dispose();
    this.module._flat = null;
  }
}

/** Moves a model's parameters into one flat buffer (and their gradients into another); see FlatParameters. */
export function flattenParameters(module: Module): FlatParameters {
  return new FlatParameters(module);
}

/** The flat buffers of a flattened module; throws naming the fix otherwise. */
export function flatOf(module: Module, op: string): FlatParameters {
  const f = module._flat;
  if (!f) throw new Error(`${op}: the model's parameters are not in a flat buffer; call flattenParameters(model) first`);
  f.assertAlive(op);
  return f;
}

/**
 * BYOL's target update target ← τ·target + (1 − τ)·online, one dispatch over the flat buffers. The
 * target's flat layout must equal the online model's, or be a prefix of it (an online model whose extra
 * parameters, e.g. the predictor's, come last).
 */
export function emaUpdate(target: Module | FlatParameters, online: Module | FlatParameters, tau: Scalar): void {
  const check = (v: number) => {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`emaUpdate: tau must be in [0, 1], got ${v}`);
  };
  const t = target instanceof FlatParameters ? target : flatOf(target, 'emaUpdate');
  const o = online instanceof FlatParameters ? online : flatOf(online, 'emaUpdate');
  t.assertSameLayout(o, 'emaUpdate', true);
  const src = o.length === t.length ? o.params : o.params.view([t.length], o.params.byteOffset);
  const tauValue = stepScalar(tau, 'emaUpdate: tau');
  // τ checked now and before every replay; 1 − τ in float64 on the host, recomputed whenever it is read.
  perStep(() => check(tauValue.value));
  const oneMinus = StepValue.derived(() => 1 - tauValue.value);
  emaKernel(t.params, src, tauValue, oneMinus);
  if (src !== o.params) src.dispose();
}
