/**
 * Byol.loss runs both views through each network in one pass (batch norm in two groups). Here it is held to
 * the two-pass composition it replaced (each network once per view, byolLoss(p1, z2) + byolLoss(p2, z1)) on
 * two identical models: the loss, every online parameter's gradient, and every buffer of both networks
 * (running statistics after view 1 then view 2, num_batches_tracked) agree to float32 rounding.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { byolLoss } from '../../src/autograd/nn.js';
import { add } from '../../src/autograd/ops.js';
import { relativeError } from '../../src/autograd/reference.js';
import { backward, noGrad } from '../../src/autograd/tape.js';
import { presetConfig } from '../../src/byol/config.js';
import { Byol } from '../../src/byol/model.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { engine, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

function twoPassLoss(byol: Byol, v1: Tensor, v2: Tensor): Tensor {
  const p1 = byol.online.forward(v1);
  const p2 = byol.online.forward(v2);
  const [z1, z2] = noGrad(() => [byol.target.forward(v1), byol.target.forward(v2)]);
  return add(byolLoss(p1, z2), byolLoss(p2, z1));
}

describe('BYOL loss in one pass over both views equals two passes', () => {
  for (const [stem, size, B, path] of [
    ['imagenet', 32, 3, 'auto'],
    ['small', 12, 5, 'auto'],
    ['imagenet', 24, 3, 'planes'],
  ] as const) {
    it(`${stem} stem, ${size}×${size}, batch ${B}, ${path} batch-norm path`, async () => {
      await withKernelOverrides({ batchNorm: { path: path === 'auto' ? undefined : path } }, async () => {
        const config = { stem, width: 8, byol: { ...presetConfig('smoke').byol, projectorHidden: 48, predictorHidden: 40, projectionDim: 24 } } as const;
        const joint = Byol.create(config, 5);
        const twoPass = Byol.create(config, 5);
        joint.train(true);
        twoPass.train(true);
        const v1 = toTensor(randomArr([B, 3, size, size]));
        const v2 = toTensor(randomArr([B, 3, size, size], -2, 1));
        const la = joint.loss(v1, v2);
        const lb = twoPassLoss(twoPass, v1, v2);
        expect(relativeError(await la.data(), await lb.data()), `loss ${seedNote}`).toBeLessThan(1e-5);
        backward(la);
        backward(lb);
        const pa = joint.online.namedParameters();
        const pb = twoPass.online.namedParameters();
        expect(pa.map((p) => p.name)).toEqual(pb.map((p) => p.name));
        const maxAbs = (a: ArrayLike<number>) => {
          let m = 0;
          for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]));
          return m;
        };
        const ga = await Promise.all(pa.map((p) => p.param.grad!.data()));
        const gb = await Promise.all(pb.map((p) => p.param.grad!.data()));
        const scale = Math.max(...gb.map(maxAbs));
        for (let i = 0; i < pa.length; i++) {
          if (maxAbs(gb[i]) < 1e-5 * scale) {
            // The biases of the Linear layers whose outputs only reach a training-mode batch norm (the heads'
            // first layers, and the projector's last through the predictor's first) get zero gradients up
            // to rounding: the normalization removes any shift of each group. Only smallness is comparable.
            expect(maxAbs(ga[i]) / scale, `grad of ${pa[i].name} ${seedNote}`).toBeLessThan(1e-5);
            expect(pa[i].name).toMatch(/^(projector\.[03]|predictor\.0)\.bias$/);
          } else expect(relativeError(ga[i], gb[i]), `grad of ${pa[i].name} ${seedNote}`).toBeLessThan(1e-4);
        }
        for (const net of ['online', 'target'] as const) {
          const ba = joint[net].namedBuffers();
          const bb = twoPass[net].namedBuffers();
          for (let i = 0; i < ba.length; i++) {
            const [a, b] = [ba[i].buffer, bb[i].buffer];
            if ('value' in a && 'value' in b) expect(a.value, `${net} ${ba[i].name}`).toBe(b.value);
            else if (!('value' in a) && !('value' in b)) {
              expect(relativeError(await a.data(), await b.data()), `${net} ${ba[i].name} ${seedNote}`).toBeLessThan(1e-5);
            } else throw new Error(`${net} ${ba[i].name}: buffer kinds differ`);
          }
          // Both views counted: two batches per step, as before.
          expect(ba.filter((e) => e.name.endsWith('num_batches_tracked')).every((e) => 'value' in e.buffer && e.buffer.value === 2)).toBe(true);
        }
        // The groups are restored: a later forward normalizes its whole batch.
        expect([...joint.online.namedModules()].every(([, m]) => !('groups' in m) || m.groups === 1)).toBe(true);
        for (const t of [v1, v2, la, lb]) t.dispose();
        joint.dispose();
        twoPass.dispose();
      });
    });
  }
});

describe('stacking the two views', () => {
  it('takes the augmentation’s views as they lie (one buffer, one after the other) without copying, and copies views that lie apart', async () => {
    const { ByolAugment } = await import('../../src/byol/augment.js');
    const { stackViews } = await import('../../src/byol/model.js');
    const { fromArray, getRuntime } = await import('../../src/index.js');
    const rt = getRuntime();
    const n = 4;
    const aug = new ByolAugment({ size: 16 }, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    const bytes = Uint8Array.from({ length: n * 3 * 20 * 20 }, (_, i) => (i * 37) % 256);
    const pixels = fromArray(new Uint32Array(bytes.buffer), [bytes.length / 4], 'uint32');
    const [v1, v2] = aug.views(pixels, { n, c: 3, h: 20, w: 20 }, 3, 5);
    const want = [...((await v1!.data()) as Float32Array), ...((await v2!.data()) as Float32Array)];
    const dispatchesBefore = rt.counters().dispatches;
    const x = stackViews(v1!, v2!);
    expect(x.storage).toBe(v1!.storage);
    expect(x.shape).toEqual([2 * n, 3, 16, 16]);
    expect(rt.counters().dispatches).toBe(dispatchesBefore);
    expect(Array.from((await x.data()) as Float32Array)).toEqual(want);
    // Views in separate buffers are copied into a new one.
    const a = fromArray(Float32Array.from(want.slice(0, want.length / 2)), [n, 3, 16, 16]);
    const b = fromArray(Float32Array.from(want.slice(want.length / 2)), [n, 3, 16, 16]);
    const y = stackViews(a, b);
    expect(y.storage).not.toBe(a.storage);
    expect(Array.from((await y.data()) as Float32Array)).toEqual(want);
    for (const t of [pixels, v1!, v2!, x, a, b, y]) t.dispose();
  });
});
