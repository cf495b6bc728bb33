/**
 * IDX files (MNIST, Fashion-MNIST), plain or gzipped. Browser-safe.
 *
 * Format: a big-endian header of magic number 0x0000TTDD (TT = element type, 0x08 for uint8;
 * DD = number of dimensions) and DD uint32 dimension sizes, then the elements, row-major.
 * Images are 0x00000803 (N×H×W), labels 0x00000801 (N).
 */
import { type ByteSource, readExactly } from './byte-source.js';
import { type DatasetInfo, InMemoryImageDataset, checkLabels, numberedClassNames } from './dataset.js';
import { DatasetError, sizeMismatch } from './errors.js';
import { gunzip, gunzipHead, isGzip } from './gzip.js';

/** Magic number of an IDX uint8 image file (3 dimensions). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX uint8 label file (1 dimension). */
export const IDX_LABELS_MAGIC = 0x00000801;

/** Largest decompressed IDX file accepted (2 GiB − 1). */
const MAX_IDX_BYTES = 2 ** 31 - 1;

/** Class names of Fashion-MNIST, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** A parsed IDX uint8 array. */
export interface IdxArray {
  /** The dimensions, outermost first (e.g. [60000, 28, 28] for images, [60000] for labels). */
  dims: number[];
  /** The elements, row-major. */
  data: Uint8Array;
}

function hex(magic: number): string {
  return `0x${magic.toString(16).padStart(8, '0')}`;
}

/** Header length and element count implied by a header, checked for sanity. */
function parseHeader(bytes: Uint8Array, file: string, expectedMagic: number): { headerBytes: number; dims: number[]; count: number } {
  if (bytes.length < 4) throw sizeMismatch(file, 'size', `at least 4 bytes (IDX header)`, `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) {
    throw new DatasetError(`wrong magic number ${hex(magic)}, expected ${hex(expectedMagic)}`, { file });
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw sizeMismatch(file, 'size', `at least ${headerBytes} bytes (IDX header)`, `${bytes.length} bytes`);
  }
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const dim = view.getUint32(4 + 4 * d);
    dims.push(dim);
    count *= dim;
  }
  if (count > MAX_IDX_BYTES) {
    throw new DatasetError(`header claims dimensions ${dims.join('×')} (${count} bytes), over the limit of ${MAX_IDX_BYTES} bytes per IDX file`, { file });
  }
  return { headerBytes, dims, count };
}

/** Parses a whole, already decompressed IDX uint8 file held in memory. */
export function parseIdx(bytes: Uint8Array, file: string, expectedMagic: number): IdxArray {
  const { headerBytes, dims, count } = parseHeader(bytes, file, expectedMagic);
  const expected = headerBytes + count;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'size (truncated)' : 'size';
    throw sizeMismatch(file, what, `${expected} bytes for ${dims.join('×')} elements`, `${bytes.length} bytes`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/**
 * Reads an IDX uint8 file from a source, decompressing it first if it is gzipped. For a plain file the
 * header's claimed size is checked against the file size before the data is read.
 */
export async function readIdx(source: ByteSource, expectedMagic: number): Promise<IdxArray> {
  const size = await source.size();
  const start = await source.read(0, Math.min(size, 4));
  if (isGzip(start)) {
    // The header first: it bounds what the rest may decompress to, so that nothing past it is inflated.
    const compressed = await readExactly(source, 0, size);
    const head = await gunzipHead(compressed, source.name, 4);
    const header = await gunzipHead(compressed, source.name, 4 + 4 * (head.length === 4 ? head[3]! : 0));
    const { headerBytes, dims, count } = parseHeader(header, source.name, expectedMagic);
    const inflated = await gunzip(compressed, source.name, headerBytes + count, `its header declares (${dims.join('×')} elements)`);
    return parseIdx(inflated, source.name, expectedMagic);
  }
  const ndims = start.length === 4 ? start[3]! : 0;
  const header = await source.read(0, Math.min(size, 4 + 4 * ndims));
  const { headerBytes, dims, count } = parseHeader(header, source.name, expectedMagic);
  if (size !== headerBytes + count) {
    const what = size < headerBytes + count ? 'size (truncated)' : 'size';
    throw sizeMismatch(source.name, what, `${headerBytes + count} bytes for ${dims.join('×')} elements`, `${size} bytes`);
  }
  return { dims, data: await readExactly(source, headerBytes, count) };
}

/** An MNIST-style dataset: an IDX image file (N×H×W, one channel) and an optional IDX label file. */
export class IdxDataset extends InMemoryImageDataset {
  /**
   * Loads and validates both files. Labels must lie in 0..classNames.length−1; without `classNames`
   * the classes are named "0".."max label".
   */
  static async load(options: {
    name: string;
    images: ByteSource;
    labels?: ByteSource;
    classNames?: readonly string[];
  }): Promise<IdxDataset> {
    const images = await readIdx(options.images, IDX_IMAGES_MAGIC);
    const [n, height, width] = images.dims as [number, number, number];
    if (height === 0 || width === 0) {
      throw new DatasetError(`header claims images of size ${height}×${width}`, { file: options.images.name });
    }
    let labels: Int32Array | null = null;
    if (options.labels !== undefined) {
      const raw = await readIdx(options.labels, IDX_LABELS_MAGIC);
      if (raw.dims[0] !== n) {
        throw sizeMismatch(options.labels.name, 'label count', `${n} (as images in ${options.images.name})`, raw.dims[0]!);
      }
      labels = Int32Array.from(raw.data);
    }
    let classNames = options.classNames;
    if (classNames === undefined) {
      const maxLabel = labels === null ? -1 : labels.reduce((m, l) => Math.max(m, l), -1);
      classNames = numberedClassNames(maxLabel + 1);
    } else if (labels !== null) {
      checkLabels(labels, classNames.length, options.labels!.name);
    }
    const info: DatasetInfo = { name: options.name, height, width, channels: 1, classNames };
    return new IdxDataset(info, images.data, labels);
  }
}
