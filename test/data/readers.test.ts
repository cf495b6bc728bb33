import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobByteSource, MemoryByteSource } from '../../src/data/byte-source.js';
import { CIFAR10_CLASSES, Cifar10BinaryDataset } from '../../src/data/cifar10.js';
import { ConcatDataset, InMemoryImageDataset, Subset } from '../../src/data/dataset.js';
import { DatasetError } from '../../src/data/errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxDataset } from '../../src/data/idx.js';
import { decodeImage, jpegComponents } from '../../src/data/image-codecs.js';
import { ImageFolderDataset } from '../../src/data/image-folder.js';
import { FileByteSource, PathByteSource, listImageFolder } from '../../src/data/node-files.js';
import { openDataset } from '../../src/data/open.js';
import { STL10_IMAGE_BYTES, StlBinaryDataset, parseStlFolds } from '../../src/data/stl10.js';
import { cifarFile, gzip, idxFile, jpegFile, noise, pngFile, stlImagesFile, tempDir } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

function write(name: string, bytes: Uint8Array): string {
  const path = join(tmp.dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** Expects `promise` to reject with a DatasetError whose message contains every fragment. */
async function expectDatasetError(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  for (const fragment of fragments) expect((err as Error).message).toContain(fragment);
}

describe('IDX reader', () => {
  const n = 7;
  const pixels = noise(n * 5 * 4, 1);
  const labels = Uint8Array.from([3, 0, 9, 1, 1, 4, 2]);
  const images = idxFile(IDX_IMAGES_MAGIC, [n, 5, 4], pixels);
  const labelFile = idxFile(IDX_LABELS_MAGIC, [n], labels);

  for (const gzipped of [false, true]) {
    it(`round-trips pixels and labels (${gzipped ? 'gzipped' : 'plain'})`, async () => {
      const suffix = gzipped ? '.gz' : '';
      const imagesPath = write(`idx${suffix}/images${suffix}`, gzipped ? gzip(images) : images);
      const labelsPath = write(`idx${suffix}/labels${suffix}`, gzipped ? gzip(labelFile) : labelFile);
      const ds = await IdxDataset.load({ name: 'idx', images: new PathByteSource(imagesPath), labels: new PathByteSource(labelsPath) });
      expect([ds.length, ds.channels, ds.height, ds.width, ds.numClasses]).toEqual([n, 1, 5, 4, 10]);
      expect(Array.from(ds.labels!)).toEqual(Array.from(labels));
      expect(await ds.readImages([0, 1, 2, 3, 4, 5, 6])).toEqual(pixels);
      expect(await ds.readImages([6, 2])).toEqual(Uint8Array.from([...pixels.subarray(120, 140), ...pixels.subarray(40, 60)]));
    });
  }

  it('rejects a wrong magic number, naming the file and both numbers', async () => {
    const path = write('idx-bad/magic', idxFile(0x00000802, [2, 2], new Uint8Array(4)));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(path) }), path, '0x00000802', 'expected 0x00000803');
  });

  it('rejects a truncated file with expected and actual sizes', async () => {
    const path = write('idx-bad/truncated', images.subarray(0, images.length - 10));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(path) }), path, `${images.length} bytes`, `${images.length - 10} bytes`, 'truncated');
  });

  it('rejects a file with trailing bytes', async () => {
    const path = write('idx-bad/long', Uint8Array.from([...images, 1, 2]));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(path) }), path, `expected ${images.length} bytes`, `${images.length + 2} bytes`);
  });

  it('checks absurd header dimensions against the file size before allocating', async () => {
    const path = write('idx-bad/absurd', idxFile(IDX_IMAGES_MAGIC, [0xffffffff, 0xffffffff, 0xffffffff], new Uint8Array(8)));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(path) }), path, 'over the limit of 2147483647 bytes per IDX file');
    const big = write('idx-bad/big', idxFile(IDX_IMAGES_MAGIC, [1000, 28, 28], new Uint8Array(8)));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(big) }), big, 'expected 784016 bytes', 'is 24 bytes');
  });

  it('rejects garbage and corrupt gzip data', async () => {
    const garbage = write('idx-bad/garbage', noise(1000, 9));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(garbage) }), garbage, 'magic');
    const corrupt = gzip(images);
    corrupt.fill(0x55, 20, 60);
    const path = write('idx-bad/corrupt.gz', corrupt);
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(path) }), path);
    const empty = write('idx-bad/empty', new Uint8Array(0));
    await expectDatasetError(IdxDataset.load({ name: 'x', images: new PathByteSource(empty) }), empty, '0 bytes');
  });

  it('rejects a label file whose count differs from the images', async () => {
    const imagesPath = write('idx-bad/i', images);
    const labelsPath = write('idx-bad/l', idxFile(IDX_LABELS_MAGIC, [n - 1], labels.subarray(1)));
    await expectDatasetError(
      IdxDataset.load({ name: 'x', images: new PathByteSource(imagesPath), labels: new PathByteSource(labelsPath) }),
      labelsPath,
      `${n - 1}`,
      `${n}`,
    );
  });

  it('reads from a Blob (the browser path)', async () => {
    const ds = await IdxDataset.load({ name: 'blob', images: new BlobByteSource(new Blob([gzip(images)]), 'images.gz'), labels: new MemoryByteSource(labelFile, 'labels') });
    expect(await ds.readImages([1])).toEqual(pixels.subarray(20, 40));
  });
});

describe('CIFAR-10 reader', () => {
  const counts = [3, 2];
  const labels = [[0, 9, 5], [7, 2]];
  const pixels = counts.map((c, k) => noise(c * 3072, 10 + k));

  it('round-trips pixels and labels across batch files', async () => {
    const files = counts.map((_, k) => new PathByteSource(write(`cifar/data_batch_${k + 1}.bin`, cifarFile(labels[k]!, pixels[k]!))));
    const ds = await Cifar10BinaryDataset.load({ name: 'cifar', files });
    expect([ds.length, ds.channels, ds.height, ds.width]).toEqual([5, 3, 32, 32]);
    expect(ds.classNames).toEqual(CIFAR10_CLASSES);
    expect(Array.from(ds.labels!)).toEqual([0, 9, 5, 7, 2]);
    expect(await ds.readImages([0, 1, 2, 3, 4])).toEqual(Uint8Array.from([...pixels[0]!, ...pixels[1]!]));
    expect(await ds.readImages([4])).toEqual(pixels[1]!.subarray(3072));
  });

  it('rejects a wrong-size file naming expected and actual sizes', async () => {
    const bytes = cifarFile(labels[0]!, pixels[0]!);
    const path = write('cifar-bad/short.bin', bytes.subarray(0, bytes.length - 1));
    await expectDatasetError(Cifar10BinaryDataset.load({ name: 'x', files: [new PathByteSource(path)] }), path, 'multiple of 3073', `${bytes.length - 1} bytes`);
    const empty = write('cifar-bad/empty.bin', new Uint8Array(0));
    await expectDatasetError(Cifar10BinaryDataset.load({ name: 'x', files: [new PathByteSource(empty)] }), empty, '0 bytes');
  });

  it('rejects garbage of the right size (bad labels)', async () => {
    const path = write('cifar-bad/garbage.bin', noise(3 * 3073, 3));
    await expectDatasetError(Cifar10BinaryDataset.load({ name: 'x', files: [new PathByteSource(path)] }), path, 'label', 'expected 0–9');
  });
});

describe('STL-10 reader', () => {
  const n = 3;
  // Image k: channel c at (y, x) is x + 97·c + k — a gradient along x only, so a transposition shows.
  const chw = new Uint8Array(n * STL10_IMAGE_BYTES);
  for (let k = 0; k < n; k++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) chw[k * STL10_IMAGE_BYTES + c * 9216 + y * 96 + x] = (x + 97 * c + k) & 0xff;
    }
  }

  it('reads column-major images as row-major CHW (gradient along x)', async () => {
    const imagesPath = write('stl/train_X.bin', stlImagesFile(chw));
    const labelsPath = write('stl/train_y.bin', Uint8Array.from([1, 10, 4]));
    const images = await FileByteSource.open(imagesPath);
    try {
      const ds = await StlBinaryDataset.open({ name: 'stl', images, labels: new PathByteSource(labelsPath) });
      expect([ds.length, ds.channels, ds.height, ds.width]).toEqual([3, 3, 96, 96]);
      expect(Array.from(ds.labels!)).toEqual([0, 9, 3]);
      const all = await ds.readImages([0, 1, 2]);
      expect(all).toEqual(chw);
      // Row 50 of image 0's red channel runs 0, 1, 2, … along x; column 50 is constant.
      expect(Array.from(all.subarray(50 * 96, 50 * 96 + 4))).toEqual([0, 1, 2, 3]);
      expect(all[10 * 96 + 50]).toBe(50);
      expect(await ds.readImages([2, 0])).toEqual(Uint8Array.from([...chw.subarray(2 * STL10_IMAGE_BYTES), ...chw.subarray(0, STL10_IMAGE_BYTES)]));
    } finally {
      await images.close();
    }
  });

  it('rejects wrong sizes and bad labels, naming the file', async () => {
    const imagesPath = write('stl-bad/X.bin', stlImagesFile(chw).subarray(0, 2 * STL10_IMAGE_BYTES + 5));
    await expectDatasetError(StlBinaryDataset.open({ name: 'x', images: new PathByteSource(imagesPath) }), imagesPath, 'multiple of 27648', `${2 * STL10_IMAGE_BYTES + 5} bytes`);
    const goodImages = new PathByteSource(write('stl-bad/X2.bin', stlImagesFile(chw)));
    const shortLabels = write('stl-bad/y-short.bin', Uint8Array.from([1, 2]));
    await expectDatasetError(StlBinaryDataset.open({ name: 'x', images: goodImages, labels: new PathByteSource(shortLabels) }), shortLabels, 'expected 3 bytes', '2 bytes');
    const badLabels = write('stl-bad/y-bad.bin', Uint8Array.from([1, 0, 2]));
    await expectDatasetError(StlBinaryDataset.open({ name: 'x', images: goodImages, labels: new PathByteSource(badLabels) }), badLabels, 'label of image 1 is 0');
  });

  it('reports a file that shrank after opening as truncated', async () => {
    const bytes = stlImagesFile(chw);
    const source = new MemoryByteSource(bytes, 'shrinking');
    const ds = await StlBinaryDataset.open({ name: 'x', images: source });
    source.read = async (offset, length) => bytes.subarray(offset, Math.min(offset + length, bytes.length - 100));
    await expectDatasetError(ds.readImages([2]), 'shrinking', 'truncated');
  });

  it('parses fold indices', () => {
    expect(parseStlFolds('0 2 4\n1 3\n', 'folds', 5).map((f) => Array.from(f))).toEqual([[0, 2, 4], [1, 3]]);
    expect(() => parseStlFolds('0 9\n', 'folds', 5)).toThrow(DatasetError);
  });
});

describe('image-folder reader', () => {
  const w = 6;
  const h = 4;
  const rgb = (seed: number): Uint8Array => noise(w * h * 3, seed);
  const toChw = (hwc: Uint8Array, c: number): Uint8Array => {
    const out = new Uint8Array(hwc.length);
    for (let p = 0; p < w * h; p++) for (let k = 0; k < c; k++) out[k * w * h + p] = hwc[p * c + k]!;
    return out;
  };

  it('round-trips PNG pixels and labels exactly, classes sorted by folder name', async () => {
    const root = join(tmp.dir, 'png');
    const a0 = rgb(1), a1 = rgb(2), b0 = rgb(3);
    write('png/zebra/a.png', pngFile(w, h, 3, b0));
    write('png/ant/1.png', pngFile(w, h, 3, a0));
    write('png/ant/2.PNG', pngFile(w, h, 3, a1));
    write('png/ant/notes.txt', new TextEncoder().encode('ignored'));
    const ds = await ImageFolderDataset.load({ name: 'png', files: await listImageFolder(root), decode: decodeImage });
    expect(ds.classNames).toEqual(['ant', 'zebra']);
    expect([ds.length, ds.channels, ds.height, ds.width]).toEqual([3, 3, h, w]);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1]);
    expect(await ds.readImages([0, 1, 2])).toEqual(Uint8Array.from([...toChw(a0, 3), ...toChw(a1, 3), ...toChw(b0, 3)]));
  });

  it('reads greyscale PNGs as one channel', async () => {
    const grey = noise(w * h, 5);
    write('grey/only/x.png', pngFile(w, h, 1, grey));
    const opened = await openDataset(`folder:${join(tmp.dir, 'grey')}`);
    expect(opened.train.channels).toBe(1);
    expect(await opened.train.readImages([0])).toEqual(grey);
  });

  it('decodes JPEGs as the decoder does, close to the encoded pixels', async () => {
    const src = rgb(7);
    const bytes = jpegFile(w, h, src);
    expect(jpegComponents(bytes)).toBe(3);
    write('jpg/cat/0.jpg', bytes);
    const ds = await ImageFolderDataset.load({ name: 'jpg', files: await listImageFolder(join(tmp.dir, 'jpg')), decode: decodeImage });
    const reference = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false }).data;
    expect(await ds.readImages([0])).toEqual(toChw(reference, 3));
  });

  it('names the odd file, its size/mode and the expected one', async () => {
    write('mixed/a/0.png', pngFile(w, h, 3, rgb(1)));
    const odd = write('mixed/b/0.png', pngFile(w + 1, h, 3, noise((w + 1) * h * 3, 1)));
    write('mixed/c/0.png', pngFile(w, h, 1, noise(w * h, 1)));
    await expectDatasetError(openDataset(`folder:${join(tmp.dir, 'mixed')}`), odd, `${w + 1}×${h} RGB`, `expected ${w}×${h} RGB`);
    const grey = write('mode/b/0.png', pngFile(w, h, 1, noise(w * h, 1)));
    write('mode/a/0.png', pngFile(w, h, 3, rgb(1)));
    await expectDatasetError(openDataset(`folder:${join(tmp.dir, 'mode')}`), grey, `${w}×${h} L`, `expected ${w}×${h} RGB`);
  });

  it('rejects garbage, truncated and unrecognised image files, naming them', async () => {
    const png = pngFile(w, h, 3, rgb(1));
    const truncated = write('bad1/a/0.png', png.subarray(0, png.length - 30));
    await expectDatasetError(openDataset(`folder:${join(tmp.dir, 'bad1')}`), truncated, 'cannot decode');
    const garbage = write('bad2/a/0.jpg', noise(300, 4));
    await expectDatasetError(openDataset(`folder:${join(tmp.dir, 'bad2')}`), garbage, 'not a PNG or JPEG');
    mkdirSync(join(tmp.dir, 'bad3/a'), { recursive: true });
    await expectDatasetError(openDataset(`folder:${join(tmp.dir, 'bad3')}`), 'no PNG or JPEG images');
  });

  it('uses train/ and test/ sub-folders as splits with one class numbering', async () => {
    write('split/train/a/0.png', pngFile(w, h, 3, rgb(1)));
    write('split/train/b/0.png', pngFile(w, h, 3, rgb(2)));
    write('split/test/b/0.png', pngFile(w, h, 3, rgb(3)));
    const opened = await openDataset(`folder:${join(tmp.dir, 'split')}`);
    expect(opened.train.length).toBe(2);
    expect(Array.from(opened.test!.labels!)).toEqual([1]);
  });

  it('follows symbolic links to images and to class folders (splits built as folders of links)', async () => {
    const a0 = rgb(11), a1 = rgb(12), b0 = rgb(13), t0 = rgb(14);
    const pool = join(tmp.dir, 'linkpool');
    write('linkpool/a0.png', pngFile(w, h, 3, a0));
    write('linkpool/a1.png', pngFile(w, h, 3, a1));
    write('linkpool/b/0.png', pngFile(w, h, 3, b0));
    write('linkpool/t0.png', pngFile(w, h, 3, t0));
    const root = join(tmp.dir, 'linked');
    mkdirSync(join(root, 'train/a'), { recursive: true });
    mkdirSync(join(root, 'test/a'), { recursive: true });
    // Relative and absolute links to files; a link to a whole class folder.
    symlinkSync('../../../linkpool/a1.png', join(root, 'train/a/1.png'));
    symlinkSync(join(pool, 'a0.png'), join(root, 'train/a/0.png'));
    symlinkSync(join(pool, 'b'), join(root, 'train/b'));
    symlinkSync(join(pool, 't0.png'), join(root, 'test/a/0.png'));
    const opened = await openDataset(`folder:${root}`);
    expect(opened.train.classNames).toEqual(['a', 'b']);
    expect(Array.from(opened.train.labels!)).toEqual([0, 0, 1]);
    expect(await opened.train.readImages([0, 1, 2])).toEqual(Uint8Array.from([...toChw(a0, 3), ...toChw(a1, 3), ...toChw(b0, 3)]));
    expect(await opened.test!.readImages([0])).toEqual(toChw(t0, 3));
  });

  it('names a symbolic link whose target is missing', async () => {
    write('dangling/a/0.png', pngFile(w, h, 3, rgb(1)));
    const link = join(tmp.dir, 'dangling/a/1.png');
    symlinkSync(join(tmp.dir, 'no-such-image.png'), link);
    await expectDatasetError(openDataset(`folder:${join(tmp.dir, 'dangling')}`), link, 'symbolic link', 'no-such-image.png', 'ENOENT');
  });
});

describe('dataset views', () => {
  const info = { name: 'm', height: 1, width: 2, channels: 1, classNames: ['a', 'b'] };
  const base = new InMemoryImageDataset(info, Uint8Array.from([0, 1, 10, 11, 20, 21]), Int32Array.from([0, 1, 1]));

  it('Subset maps indices and can withhold labels', async () => {
    const sub = new Subset(base, [2, 0]);
    expect(Array.from(sub.labels!)).toEqual([1, 0]);
    expect(Array.from(await sub.readImages([0, 1]))).toEqual([20, 21, 0, 1]);
    expect(new Subset(base, [1], { withholdLabels: true }).labels).toBeNull();
    await expect(sub.readImages([2])).rejects.toThrow(RangeError);
  });

  it('ConcatDataset reads across parts in the requested order', async () => {
    const other = new InMemoryImageDataset(info, Uint8Array.from([30, 31]), null);
    const cat = new ConcatDataset([base, other]);
    expect(cat.length).toBe(4);
    expect(Array.from(cat.labels!)).toEqual([0, 1, 1, -1]);
    expect(Array.from(await cat.readImages([3, 1, 0]))).toEqual([30, 31, 10, 11, 0, 1]);
  });
});
