/**
 * Folders of images, one sub-folder per class. Browser-safe: the files come as byte sources and the
 * image decoder is passed in (image-codecs.ts provides the PNG/JPEG one for Node).
 */
import { type ByteSource, readAll } from './byte-source.js';
import { type DatasetInfo, InMemoryImageDataset } from './dataset.js';
import { DatasetError } from './errors.js';

/** A decoded image: interleaved pixels (HWC), one or three channels. */
export interface DecodedImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 (grey, mode "L") or 3 (RGB). */
  channels: 1 | 3;
  /** height × width × channels bytes, row-major, channels interleaved. */
  pixels: Uint8Array;
}

/** Decodes one image file; throws `DatasetError` naming `file` if it cannot. */
export type ImageDecoder = (bytes: Uint8Array, file: string) => DecodedImage | Promise<DecodedImage>;

/** One image file of a folder dataset. */
export interface ImageFile {
  /** Name of the class sub-folder the file is in. */
  className: string;
  /** The file; its name (e.g. "cat/0001.png") appears in error messages. */
  source: ByteSource;
}

/** Reads in flight at once while loading. */
const LOAD_CONCURRENCY = 8;

function describeShape(image: Pick<DecodedImage, 'width' | 'height' | 'channels'>): string {
  return `${image.width}×${image.height} ${image.channels === 1 ? 'L' : 'RGB'}`;
}

/**
 * An image-folder dataset, decoded into memory when loaded. All images must share one size and channel
 * count; the first file sets them.
 */
export class ImageFolderDataset extends InMemoryImageDataset {
  private constructor(
    info: DatasetInfo,
    pixels: Uint8Array,
    labels: Int32Array,
    /** Names of the files, in dataset order. */
    readonly files: readonly string[],
  ) {
    super(info, pixels, labels);
  }

  /**
   * Loads `files` in the given order. Classes are numbered in the order of `classNames`, by default the
   * sorted distinct class names of the files.
   */
  static async load(options: {
    name: string;
    files: readonly ImageFile[];
    decode: ImageDecoder;
    classNames?: readonly string[];
  }): Promise<ImageFolderDataset> {
    const { files, decode } = options;
    if (files.length === 0) throw new DatasetError('no images found', { file: options.name });
    const classNames = options.classNames ?? [...new Set(files.map((f) => f.className))].sort();
    const classIndex = new Map(classNames.map((name, i) => [name, i]));
    const labels = new Int32Array(files.length);
    files.forEach((f, i) => {
      const label = classIndex.get(f.className);
      if (label === undefined) throw new DatasetError(`class "${f.className}" is not one of ${classNames.join(', ')}`, { file: f.source.name });
      labels[i] = label;
    });

    const decodeFile = async (i: number): Promise<DecodedImage> => {
      const file = files[i]!.source;
      const image = await decode(await readAll(file), file.name);
      if (image.pixels.length !== image.width * image.height * image.channels) {
        throw new DatasetError(`decoder returned ${image.pixels.length} bytes for ${describeShape(image)}`, { file: file.name });
      }
      return image;
    };
    const first = await decodeFile(0);
    const { width, height, channels } = first;
    const imageSize = width * height * channels;
    const pixels = new Uint8Array(files.length * imageSize);
    const store = (i: number, image: DecodedImage): void => {
      if (image.width !== width || image.height !== height || image.channels !== channels) {
        throw new DatasetError(
          `image is ${describeShape(image)}, expected ${describeShape(first)} (as ${files[0]!.source.name}); ` +
            'all images of a folder dataset must have the same size and mode',
          { file: files[i]!.source.name },
        );
      }
      interleavedToChw(image.pixels, pixels.subarray(i * imageSize, (i + 1) * imageSize), channels);
    };
    store(0, first);

    // Files are taken in order; after a failure no new one starts, and the first bad file in order is the
    // one reported (every file before it was already taken), whichever decode finished first.
    let next = 1;
    const failure: { i: number; error: unknown }[] = [];
    const worker = async (): Promise<void> => {
      while (next < files.length && failure.length === 0) {
        const i = next++;
        try {
          store(i, await decodeFile(i));
        } catch (error) {
          failure.push({ i, error });
        }
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
    if (failure.length > 0) throw failure.reduce((a, b) => (b.i < a.i ? b : a)).error;

    const info = { name: options.name, height, width, channels, classNames };
    return new ImageFolderDataset(info, pixels, labels, files.map((f) => f.source.name));
  }
}

/** Converts HWC-interleaved pixels to CHW planes. */
export function interleavedToChw(src: Uint8Array, dst: Uint8Array, channels: number): void {
  if (channels === 1) {
    dst.set(src);
    return;
  }
  const plane = src.length / channels;
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let p = 0, q = c; p < plane; p++, q += channels) dst[base + p] = src[q]!;
  }
}
