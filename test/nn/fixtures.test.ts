/** Parity with PyTorch 1.13 on fixtures made by scripts/make_fixtures.py (inputs from test/nn/formula.ts). */
import { beforeAll, describe, it } from 'vitest';
import { batchNorm, conv2d, crossEntropy, maxPool2d } from '../../src/autograd/nn.js';
import { backward, requireGrad } from '../../src/autograd/tape.js';
import { fromArray, type Tensor } from '../../src/tensor/tensor.js';
import { engine, toTensor } from '../helpers.js';
import { expectMatches, formula, labelsFormula, loadFixture, type FixtureOutput } from './formula.js';

beforeAll(engine);

type Input = [number[], number, number];
const make = ([shape, k, scale]: Input, quantize = false) => toTensor(formula(shape, k, scale, quantize));
const dispose = (...ts: (Tensor | null | undefined)[]) => ts.forEach((t) => t?.dispose());

interface ConvCase {
  name: string;
  kernel: number;
  stride: number;
  padding: number;
  bias: boolean;
  inputs: { x: Input; w: Input; dy: Input; b?: Input };
  y_shape: number[];
  y: FixtureOutput;
  dx: FixtureOutput;
  dw: FixtureOutput;
  db?: FixtureOutput;
}

describe('conv2d matches PyTorch', () => {
  for (const c of loadFixture<ConvCase>('conv2d.json').cases) {
    it(c.name, async () => {
      const x = requireGrad(make(c.inputs.x));
      const w = requireGrad(make(c.inputs.w));
      const b = c.inputs.b ? requireGrad(make(c.inputs.b)) : null;
      const dy = make(c.inputs.dy);
      const y = conv2d(x, w, b, { stride: c.stride, padding: c.padding });
      expectMatches(await y.data(), c.y, 'y');
      backward(y, dy);
      expectMatches(await x.grad!.data(), c.dx, 'dx');
      expectMatches(await w.grad!.data(), c.dw, 'dw');
      if (b && c.db) expectMatches(await b.grad!.data(), c.db, 'db');
      dispose(x, w, b, dy, y);
    });
  }
});

interface BnCase {
  name: string;
  shape: number[];
  momentum: number;
  eps: number;
  y: FixtureOutput;
  dx: FixtureOutput;
  dgamma: FixtureOutput;
  dbeta: FixtureOutput;
  running_mean: FixtureOutput;
  running_var: FixtureOutput;
  y_eval_after_update: FixtureOutput;
}

const onePlus = (shape: number[], k: number, scale: number) => {
  const a = formula(shape, k, scale);
  return toTensor({ shape: a.shape, data: Float64Array.from(Float32Array.from(a.data.map((v) => 1 + v))) });
};

describe('batchNorm matches PyTorch', () => {
  for (const c of loadFixture<BnCase>('batchnorm.json').cases) {
    it(`${c.name} [${c.shape.join(', ')}] training, running stats, eval`, async () => {
      const C = c.shape[1];
      const x = requireGrad(make([c.shape, 1, 2]));
      const gamma = requireGrad(onePlus([C], 2, 0.5));
      const beta = requireGrad(make([[C], 3, 0.5]));
      const runningMean = make([[C], 5, 0.5]);
      const runningVar = onePlus([C], 6, 0.5);
      const dy = make([c.shape, 4, 1]);
      const y = batchNorm(x, gamma, beta, { training: true, runningMean, runningVar, momentum: c.momentum, eps: c.eps });
      expectMatches(await y.data(), c.y, 'y');
      expectMatches(await runningMean.data(), c.running_mean, 'running_mean');
      expectMatches(await runningVar.data(), c.running_var, 'running_var');
      backward(y, dy);
      expectMatches(await x.grad!.data(), c.dx, 'dx');
      expectMatches(await gamma.grad!.data(), c.dgamma, 'dgamma');
      expectMatches(await beta.grad!.data(), c.dbeta, 'dbeta');
      const yEval = batchNorm(x, gamma, beta, { training: false, runningMean, runningVar, eps: c.eps });
      expectMatches(await yEval.data(), c.y_eval_after_update, 'y eval');
      dispose(x, gamma, beta, runningMean, runningVar, dy, y, yEval);
    });
  }
});

interface PoolCase {
  name: string;
  shape: number[];
  kernel: number;
  stride: number;
  padding: number;
  quantize: boolean;
  inputs: { x: Input; dy: Input };
  y: FixtureOutput;
  dx: FixtureOutput;
}

describe('maxPool2d matches PyTorch', () => {
  for (const c of loadFixture<PoolCase>('maxpool.json').cases) {
    it(c.name, async () => {
      const x = requireGrad(make(c.inputs.x, c.quantize));
      const dy = make(c.inputs.dy);
      const y = maxPool2d(x, { kernel: c.kernel, stride: c.stride, padding: c.padding });
      expectMatches(await y.data(), c.y, 'y');
      backward(y, dy);
      expectMatches(await x.grad!.data(), c.dx, 'dx');
      dispose(x, dy, y);
    });
  }
});

interface CeCase {
  name: string;
  N: number;
  K: number;
  loss: number;
  dx: FixtureOutput;
}

describe('crossEntropy matches PyTorch', () => {
  for (const c of loadFixture<CeCase>('cross_entropy.json').cases) {
    it(c.name, async () => {
      const x = requireGrad(make([[c.N, c.K], 1, 3]));
      const labels = fromArray(labelsFormula(c.N, c.K));
      const loss = crossEntropy(x, labels);
      expectMatches(await loss.data(), { values: [c.loss] }, 'loss');
      backward(loss);
      expectMatches(await x.grad!.data(), c.dx, 'dx');
      dispose(x, labels, loss);
    });
  }
});
