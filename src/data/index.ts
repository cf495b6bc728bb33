/**
 * The browser-safe part of the data layer: dataset interface and views, the format readers over byte
 * sources, splits and the batch loader. Node entry points additionally import node-files.ts, open.ts,
 * download.ts and image-codecs.ts.
 */
export { type ByteSource, BlobByteSource, MemoryByteSource, readAll, readExactly } from './byte-source.js';
export {
  CIFAR10_CLASSES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  Cifar10BinaryDataset,
  parseCifarMeta,
} from './cifar10.js';
export {
  ConcatDataset,
  type DatasetInfo,
  type DatasetSplits,
  type ImageDataset,
  InMemoryImageDataset,
  Subset,
  imageBytes,
} from './dataset.js';
export { DatasetError } from './errors.js';
export { FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxDataset, parseIdx, readIdx, type IdxArray } from './idx.js';
export { type DecodedImage, type ImageDecoder, type ImageFile, ImageFolderDataset } from './image-folder.js';
export { type Batch, BatchLoader, type BatchLoaderOptions } from './loader.js';
export { Rng, deriveSeed } from './prng.js';
export { type SemiSupervisedSplit, type SplitOptions, semiSupervisedSplit, stratifiedSample } from './splits.js';
export { STL10_CLASSES, STL10_FILES, type Stl10SplitFiles, STL10_IMAGE_BYTES, StlBinaryDataset, parseStlClassNames, parseStlFolds } from './stl10.js';
export { uploadBatch, type GpuBatch } from './gpu-batch.js';
