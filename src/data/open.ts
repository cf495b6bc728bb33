/**
 * Opening datasets by name from the data folder, for Node entry points.
 *
 * Layout under the data folder (what `npm run data` leaves there):
 *   fashion-mnist/  train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-… (the .gz is optional)
 *   mnist/          the same four file names
 *   stl10_binary/   train_X.bin, train_y.bin, test_X.bin, test_y.bin, unlabeled_X.bin, class_names.txt
 *   cifar-10-batches-bin/  data_batch_1..5.bin, test_batch.bin, batches.meta.txt
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, Cifar10BinaryDataset, parseCifarMeta } from './cifar10.js';
import type { DatasetSplits } from './dataset.js';
import { DatasetError } from './errors.js';
import { FASHION_MNIST_CLASSES, IdxDataset } from './idx.js';
import { decodeImage } from './image-codecs.js';
import { ImageFolderDataset } from './image-folder.js';
import { FileByteSource, PathByteSource, listImageFolder } from './node-files.js';
import { STL10_FILES, StlBinaryDataset, parseStlClassNames } from './stl10.js';

/** The dataset a fresh machine trains on by default. */
export const DEFAULT_DATASET = 'fashion-mnist';

/** Dataset names `openDataset` knows, besides "folder:PATH". */
export const NAMED_DATASETS = ['fashion-mnist', 'mnist', 'stl10', 'cifar10'] as const;
/** A dataset `openDataset` knows by name. */
export type NamedDataset = (typeof NAMED_DATASETS)[number];

/**
 * What is wrong with a dataset spec as written (null when it names a dataset `openDataset` knows: one of
 * NAMED_DATASETS, or "folder:PATH" with a path); whether the files are there is for `openDataset` to say.
 */
export function datasetSpecProblem(spec: string): string | null {
  if ((NAMED_DATASETS as readonly string[]).includes(spec)) return null;
  if (spec.startsWith('folder:')) return spec.length > 'folder:'.length ? null : 'needs a path after "folder:"';
  return `must be one of ${NAMED_DATASETS.join(', ')} or folder:PATH, got "${spec}"`;
}

/** Sub-folder of the data folder each named dataset lives in. */
export const DATASET_FOLDERS: Record<NamedDataset, string> = {
  'fashion-mnist': 'fashion-mnist',
  mnist: 'mnist',
  stl10: 'stl10_binary',
  cifar10: 'cifar-10-batches-bin',
};

/** Folders outside the data folder where a system package may have installed a dataset. */
export const SYSTEM_DATASET_DIRS: Partial<Record<NamedDataset, readonly string[]>> = {
  // Debian's package dataset-fashion-mnist.
  'fashion-mnist': ['/usr/share/datasets/fashion-mnist'],
};

/** The files a named dataset's folder must contain (IDX files may be gzipped, with a .gz suffix). */
export const REQUIRED_FILES: Record<NamedDataset, readonly string[]> = {
  'fashion-mnist': ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
  mnist: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
  stl10: ['train_X.bin', 'train_y.bin', 'test_X.bin', 'test_y.bin', 'unlabeled_X.bin'],
  cifar10: [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE],
};

/** Where {@link openDataset} looks. */
export interface OpenDatasetOptions {
  /** Data folder; default {@link defaultDataDir}. */
  dataDir?: string;
  /** Replaces {@link SYSTEM_DATASET_DIRS} (e.g. to test the fallback against a temporary folder). */
  systemDirs?: Partial<Record<NamedDataset, readonly string[]>>;
}

/** An opened dataset; `close` releases the files it keeps open (STL-10). */
export interface OpenedDataset extends DatasetSplits {
  /** The folder it was read from. */
  readonly dir: string;
  /** Closes the files it keeps open. */
  close(): Promise<void>;
}

/** `$BYOL_DATA_DIR`, else `$XDG_CACHE_HOME/byol-webgpu/data`, else `~/.cache/byol-webgpu/data`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BYOL_DATA_DIR) return env.BYOL_DATA_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'byol-webgpu', 'data');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Path of `name` in `dir`, preferring the gzipped copy; null if neither exists. */
async function findIdx(dir: string, name: string): Promise<string | null> {
  for (const candidate of [`${name}.gz`, name]) if (await isFile(join(dir, candidate))) return join(dir, candidate);
  return null;
}

async function hasRequiredFiles(name: NamedDataset, dir: string): Promise<boolean> {
  const idx = name === 'fashion-mnist' || name === 'mnist';
  for (const file of REQUIRED_FILES[name]) {
    if (!(idx ? (await findIdx(dir, file)) !== null : await isFile(join(dir, file)))) return false;
  }
  return true;
}

/**
 * The folder holding a named dataset: its folder in the data folder if complete, else the first complete
 * system folder; null if there is none. Only checks that the files exist.
 */
export async function locateDataset(name: NamedDataset, options: OpenDatasetOptions = {}): Promise<string | null> {
  const candidates = [join(options.dataDir ?? defaultDataDir(), DATASET_FOLDERS[name]), ...((options.systemDirs ?? SYSTEM_DATASET_DIRS)[name] ?? [])];
  for (const dir of candidates) if (await hasRequiredFiles(name, dir)) return dir;
  return null;
}

/** Opens and validates a named dataset stored in `dir`. */
export async function openDatasetDir(name: NamedDataset, dir: string): Promise<OpenedDataset> {
  const noop = async (): Promise<void> => undefined;
  switch (name) {
    case 'fashion-mnist':
    case 'mnist': {
      const classNames = name === 'fashion-mnist' ? FASHION_MNIST_CLASSES : undefined;
      const load = async (split: 'train' | 't10k'): Promise<IdxDataset> => {
        const images = (await findIdx(dir, `${split}-images-idx3-ubyte`))!;
        const labels = (await findIdx(dir, `${split}-labels-idx1-ubyte`))!;
        return IdxDataset.load({
          name: `${name}/${split === 'train' ? 'train' : 'test'}`,
          images: new PathByteSource(images),
          labels: new PathByteSource(labels),
          ...(classNames ? { classNames } : {}),
        });
      };
      return { name, dir, train: await load('train'), test: await load('t10k'), unlabeled: null, close: noop };
    }
    case 'cifar10': {
      const metaPath = join(dir, 'batches.meta.txt');
      const classNames = (await isFile(metaPath)) ? parseCifarMeta(await readFile(metaPath, 'utf8'), metaPath) : undefined;
      const load = (split: string, files: readonly string[]): Promise<Cifar10BinaryDataset> =>
        Cifar10BinaryDataset.load({ name: `cifar10/${split}`, files: files.map((f) => new PathByteSource(join(dir, f))), ...(classNames ? { classNames } : {}) });
      return { name, dir, train: await load('train', CIFAR10_TRAIN_FILES), test: await load('test', [CIFAR10_TEST_FILE]), unlabeled: null, close: noop };
    }
    case 'stl10': {
      const namesPath = join(dir, 'class_names.txt');
      const classNames = (await isFile(namesPath)) ? parseStlClassNames(await readFile(namesPath, 'utf8'), namesPath) : undefined;
      const opened: FileByteSource[] = [];
      const close = async (): Promise<void> => {
        await Promise.all(opened.map((f) => f.close()));
      };
      const load = async (split: keyof typeof STL10_FILES): Promise<StlBinaryDataset> => {
        const files = STL10_FILES[split];
        const images = await FileByteSource.open(join(dir, files.images));
        opened.push(images);
        return StlBinaryDataset.open({
          name: `stl10/${split}`,
          images,
          ...(files.labels !== null ? { labels: new PathByteSource(join(dir, files.labels)) } : {}),
          ...(classNames ? { classNames } : {}),
        });
      };
      try {
        return { name, dir, train: await load('train'), test: await load('test'), unlabeled: await load('unlabeled'), close };
      } catch (err) {
        await close();
        throw err;
      }
    }
  }
}

/**
 * Opens a dataset by spec: "fashion-mnist", "mnist", "stl10", "cifar10" (from the data folder; Fashion-MNIST
 * also from a system package), or "folder:PATH" — PATH holding one sub-folder per class, or "train" and
 * optionally "test" folders that each do.
 */
export async function openDataset(spec: string = DEFAULT_DATASET, options: OpenDatasetOptions = {}): Promise<OpenedDataset> {
  if (spec.startsWith('folder:')) return openImageFolder(spec.slice('folder:'.length));
  const name = NAMED_DATASETS.find((n) => n === spec);
  if (name === undefined) {
    throw new DatasetError(`unknown dataset "${spec}"; expected one of ${NAMED_DATASETS.join(', ')} or folder:PATH`);
  }
  const dir = await locateDataset(name, options);
  if (dir === null) {
    const where = join(options.dataDir ?? defaultDataDir(), DATASET_FOLDERS[name]);
    const hint = name === 'mnist' ? 'place the four IDX files there' : `run \`npm run data -- ${name}\``;
    throw new DatasetError(`dataset ${name} not found (looked in ${where}); ${hint}`);
  }
  return openDatasetDir(name, dir);
}

async function openImageFolder(path: string): Promise<OpenedDataset> {
  const load = async (dir: string, name: string, classNames?: readonly string[]): Promise<ImageFolderDataset> =>
    ImageFolderDataset.load({ name, files: await listImageFolder(dir), decode: decodeImage, ...(classNames ? { classNames } : {}) });
  const noop = async (): Promise<void> => undefined;
  if (await isDirectory(join(path, 'train'))) {
    const train = await load(join(path, 'train'), `folder:${path}/train`);
    const testDir = join(path, 'test');
    // The test split uses the training split's class numbering.
    const test = (await isDirectory(testDir)) ? await load(testDir, `folder:${path}/test`, train.classNames) : null;
    return { name: `folder:${path}`, dir: path, train, test, unlabeled: null, close: noop };
  }
  return { name: `folder:${path}`, dir: path, train: await load(path, `folder:${path}`), test: null, unlabeled: null, close: noop };
}
