/**
 * Every public op given wrong shapes or dtypes throws an error naming the op and the shapes, before any GPU
 * work (the dispatch counter does not move).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { engine } from '../helpers.js';
import * as E from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

let f: (shape: number[]) => Tensor;
let i32: (shape: number[]) => Tensor;
beforeAll(async () => {
  await engine();
  f = (shape) => E.keep(E.zeros(shape));
  i32 = (shape) => E.keep(E.zeros(shape, 'int32'));
});

/** [name, call, what the message must contain] */
type Case = [string, () => unknown, (string | RegExp)[]];

function cases(): Case[] {
  return [
    ['add', () => E.add(f([3, 4]), f([5])), ['add', '[3, 4]', '[5]']],
    ['sub', () => E.sub(f([2, 3]), f([3, 2])), ['sub', '[2, 3]', '[3, 2]']],
    ['mul', () => E.mul(f([2]), f([3])), ['mul', '[2]', '[3]']],
    ['div', () => E.div(f([4, 1, 2]), f([3, 3])), ['div', '[4, 1, 2]', '[3, 3]']],
    ['maximum', () => E.maximum(f([2]), f([5])), ['maximum', '[2]', '[5]']],
    ['minimum', () => E.minimum(f([2]), f([5])), ['minimum', '[2]', '[5]']],
    ['pow', () => E.pow(f([2]), f([5])), ['pow', '[2]', '[5]']],
    ['equal', () => E.equal(f([2]), f([5])), ['equal', '[2]', '[5]']],
    ['where', () => E.where(f([2]), f([3]), f([4])), ['where', '[2]', '[3]', '[4]']],
    ['add int32', () => E.add(i32([3]), f([3])), ['add', 'int32', '[3]']],
    ['exp int32', () => E.exp(i32([2, 2])), ['exp', 'int32', '[2, 2]']],
    ['sum axis', () => E.sum(f([2, 3]), 2), ['sum', 'axis 2', 'rank 2']],
    ['max int32', () => E.max(i32([4])), ['max', 'int32', '[4]']],
    ['variance', () => E.variance(f([1, 3]), 0), ['variance', 'correction']],
    ['reshape', () => E.reshape(f([2, 3]), [4, 2]), ['reshape', '[2, 3]', '[4, 2]']],
    ['permute', () => E.permute(f([2, 3]), [0, 0]), ['permute', '[2, 3]']],
    ['transpose', () => E.transpose(f([4]), 0, 1), ['transpose', '[4]']],
    ['slice', () => E.slice(f([3, 4]), [2, 0], [2, 4]), ['slice', '[3, 4]']],
    ['concat', () => E.concat([f([2, 3]), f([2, 4])], 0), ['concat', '[2, 3]', '[2, 4]']],
    ['broadcastTo', () => E.broadcastTo(f([3, 2]), [3, 4]), ['expand', '[3, 2]', '[3, 4]']],
    ['matmul', () => E.matmul(f([3, 4]), f([5, 6])), ['matmul', '[3, 4]', '[5, 6]']],
    ['matmul rank', () => E.matmul(f([3]), f([3, 2])), ['matmul', '[3]', '[3, 2]']],
    ['conv2d channels', () => E.conv2d(f([1, 3, 8, 8]), f([4, 2, 3, 3])), ['conv2d', '[1, 3, 8, 8]', '[4, 2, 3, 3]']],
    ['conv2d rank', () => E.conv2d(f([3, 8, 8]), f([4, 3, 3, 3])), ['conv2d', '[3, 8, 8]']],
    ['batchNorm', () => E.batchNorm(f([2, 3, 4, 4]), f([4]), f([4]), { training: true }), ['batchNorm', '[2, 3, 4, 4]', '[4]']],
    ['maxPool2d', () => E.maxPool2d(f([2, 3]), { kernel: 3 }), ['maxPool2d', '[2, 3]']],
    ['globalAvgPool', () => E.globalAvgPool(f([2, 3])), ['globalAvgPool', '[2, 3]']],
    ['crossEntropy labels', () => E.crossEntropy(f([4, 10]), i32([5])), ['crossEntropy', '[4, 10]', '[5]']],
    ['crossEntropy dtype', () => E.crossEntropy(f([4, 10]), f([4])), ['crossEntropy', 'int32']],
    ['accuracy', () => E.accuracy(f([4, 10]), i32([3])), ['accuracy', '[4, 10]', '[3]']],
    ['l2Normalize', () => E.l2Normalize(f([4, 10]), 2), ['l2Normalize', '[4, 10]']],
    ['byolLoss', () => E.byolLoss(f([4, 8]), f([4, 9])), ['byolLoss', '[4, 8]', '[4, 9]']],
    ['mse', () => E.mse(f([4, 8]), f([3, 8])), ['[4, 8]', '[3, 8]']],
  ];
}

describe('bad inputs to public ops', () => {
  it('throw naming the op and the shapes, before any GPU work', async () => {
    const rt = await engine();
    const failures: string[] = [];
    for (const [name, call, want] of cases()) {
      await rt.sync();
      const before = rt.counters().dispatches;
      let message = '';
      try {
        call();
        failures.push(`${name}: did not throw`);
        continue;
      } catch (e) {
        message = (e as Error).message;
      }
      const after = rt.counters().dispatches;
      // Inputs are made by zeros() before the call: encoder clears, which dispatch nothing.
      if (after !== before) failures.push(`${name}: ${after - before} dispatch(es) before the error`);
      for (const w of want) {
        if (typeof w === 'string' ? !message.includes(w) : !w.test(message)) failures.push(`${name}: message "${message}" lacks ${w}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
