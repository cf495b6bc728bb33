/**
 * Where the page's images come from: a sample the demo server offers (IDX bytes, parsed with the same reader
 * Node uses), or the user's own files — STL-10 or CIFAR-10 binary files, or image files (decoded by the
 * browser) — read through the browser-safe byte sources. Everything ends as DatasetSplits for
 * semiSupervisedSplit and prepareData, as in Node.
 */
import {
  BlobByteSource,
  Cifar10BinaryDataset,
  CIFAR10_RECORD_BYTES,
  DatasetError,
  IdxDataset,
  ImageFolderDataset,
  MemoryByteSource,
  Rng,
  STL10_IMAGE_BYTES,
  StlBinaryDataset,
  Subset,
  parseCifarMeta,
  parseStlClassNames,
  type DatasetSplits,
  type DecodedImage,
  type ImageDataset,
  type ImageFile,
} from '../src/data/index.js';

export interface ServerDataset {
  id: string;
  name: string;
  classNames: string[];
  train: number;
  test: number;
}

export interface ServerDatasets {
  datasets: ServerDataset[];
  fashionMnist: string | null;
  hint: string | null;
}

export async function fetchServerDatasets(): Promise<ServerDatasets> {
  const res = await fetch('api/datasets');
  if (!res.ok) throw new Error(`GET api/datasets: ${res.status} ${await res.text()}`);
  return (await res.json()) as ServerDatasets;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A sample of a server dataset: `trainCount` training and `testCount` test images with labels. */
export async function loadServerSample(ds: ServerDataset, trainCount: number, testCount: number): Promise<DatasetSplits> {
  const part = async (split: 'train' | 'test', count: number): Promise<IdxDataset> => {
    const q = (p: string) => `sample/${ds.id}?split=${split}&part=${p}&count=${count}`;
    const [images, labels] = await Promise.all([fetchBytes(q('images')), fetchBytes(q('labels'))]);
    return IdxDataset.load({
      name: `${ds.id}/${split}[${count}]`,
      images: new MemoryByteSource(images, `${ds.id} ${split} images`),
      labels: new MemoryByteSource(labels, `${ds.id} ${split} labels`),
      classNames: ds.classNames,
    });
  };
  const [train, test] = await Promise.all([part('train', Math.min(trainCount, ds.train)), part('test', Math.min(testCount, ds.test))]);
  return { name: ds.id, train, test, unlabeled: null };
}

/** A seeded 80 / 20 split of one labeled dataset into train and test, for files that come without a test split. */
function splitOff(ds: ImageDataset, seed: number): { train: ImageDataset; test: ImageDataset } {
  const order = Int32Array.from({ length: ds.length }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const nTest = Math.max(1, Math.round(ds.length * 0.2));
  return {
    train: new Subset(ds, order.slice(nTest).sort(), { name: `${ds.name}[80%]` }),
    test: new Subset(ds, order.slice(0, nTest).sort(), { name: `${ds.name}[20%]` }),
  };
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;

/** A file with the folder path it came from (folder picker or a dropped folder). */
export interface PickedFile {
  file: File;
  path: string;
}

/** Files from a drop: folders are walked (webkitGetAsEntry), so a dropped folder of class folders works. */
export async function filesFromDrop(dt: DataTransfer): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const entries = [...dt.items].map((it) => it.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...dt.files].map((file) => ({ file, path: file.name }));
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
      out.push({ file, path: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

/** Decodes an image with the browser and resamples it (centre square crop) to side × side RGB. */
function browserDecoder(side: number) {
  return async (bytes: Uint8Array, file: string): Promise<DecodedImage> => {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    } catch (e) {
      throw new DatasetError(`the browser cannot decode this image (${(e as Error).message})`, { file });
    }
    const canvas = new OffscreenCanvas(side, side);
    const ctx = canvas.getContext('2d')!;
    const s = Math.min(bitmap.width, bitmap.height);
    ctx.drawImage(bitmap, (bitmap.width - s) / 2, (bitmap.height - s) / 2, s, s, 0, 0, side, side);
    bitmap.close();
    const rgba = ctx.getImageData(0, 0, side, side).data;
    const rgb = new Uint8Array(side * side * 3);
    for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
      rgb[q] = rgba[p]!;
      rgb[q + 1] = rgba[p + 1]!;
      rgb[q + 2] = rgba[p + 2]!;
    }
    return { width: side, height: side, channels: 3, pixels: rgb };
  };
}

const base = (path: string): string => path.split('/').pop()!;

/**
 * The user's files as dataset splits. Recognizes, in this order: STL-10 binary files (train_X.bin and
 * train_y.bin, optionally test_X/test_y and unlabeled_X), CIFAR-10 batch files (data_batch_N.bin,
 * test_batch.bin, or any file of 3,073-byte records), or images (one class per folder; images loose at
 * the top level form one class named after the drop).
 */
export async function loadUserFiles(picked: readonly PickedFile[], options: { imageSide: number; seed: number }): Promise<DatasetSplits> {
  if (picked.length === 0) throw new DatasetError('no files were given');
  const byName = new Map(picked.map((p) => [base(p.path), p.file]));
  const text = async (name: string): Promise<string | null> => (byName.has(name) ? await byName.get(name)!.text() : null);

  if (byName.has('train_X.bin') || byName.has('unlabeled_X.bin') || byName.has('test_X.bin')) {
    const namesText = await text('class_names.txt');
    const classNames = namesText !== null ? parseStlClassNames(namesText, 'class_names.txt') : undefined;
    const open = async (split: 'train' | 'test' | 'unlabeled'): Promise<StlBinaryDataset | null> => {
      const x = byName.get(`${split}_X.bin`);
      if (!x) return null;
      const y = split === 'unlabeled' ? undefined : byName.get(`${split}_y.bin`);
      if (split !== 'unlabeled' && !y) throw new DatasetError(`${split}_X.bin needs its labels, ${split}_y.bin (the kNN monitor needs labeled images)`, { file: x.name });
      return StlBinaryDataset.open({ name: `stl10/${split}`, images: new BlobByteSource(x), ...(y ? { labels: new BlobByteSource(y) } : {}), ...(classNames ? { classNames } : {}) });
    };
    const train = await open('train');
    if (!train) throw new DatasetError('STL-10: add train_X.bin and train_y.bin (labels for the kNN monitor and the labeled split)', { file: 'stl10' });
    const test = await open('test');
    const unlabeled = await open('unlabeled');
    if (test) return { name: 'stl10 (your files)', train, test, unlabeled };
    const s = splitOff(train, options.seed);
    return { name: 'stl10 (your files)', train: s.train, test: s.test, unlabeled };
  }

  const bins = picked.filter((p) => /\.bin$/i.test(p.path));
  if (bins.length > 0) {
    for (const b of bins) {
      if (b.file.size % CIFAR10_RECORD_BYTES !== 0) {
        const stl = b.file.size % STL10_IMAGE_BYTES === 0 ? ' (it has the size of STL-10 images: name it train_X.bin, test_X.bin or unlabeled_X.bin)' : '';
        throw new DatasetError(`not a CIFAR-10 batch file: ${b.file.size} bytes is no multiple of ${CIFAR10_RECORD_BYTES}${stl}`, { file: b.path });
      }
    }
    const metaText = await text('batches.meta.txt');
    const classNames = metaText !== null ? parseCifarMeta(metaText, 'batches.meta.txt') : undefined;
    const testFiles = bins.filter((b) => base(b.path) === 'test_batch.bin');
    const trainFiles = bins.filter((b) => base(b.path) !== 'test_batch.bin').sort((a, b) => a.path.localeCompare(b.path));
    const load = (name: string, files: readonly PickedFile[]) =>
      Cifar10BinaryDataset.load({ name, files: files.map((f) => new BlobByteSource(f.file, f.path)), ...(classNames ? { classNames } : {}) });
    if (trainFiles.length && testFiles.length) return { name: 'cifar10 (your files)', train: await load('cifar10/train', trainFiles), test: await load('cifar10/test', testFiles), unlabeled: null };
    const all = await load('cifar10', trainFiles.length ? trainFiles : testFiles);
    const s = splitOff(all, options.seed);
    return { name: 'cifar10 (your files)', train: s.train, test: s.test, unlabeled: null };
  }

  const images = picked.filter((p) => IMAGE_EXT.test(p.path) || p.file.type.startsWith('image/'));
  if (images.length === 0) {
    throw new DatasetError('no images, STL-10 or CIFAR-10 binary files among the files given (PNG, JPEG, WebP, GIF, BMP images are read)', { file: picked[0]!.path });
  }
  const files: ImageFile[] = images.map((p) => {
    const parts = p.path.split('/');
    return { className: parts.length >= 2 ? parts[parts.length - 2]! : 'images', source: new BlobByteSource(p.file, p.path) };
  });
  const all = await ImageFolderDataset.load({ name: 'your images', files, decode: browserDecoder(options.imageSide) });
  const s = splitOff(all, options.seed);
  return { name: `your images (${all.numClasses} class${all.numClasses === 1 ? '' : 'es'})`, train: s.train, test: s.test, unlabeled: null };
}
