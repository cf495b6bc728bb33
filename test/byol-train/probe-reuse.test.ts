/**
 * The fine-tuning's head reuses the probe the BYOL phase's evaluation fitted (src/byol/classifier-phase.ts,
 * probeHead): that is sound only if the two computations agree exactly. Here an encoder with trained-looking
 * running statistics is evaluated as the BYOL monitor does (a copy, batch norm re-estimated on the labeled
 * images, features, probe) and as the fine-tuning builds its network (a ResNet with a Linear fc, the encoder
 * loaded from its checkpoint bytes, batch norm re-estimated, features, probe): the probes must be the same
 * numbers, weight for weight.
 */
import { expect, it } from 'vitest';
import { engine, rand, seedNote } from '../helpers.js';
import { InMemoryImageDataset } from '../../src/data/dataset.js';
import { Generator } from '../../src/kernels/creation.js';
import { resnet18 } from '../../src/nn/resnet.js';
import { Linear } from '../../src/nn/layers.js';
import { encodeCheckpoint, loadModelState } from '../../src/nn/checkpoint.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';
import { ByolAugment, IDENTITY_VIEW, identityParams } from '../../src/byol/augment.js';
import { evaluateEncoder, recomputeBatchNorm, walkBatches } from '../../src/byol/evaluation.js';
import { presetConfig } from '../../src/byol/config.js';

it('fits, on the fine-tuning network, the very probe the BYOL evaluation fitted on the encoder', async () => {
  await engine();
  const [c, h, w, classes] = [3, 16, 16, 3];
  const images = (n: number, name: string) =>
    new InMemoryImageDataset(
      { name, height: h, width: w, channels: c, classNames: ['a', 'b', 'c'] },
      Uint8Array.from({ length: n * c * h * w }, () => Math.floor(256 * rand())),
      Int32Array.from({ length: n }, (_, i) => i % classes),
    );
  const data = { labeled: images(21, 'labeled'), test: images(13, 'test'), numClasses: classes };
  const prep = new ByolAugment({ size: h, views: [IDENTITY_VIEW] }, { mean: [0.5, 0.45, 0.4], std: [0.25, 0.25, 0.3] });
  const config = { ...presetConfig('smoke'), batch: 8 };
  const encoder = resnet18({ numClasses: null, width: 4, generator: new Generator(Math.floor(rand() * 1e9)) });
  // Running statistics of other images, as BYOL's augmented views leave them (the evaluations replace them).
  encoder.train(true);
  await walkBatches(images(16, 'views'), 8, (b) => void encoder.forward(prep.apply(b.gpu.pixels, b.shape, [Array.from({ length: b.shape.n }, () => identityParams(h, w))])[0]), async () => undefined);
  const monitor = await evaluateEncoder(encoder, data, prep, config);

  const model = resnet18({ numClasses: null, width: 4, generator: new Generator(0) });
  model.setModule('fc', new Linear(model.featureDim, classes, { generator: new Generator(1) }));
  const { tensors } = decodeSafetensors(await encodeCheckpoint({ model: encoder }), 'encoder');
  loadModelState(model, tensors, { strict: false });
  await recomputeBatchNorm(model, data.labeled, prep, config.batch);
  const head = await evaluateEncoder(model, data, prep, config, { knn: false, batchNorm: 'as-is' });

  expect(head.probe.lambda, seedNote).toBe(monitor.probe.lambda);
  expect(head.probe.accuracy, seedNote).toBe(monitor.probe.accuracy);
  expect(head.probe.loss, seedNote).toBe(monitor.probe.loss);
  expect(Array.from(head.probe.bias), seedNote).toEqual(Array.from(monitor.probe.bias));
  let differing = 0;
  monitor.probe.weight.forEach((v, i) => void (head.probe.weight[i] !== v && differing++));
  expect(differing, `weights that differ ${seedNote}`).toBe(0);
  // The probe is not trivial: it reads the features.
  expect(monitor.probe.weight.some((v) => v !== 0)).toBe(true);
  encoder.dispose();
  model.dispose();
}, 60_000);

