/**
 * The Node-only part of the public API (`byol-webgpu/node`): datasets opened from files and folders on disk
 * (Fashion-MNIST, MNIST, CIFAR-10, STL-10, folders of PNG and JPEG images), downloads of the official
 * releases, and checkpoint files written atomically. Everything else is in the main entry (`byol-webgpu`),
 * which runs in Node and in browsers; both entries share one engine.
 * @module byol-webgpu/node
 */
export {
  openDataset,
  openDatasetDir,
  locateDataset,
  defaultDataDir,
  DEFAULT_DATASET,
  NAMED_DATASETS,
  DATASET_FOLDERS,
  SYSTEM_DATASET_DIRS,
  REQUIRED_FILES,
  type NamedDataset,
  type OpenDatasetOptions,
  type OpenedDataset,
} from './data/open.js';
export {
  prepareDataset,
  DOWNLOADABLE_DATASETS,
  RELEASES,
  type DownloadableDataset,
  type DownloadOptions,
  type DownloadProgress,
  type PrepareOptions,
  type PreparedDataset,
  type RemoteFile,
  type RemoteRelease,
} from './data/download.js';
export { FileByteSource, PathByteSource, listImageFolder } from './data/node-files.js';
export { decodeImage } from './data/image-codecs.js';
export { writeFileAtomic, saveCheckpointFile, readCheckpointFile, loadCheckpointFile } from './nn/checkpoint-node.js';
