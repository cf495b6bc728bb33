/**
 * A fixed-seed numerical self-test that runs the same engine code in the page and in Node: Philox uniform
 * numbers → a matmul, and → a conv2d. The browser test compares the page's arrays with Node's.
 */
import { conv2d, matmul, scope, uniform } from '../src/index.js';

export interface SelfTestResult {
  matmul: { shape: number[]; values: number[] };
  conv2d: { shape: number[]; values: number[] };
}

export async function runSelfTest(): Promise<SelfTestResult> {
  const [mm, cv] = scope(() => {
    const a = uniform([19, 37], 101, -1, 1);
    const b = uniform([37, 23], 102, -1, 1);
    const x = uniform([2, 3, 9, 11], 103, -1, 1);
    const w = uniform([5, 3, 3, 3], 104, -0.5, 0.5);
    const bias = uniform([5], 105, -0.1, 0.1);
    return [matmul(a, b), conv2d(x, w, bias, { stride: 2, padding: 1 })];
  });
  const out: SelfTestResult = {
    matmul: { shape: [...mm.shape], values: Array.from((await mm.data()) as Float32Array) },
    conv2d: { shape: [...cv.shape], values: Array.from((await cv.data()) as Float32Array) },
  };
  mm.dispose();
  cv.dispose();
  return out;
}
