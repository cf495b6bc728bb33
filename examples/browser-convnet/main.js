// A small convnet trained in a plain web page on the engine's browser bundle (imported as 'byol-webgpu'
// through the page's import map). The result is also left in window.result for the tests.
import {
  AdaptiveAvgPool2d, AdamW, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential,
  accuracy, classifierStep, flattenParameters, fromArray, init, noGrad, scope,
} from 'byol-webgpu';

const SIZE = 16;
const CLASSES = ['horizontal', 'vertical', 'diagonal', 'block'];
const logEl = document.getElementById('log');
const log = (line) => { logEl.textContent += `${line}\n`; };

/** A seeded generator (mulberry32), so every visit trains on the same images. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `n` images [n, 1, 16, 16] with values in [0, 1] and their labels [n]. */
function strokes(n, seed) {
  const rand = random(seed);
  const x = new Float32Array(n * SIZE * SIZE);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES.length;
    y[i] = c;
    const img = x.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE);
    for (let p = 0; p < img.length; p++) img[p] = 0.3 * rand();
    const r = 2 + Math.floor(rand() * 8);
    const q = 2 + Math.floor(rand() * 8);
    for (let k = 0; k < 6; k++) {
      const [a, b] = [[r, q + k], [r + k, q], [r + k, q + k], [r + (k % 3), q + Math.floor(k / 3)]][c];
      img[a * SIZE + b] = 1;
    }
  }
  return { x, y };
}

function drawSamples(data) {
  const ctx = document.getElementById('samples').getContext('2d');
  const pixels = ctx.createImageData(SIZE, SIZE);
  for (let i = 0; i < 16; i++) {
    for (let p = 0; p < SIZE * SIZE; p++) {
      const v = 255 * data.x[i * SIZE * SIZE + p];
      pixels.data.set([v, v, v, 255], 4 * p);
    }
    ctx.putImageData(pixels, (i % 16) * SIZE, Math.floor(i / 16) * SIZE);
  }
}

async function main() {
  // A core adapter where there is one, else one of WebGPU's compatibility mode (OpenGL ES backends).
  const runtime = await init().catch(() => init({ featureLevel: 'compatibility' }));
  log(`adapter: ${runtime.report.name}`);
  const train = strokes(512, 1);
  const test = strokes(256, 2);
  drawSamples(train);

  const model = new Sequential(
    new Conv2d(1, 8, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2),
    new Conv2d(8, 16, 3, { padding: 1 }), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(),
    new Linear(16, CLASSES.length),
  );
  flattenParameters(model);
  const optimizer = new AdamW(model, { lr: 0.02, weightDecay: 0 });
  const trainStep = classifierStep(model, optimizer); // zeroGrad, forward, cross-entropy, backward, AdamW; replayed
  const batch = 32;
  const losses = [];
  for (let step = 1; step <= 80; step++) {
    const i = ((step - 1) * batch) % train.y.length;
    const loss = scope(() => {
      const x = fromArray(train.x.subarray(i * SIZE * SIZE, (i + batch) * SIZE * SIZE), [batch, 1, SIZE, SIZE]);
      const y = fromArray(train.y.subarray(i, i + batch), [batch], 'int32');
      return trainStep.run([x, y]);
    });
    if (step % 10 === 0) {
      losses.push(await loss.item());
      log(`step ${step}: loss ${losses.at(-1).toFixed(3)}`);
    }
    loss.dispose();
  }
  model.eval();
  const acc = noGrad(() => scope(() => accuracy(model.forward(fromArray(test.x, [test.y.length, 1, SIZE, SIZE])), fromArray(test.y, [test.y.length], 'int32'))));
  const testAccuracy = await acc.item();
  log(`test accuracy: ${(100 * testAccuracy).toFixed(1)} % (${CLASSES.length} classes, chance 25 %)`);
  window.result = { adapter: runtime.report.name, losses, testAccuracy };
}

main().catch((e) => {
  log(`error: ${e.message}`);
  window.result = { error: String(e.stack ?? e) };
});
