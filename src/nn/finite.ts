/**
 * Which tensors of a model (parameters, buffers such as batch norm's running statistics) and of its
 * optimizer's state hold NaN or ±Infinity. One counting dispatch per flat buffer and per buffer tensor, one
 * readback of the counts; only when a flat buffer holds a non-finite value is it read back, to name the
 * parameters in it.
 */
import { countNonFinite } from '../kernels/finite.js';
import type { Tensor } from '../tensor/tensor.js';
import type { FlatParameters } from './flat.js';
import { Counter, type Module } from './module.js';
import type { Optimizer } from './optim.js';

/** A tensor found holding NaN or infinite values. */
export interface NonFiniteTensor {
  /** The state-dict name (`online.encoder.bn1.running_var`), or `optimizer: <parameter>.<slot>`. */
  name: string;
  /** How many of its elements are NaN or ±Infinity. */
  count: number;
}

interface Checked {
  tensor: Tensor;
  /** For a flat buffer: its layout and the names of its segments; else the tensor's own name. */
  flat?: { layout: FlatParameters; names: (segment: string) => string };
  name: string;
}

/** The non-finite tensors of `model` and `optimizer`: parameters, then buffers, then optimizer state (empty when all are finite). */
export async function nonFiniteTensors(model: Module, optimizer: Optimizer | null = null): Promise<NonFiniteTensor[]> {
  const checked: Checked[] = [];
  const inFlat = new Set<unknown>();
  for (const [prefix, m] of model.namedModules()) {
    const f = m._flat;
    if (!f) continue;
    const at = prefix ? `${prefix}.` : '';
    checked.push({ tensor: f.params, name: `${at}(parameters)`, flat: { layout: f, names: (s) => `${at}${s}` } });
    for (const s of f.segments) inFlat.add(s.param);
  }
  for (const { name, param } of model.namedParameters()) if (!inFlat.has(param)) checked.push({ tensor: param.value, name });
  for (const { name, buffer } of model.namedBuffers()) {
    if (!(buffer instanceof Counter) && buffer.dtype === 'float32') checked.push({ tensor: buffer, name });
  }
  if (optimizer) {
    for (const [slot, t] of optimizer.stateBuffers()) {
      checked.push({ tensor: t, name: `optimizer: ${slot}`, flat: { layout: optimizer.flat, names: (s) => `optimizer: ${s}.${slot}` } });
    }
  }
  const counts = countNonFinite(checked.map((c) => c.tensor), 'nonFiniteTensors');
  const values = (await counts.data()) as Uint32Array;
  counts.dispose();
  const out: NonFiniteTensor[] = [];
  for (let i = 0; i < checked.length; i++) {
    if (values[i] === 0) continue;
    const c = checked[i];
    if (!c.flat) {
      out.push({ name: c.name, count: values[i] });
      continue;
    }
    const data = (await c.tensor.data()) as Float32Array;
    for (const s of c.flat.layout.segments) {
      let n = 0;
      for (let k = s.offset; k < s.offset + s.size; k++) if (!Number.isFinite(data[k])) n++;
      if (n) out.push({ name: c.flat.names(s.name), count: n });
    }
  }
  return out;
}
