// An MLP classifier on Fashion-MNIST in Node: 784 → 256 → 10, AdamW, batches of 100, two epochs over the
// 60,000 training images. It reaches about 85 % test accuracy. Data: Debian's dataset-fashion-mnist,
// the data folder (`prepareDataset('fashion-mnist')` downloads it there), or BYOL_DATA_DIR.
import { AdamW, Linear, ReLU, Rng, Sequential, accuracy, classifierStep, flattenParameters, fromArray, init, noGrad, scope } from 'byol-webgpu';
import { openDataset, type OpenedDataset } from 'byol-webgpu/node';

await init(); // the machine's WebGPU adapter (Dawn)
const { train, test } = await openDataset('fashion-mnist');
async function pixels(ds: OpenedDataset['train']): Promise<{ x: Float32Array; y: Int32Array }> {
  const bytes = await ds.readImages([...Array(ds.length).keys()]);
  const x = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) x[i] = bytes[i]! / 255;
  return { x, y: ds.labels! };
}
const [tr, te] = [await pixels(train), await pixels(test!)];
const batch = (d: typeof tr, idx: number[]) => {
  const x = new Float32Array(idx.length * 784);
  idx.forEach((i, k) => x.set(d.x.subarray(i * 784, (i + 1) * 784), k * 784));
  return { x: fromArray(x, [idx.length, 784]), y: fromArray(idx.map((i) => d.y[i]!), [idx.length], 'int32') };
};

const model = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 10));
flattenParameters(model); // one GPU buffer for the weights, one for their gradients
const optimizer = new AdamW(model, { lr: 1e-3, weightDecay: 0 });
const step = classifierStep(model, optimizer); // zeroGrad, forward, cross-entropy, backward, AdamW; replayed
for (let epoch = 1; epoch <= 2; epoch++) {
  const order = new Rng(epoch).shuffle([...Array(tr.y.length).keys()]); // seeded: every run the same
  for (let i = 0; i < order.length; i += 100) {
    scope(() => { // frees every tensor made inside
      const { x, y } = batch(tr, order.slice(i, i + 100));
      step.run([x, y]);
    });
  }
}
model.eval();
const { x, y } = batch(te, [...Array(te.y.length).keys()]);
const acc = await noGrad(() => scope(() => accuracy(model.forward(x), y))).item();
console.log(`test accuracy ${(100 * acc).toFixed(2)} %`);
