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
import { batchNormTuning } from '../../src/kernels/batchnorm.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { engine, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

function twoPassLoss(byol: Byol, v1: Tensor, v2: Tensor): Tensor {
  const p1 = byol.online.forward(v1);
  const p2 = byol.online.forward(v2);
  const [z1, z2] = noGrad(() => [byol.target.forward(v1), byol.target.forward(v2)]);
  return add(byolLoss(p1, z2), byolLoss(p2, z1));
}

const defaults = { ...batchNormTuning };

describe('BYOL loss in one pass over both views equals two passes', () => {
  for (const [stem, size, B, path] of [
    ['imagenet', 32, 3, 'auto'],
    ['small', 12, 5, 'auto'],
    ['imagenet', 24, 3, 'planes'],
  ] as const) {
    it(`${stem} stem, ${size}×${size}, batch ${B}, ${path} batch-norm path`, async () => {
      Object.assign(batchNormTuning, defaults, { path });
      try {
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
      } finally {
        Object.assign(batchNormTuning, defaults);
      }
    });
  }
});
