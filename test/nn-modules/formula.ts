/**
 * The TypeScript twin of scripts/make_nn_fixtures.py's formulas:
 *   pformula(shape, k, scale, offset)[i] = offset + sin(0.37·i + 0.11·k)·scale (float64, then float32),
 * and the formula value of every state-dict entry (numbered k = 1, 2, ... in torchvision's order).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModelState } from '../../src/nn/checkpoint.js';
import type { Module } from '../../src/nn/module.js';
import type { SafeTensor } from '../../src/nn/safetensors.js';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';

export function pformula(shape: readonly number[], k: number, scale = 1, offset = 0): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + Math.sin(0.37 * i + 0.11 * k) * scale;
  return out;
}

/** offset + scale·(2·fract(sin(12.9898·i + 78.233·k)·43758.5453) − 1): hash-like values with no low-rank structure. */
export function hformula(shape: readonly number[], k: number, scale = 1, offset = 0): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = Math.sin(12.9898 * i + 78.233 * k) * 43758.5453;
    out[i] = offset + scale * (2.0 * (h - Math.floor(h)) - 1.0);
  }
  return out;
}

export type Formula = typeof pformula;

export function hformulaTensor(shape: readonly number[], k: number, scale = 1, offset = 0): Tensor {
  return fromArray(hformula(shape, k, scale, offset), shape);
}

export function pformulaTensor(shape: readonly number[], k: number, scale = 1, offset = 0): Tensor {
  return fromArray(pformula(shape, k, scale, offset), shape);
}

export function labelsFormula(n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (7 * i + 3) % classes);
}

export function paramValue(name: string, shape: readonly number[], k: number, f: Formula = hformula): SafeTensor {
  if (name.endsWith('num_batches_tracked')) return { dtype: 'I64', shape: [], data: BigInt64Array.of(0n) };
  let data: Float32Array;
  if (name.endsWith('running_mean')) data = f(shape, k, 0.1);
  else if (name.endsWith('running_var')) data = f(shape, k, 0.25, 1);
  else if (shape.length === 1 && name.endsWith('weight')) data = f(shape, k, 0.2, 1);
  else if (shape.length === 1) data = f(shape, k, 0.1);
  else {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    data = f(shape, k, Math.sqrt(6 / fanIn));
  }
  return { dtype: 'F32', shape: [...shape], data };
}

/** Sets every parameter and buffer of `model` to its formula value (strict: names must be torchvision's). */
export function setFormulaWeights(model: Module, f: Formula = hformula): void {
  const tensors = new Map<string, SafeTensor>();
  model.stateEntries().forEach(({ name, value }, i) => {
    const shape = 'shape' in value ? value.shape : [];
    tensors.set(name, paramValue(name, shape, i + 1, f));
  });
  loadModelState(model, tensors);
}

export function loadNnFixture<T>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/nn/${name}`, import.meta.url));
}

/** max |a − b| / max |b| (normwise relative error), in float64. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i] - b[i]);
    d = Number.isNaN(x) ? Infinity : Math.max(d, x);
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / Math.max(s, 1e-30);
}
