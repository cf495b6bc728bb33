/**
 * The deterministic inputs of the PyTorch parity fixtures (scripts/make_fixtures.py computes the same):
 * v[i] = sin(0.37·i + 0.11·k)·scale over the flat index, in float64, then rounded to float32.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { arr, relativeError, type Arr } from '../../src/autograd/reference.js';

export function formula(shape: readonly number[], k: number, scale = 1, quantize = false): Arr {
  const a = arr(shape);
  for (let i = 0; i < a.data.length; i++) {
    const v = Math.sin(0.37 * i + 0.11 * k) * scale;
    // Python's round() rounds halves to even; sin values never land on exact halves here.
    a.data[i] = quantize ? Math.round(v) : v;
  }
  return { shape: a.shape, data: Float64Array.from(Float32Array.from(a.data)) };
}

/** label[i] = (7·i + 3) mod classes. */
export function labelsFormula(n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (7 * i + 3) % classes);
}

export type FixtureOutput = { values: number[] } | { sum: number; abs_sum: number; head: number[]; count: number };

export function loadFixture<T>(name: string): { meta: Record<string, string>; cases: T[] } {
  const path = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Compares GPU values with a fixture output: normwise relative error under `tol` (summaries: sums and head). */
export function expectMatches(got: ArrayLike<number>, want: FixtureOutput, what: string, tol = 1e-4): void {
  if ('values' in want) {
    expect(got.length, what).toBe(want.values.length);
    expect(relativeError(got, want.values), what).toBeLessThan(tol);
    return;
  }
  expect(got.length, what).toBe(want.count);
  let sum = 0;
  let absSum = 0;
  for (let i = 0; i < got.length; i++) {
    sum += got[i];
    absSum += Math.abs(got[i]);
  }
  expect(Math.abs(sum - want.sum) / want.abs_sum, `${what} sum`).toBeLessThan(tol);
  expect(Math.abs(absSum - want.abs_sum) / want.abs_sum, `${what} |sum|`).toBeLessThan(tol);
  expect(relativeError(Array.from(got).slice(0, want.head.length), want.head), `${what} head`).toBeLessThan(tol);
}
