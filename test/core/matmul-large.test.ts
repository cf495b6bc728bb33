import { expect, it } from 'vitest';
import { engine, f32, randomArr, seedNote, toTensor } from '../helpers.js';
import { matmul } from '../../src/autograd/ops.js';
import { relativeError } from '../../src/autograd/reference.js';

it('a 1024×1024 matmul of random matrices matches float64 within 1e-4', async () => {
  await engine();
  const n = 1024;
  const a = f32(randomArr([n, n]));
  const b = f32(randomArr([n, n]));
  const ta = toTensor(a);
  const tb = toTensor(b);
  const c = matmul(ta, tb);
  const got = await c.data();
  // float64 reference, i-k-j loop order for cache-friendly rows.
  const want = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = want.subarray(i * n, (i + 1) * n);
    for (let k = 0; k < n; k++) {
      const av = a.data[i * n + k];
      const brow = b.data.subarray(k * n, (k + 1) * n);
      for (let j = 0; j < n; j++) row[j] += av * brow[j];
    }
  }
  const err = relativeError(got, want);
  expect(err, seedNote).toBeLessThan(1e-4);
  // Element-wise too, against each row's scale: no single output may be off.
  let worst = 0;
  for (let i = 0; i < n * n; i += 1) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst / Math.sqrt(n)).toBeLessThan(1e-4);
  for (const t of [ta, tb, c]) t.dispose();
});
