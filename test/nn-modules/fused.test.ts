/**
 * The fused batch norm + residual + ReLU op inside the modules (ResNet's stem and BasicBlock, the MLP head)
 * against the unfused composition of the same layers (batchNorm, add, relu as separate ops) on the same
 * weights and inputs: outputs, every parameter's gradient, the running statistics and num_batches_tracked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNorm } from '../../src/autograd/nn.js';
import { add, relu } from '../../src/autograd/ops.js';
import { backward, noGrad } from '../../src/autograd/tape.js';
import { getRuntime } from '../../src/tensor/engine.js';
import { Generator } from '../../src/kernels/creation.js';
import { withKernelOverrides } from '../../src/gpu/overrides.js';
import { BatchNorm1d, BatchNorm2d, Identity, Linear, type Sequential } from '../../src/nn/layers.js';
import { MLPHead } from '../../src/nn/mlp.js';
import type { Module } from '../../src/nn/module.js';
import { BasicBlock, resnet18, type ResNet } from '../../src/nn/resnet.js';
import { relativeError } from '../../src/autograd/reference.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { engine, randomArr, seedNote, toTensor } from '../helpers.js';

beforeAll(engine);

/** The layer as a plain batchNorm op (what BatchNormBase.forward did before the fusion). */
function bnPlain(bn: BatchNorm1d | BatchNorm2d, x: Tensor): Tensor {
  if (bn.training) bn.numBatchesTracked.value++;
  return batchNorm(x, bn.weight.value, bn.bias.value, {
    training: bn.training,
    runningMean: bn.runningMean,
    runningVar: bn.runningVar,
    momentum: bn.momentum,
    eps: bn.eps,
  });
}

function blockPlain(b: BasicBlock, x: Tensor): Tensor {
  const r1 = relu(bnPlain(b.bn1, b.conv1.forward(x)));
  const b2 = bnPlain(b.bn2, b.conv2.forward(r1));
  const ds = b.downsample;
  const identity = ds ? bnPlain(ds.at(1) as BatchNorm2d, ds.at(0).forward(x)) : x;
  return relu(add(b2, identity));
}

function resnetPlain(m: ResNet, x: Tensor): Tensor {
  let h = relu(bnPlain(m.bn1, m.conv1.forward(x)));
  if (!(m.maxpool instanceof Identity)) h = m.maxpool.forward(h);
  for (const layer of [m.layer1, m.layer2, m.layer3, m.layer4] as Sequential[]) {
    for (let i = 0; i < layer.length; i++) h = blockPlain(layer.at(i) as BasicBlock, h);
  }
  return m.fc.forward(m.flatten.forward(m.avgpool.forward(h)));
}

function mlpPlain(m: MLPHead, x: Tensor): Tensor {
  const h = relu(bnPlain(m.at(1) as BatchNorm1d, (m.at(0) as Linear).forward(x)));
  return (m.at(3) as Linear).forward(h);
}

async function compare(a: Module, b: Module, ya: Tensor, yb: Tensor, up: Tensor): Promise<void> {
  expect(relativeError(await ya.data(), await yb.data()), `output ${seedNote}`).toBeLessThan(1e-5);
  backward(ya, up);
  backward(yb, up);
  const pa = a.namedParameters();
  const pb = b.namedParameters();
  for (let i = 0; i < pa.length; i++) {
    const ga = await pa[i].param.grad!.data();
    const gb = await pb[i].param.grad!.data();
    expect(relativeError(ga, gb), `grad of ${pa[i].name} ${seedNote}`).toBeLessThan(1e-4);
  }
  const ba = a.namedBuffers();
  const bb = b.namedBuffers();
  for (let i = 0; i < ba.length; i++) {
    const [va, vb] = [ba[i].buffer, bb[i].buffer];
    if ('value' in va && 'value' in vb) {
      expect(va.value, ba[i].name).toBe(vb.value);
      expect(va.value).toBeGreaterThan(0);
    } else if (!('value' in va) && !('value' in vb)) {
      expect(relativeError(await va.data(), await vb.data()), `${ba[i].name} ${seedNote}`).toBeLessThan(1e-5);
    }
  }
}

describe('fused batch norm + residual + ReLU in the modules equals the unfused composition', () => {
  for (const path of ['auto', 'planes'] as const) {
    for (const smallStem of [false, true]) {
      it(`ResNet (width 8, ${smallStem ? 'small' : 'ImageNet'} stem), training, ${path} path`, async () => {
        await withKernelOverrides({ batchNorm: { path: path === 'auto' ? undefined : path } }, async () => {
          const fused = resnet18({ numClasses: 7, width: 8, smallStem, generator: new Generator(3) });
          const plain = fused.deepCopy();
          const N = 5;
          const shape = [N, 3, 19, 21];
          const x = toTensor(randomArr(shape));
          const up = toTensor(randomArr([N, 7]));
          const ya = fused.forward(x);
          const yb = resnetPlain(plain, x);
          await compare(fused, plain, ya, yb, up);
          // Eval mode uses the running statistics the training pass left.
          fused.eval();
          plain.eval();
          const ea = fused.forward(x);
          const eb = resnetPlain(plain, x);
          expect(relativeError(await ea.data(), await eb.data()), `eval output ${seedNote}`).toBeLessThan(1e-5);
          for (const t of [x, up, ya, yb, ea, eb]) t.dispose();
          fused.dispose();
          plain.dispose();
        });
      });
    }
  }

  for (const smallStem of [false, true]) {
    it(`ResNet (width 8, ${smallStem ? 'small' : 'ImageNet'} stem), eval mode without gradients: batch norm in the convolutions' epilogue, the same bits`, async (ctx) => {
      if (!getRuntime().device.features.has('subgroups')) ctx.skip();
      const m = resnet18({ numClasses: 7, width: 8, smallStem, generator: new Generator(5) });
      const x = toTensor(randomArr([6, 3, 19, 21]));
      m.train();
      m.forward(x).dispose(); // running statistics away from their initial values
      m.eval();
      const rt = getRuntime();
      const run = (fuse: boolean) =>
        withKernelOverrides({ conv2d: { forward: 'sg', fuseBatchNorm: fuse } }, () => {
          const before = rt.counters().dispatches;
          const y = noGrad(() => m.forward(x));
          return { y, dispatches: rt.counters().dispatches - before };
        });
      const fused = run(true);
      const plain = run(false);
      expect(await fused.y.data(), seedNote).toEqual(await plain.y.data());
      // One batch-norm dispatch fewer per convolution without a residual after it: the stem, the first of each
      // block's two (8) and the 3 shortcuts.
      expect(plain.dispatches - fused.dispatches).toBe(12);
      // With gradients recorded, the layers run as in training (conv2d, then batchNormAct).
      const taped = withKernelOverrides({ conv2d: { forward: 'sg' } }, () => {
        const before = rt.counters().dispatches;
        const y = m.forward(x);
        return { y, dispatches: rt.counters().dispatches - before };
      });
      expect(taped.dispatches).toBe(plain.dispatches);
      expect(await taped.y.data()).toEqual(await plain.y.data());
      for (const t of [x, fused.y, plain.y, taped.y]) t.dispose();
      m.dispose();
    });
  }

  it('MLP head, training', async () => {
    const fused = new MLPHead({ inFeatures: 13, hidden: 37, outFeatures: 11, generator: new Generator(4) });
    const plain = fused.deepCopy();
    const x = toTensor(randomArr([9, 13]));
    const up = toTensor(randomArr([9, 11]));
    const ya = fused.forward(x);
    const yb = mlpPlain(plain, x);
    await compare(fused, plain, ya, yb, up);
    for (const t of [x, up, ya, yb]) t.dispose();
    fused.dispose();
    plain.dispose();
  });
});
