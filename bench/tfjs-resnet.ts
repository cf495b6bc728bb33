/**
 * torchvision's ResNet-18 (ImageNet stem: 7×7/2 convolution + 3×3/2 max pool; BasicBlock [2, 2, 2, 2];
 * global average pooling; fc) built with TensorFlow.js layers (functional API), NHWC, for the
 * 'resnet18-step' / 'resnet18-infer' benchmark rows.
 *
 * Matched to PyTorch so that the same weights give the same outputs (the rows copy ours in):
 *  - convolutions without bias; PyTorch's symmetric padding as ZeroPadding2D(p) + 'valid' wherever
 *    TensorFlow's 'same' would pad asymmetrically (the stem's 7×7/2 and the 3×3/2 convolutions); 'same'
 *    for the 3×3/1 convolutions (pads 1 on every side, as PyTorch's padding=1);
 *  - batch normalization with momentum 0.9 (= torch's 0.1) and epsilon 1e-5;
 *  - max pool 3×3/2 with padding 1 as ZeroPadding2D(1) + 'valid' pooling (the input is a ReLU output ≥ 0,
 *    so zero padding equals PyTorch's −∞ padding);
 *  - downsample: 1×1/2 convolution + batch norm.
 */
import type { TF } from './backends.js';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;

export interface TfResnetOptions {
  /** Input side (square), default 32. */
  size?: number;
  numClasses?: number;
  width?: number;
}

/** Layer names follow torchvision's parameter names with '.' → '_' (conv1, layer1_0_conv1, fc, …). */
export function tfjsResnet18(tf: TF, options: TfResnetOptions = {}): LayersModel {
  const size = options.size ?? 32;
  const k = options.numClasses ?? 10;
  const w = options.width ?? 64;
  const L = tf.layers;
  const bn = (name: string) => L.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name });
  const conv = (x: SymbolicTensor, filters: number, kernel: number, stride: number, name: string): SymbolicTensor => {
    const pad = kernel === 1 ? 0 : (kernel - 1) / 2;
    if (stride === 1 || pad === 0) {
      return L.conv2d({ filters, kernelSize: kernel, strides: stride, padding: pad ? 'same' : 'valid', useBias: false, name }).apply(x) as SymbolicTensor;
    }
    const padded = L.zeroPadding2d({ padding: pad, name: `${name}_pad` }).apply(x) as SymbolicTensor;
    return L.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'valid', useBias: false, name }).apply(padded) as SymbolicTensor;
  };
  const relu = (x: SymbolicTensor, name: string) => L.reLU({ name }).apply(x) as SymbolicTensor;

  const input = tf.input({ shape: [size, size, 3], name: 'x' });
  let h = conv(input, w, 7, 2, 'conv1');
  h = bn('bn1').apply(h) as SymbolicTensor;
  h = relu(h, 'relu');
  h = L.zeroPadding2d({ padding: 1, name: 'maxpool_pad' }).apply(h) as SymbolicTensor;
  h = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'maxpool' }).apply(h) as SymbolicTensor;
  let inplanes = w;
  const stages: [number, number][] = [
    [w, 1],
    [2 * w, 2],
    [4 * w, 2],
    [8 * w, 2],
  ];
  stages.forEach(([planes, stride], s) => {
    for (let b = 0; b < 2; b++) {
      const p = `layer${s + 1}_${b}`;
      const st = b === 0 ? stride : 1;
      let y = conv(h, planes, 3, st, `${p}_conv1`);
      y = bn(`${p}_bn1`).apply(y) as SymbolicTensor;
      y = relu(y, `${p}_relu1`);
      y = conv(y, planes, 3, 1, `${p}_conv2`);
      y = bn(`${p}_bn2`).apply(y) as SymbolicTensor;
      let identity = h;
      if (st !== 1 || inplanes !== planes) {
        identity = conv(h, planes, 1, st, `${p}_downsample_0`);
        identity = bn(`${p}_downsample_1`).apply(identity) as SymbolicTensor;
      }
      h = relu(L.add({ name: `${p}_add` }).apply([y, identity]) as SymbolicTensor, `${p}_relu2`);
      inplanes = planes;
    }
  });
  h = L.globalAveragePooling2d({ name: 'avgpool' }).apply(h) as SymbolicTensor;
  const out = L.dense({ units: k, name: 'fc' }).apply(h) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'resnet18' });
}

/** Trainable parameters (convolution kernels, batch-norm gamma and beta, fc): 11,181,642 with 10 classes. */
export function trainableParameterCount(model: LayersModel): number {
  return model.trainableWeights.reduce((n, v) => n + v.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/** One named parameter of our model, as read back: torchvision's name and layout (OIHW, [out, in]). */
export interface TorchParam {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/**
 * Copies torchvision-layout parameters into the tfjs model: conv OIHW → HWIO, linear [out, in] → [in, out],
 * batch norm weight/bias → gamma/beta. Throws if a name or shape does not match.
 */
export function loadTorchParams(tf: TF, model: LayersModel, params: readonly TorchParam[]): void {
  for (const p of params) {
    const dot = p.name.lastIndexOf('.');
    const layerName = p.name.slice(0, dot).replace(/\./g, '_');
    const slot = p.name.slice(dot + 1);
    const layer = model.getLayer(layerName);
    const weights = layer.getWeights();
    let t;
    if (layer.getClassName() === 'Conv2D') {
      const [O, I, KH, KW] = p.shape;
      t = tf.tidy(() => tf.transpose(tf.tensor4d(p.data, [O!, I!, KH!, KW!]), [2, 3, 1, 0]));
      weights[0] = t;
    } else if (layer.getClassName() === 'Dense') {
      if (slot === 'weight') weights[0] = t = tf.tidy(() => tf.transpose(tf.tensor2d(p.data, [p.shape[0]!, p.shape[1]!])));
      else weights[1] = t = tf.tensor1d(p.data);
    } else if (layer.getClassName() === 'BatchNormalization') {
      t = tf.tensor1d(p.data);
      weights[slot === 'weight' ? 0 : 1] = t;
    } else throw new Error(`loadTorchParams: no rule for ${p.name} (layer ${layerName}, ${layer.getClassName()})`);
    layer.setWeights(weights);
    t.dispose();
  }
}
