/**
 * PNG (pngjs) and JPEG (jpeg-js) decoding for image-folder datasets. pngjs relies on Node's Buffer and
 * zlib, so only Node entry points import this module; a browser passes its own `ImageDecoder`.
 */
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DatasetError, describeError } from './errors.js';
import type { DecodedImage } from './image-folder.js';

/** Largest image decoded, in megapixels, and the decoder's memory cap: bounds for hostile files. */
const MAX_MEGAPIXELS = 64;
const MAX_DECODER_MEMORY_MB = 1024;
/** Largest PNG pixel data (filtered scanlines, as inflated) accepted: bounds what a PNG's IHDR may declare. */
const MAX_PNG_DATA_BYTES = 256 * 2 ** 20;

function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Number of colour components declared by a JPEG's start-of-frame segment, or null if none is found.
 * (jpeg-js always returns RGB, so greyscale files are recognised from the header.)
 */
export function jpegComponents(bytes: Uint8Array): number | null {
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1]!;
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) return p + 9 < bytes.length ? bytes[p + 9]! : null;
    if (marker === 0xda || length < 2) return null;
    p += 2 + length;
  }
  return null;
}

/** Samples per pixel of each PNG colour type (grey, RGB, palette, grey + alpha, RGBA). */
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7's passes: x and y of the first pixel, and the steps between pixels. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * Reads a PNG's IHDR and joins its IDAT chunks, without inflating anything, and returns the exact number of
 * bytes the pixel data inflates to by the header (one filter byte per scanline, per interlace pass).
 * Refuses, naming the limit, an image over the megapixel limit or pixel data over the byte limit.
 */
function pngLayout(bytes: Uint8Array, file: string): { width: number; height: number; dataBytes: number; idat: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || view.getUint32(8) !== 13 || view.getUint32(12) !== 0x49484452) throw new DatasetError('PNG without an IHDR chunk first', { file });
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  const interlace = bytes[28]!;
  const samples = PNG_SAMPLES[colorType];
  if (width === 0 || height === 0) throw new DatasetError(`PNG of ${width}×${height} pixels`, { file });
  if (samples === undefined || ![1, 2, 4, 8, 16].includes(depth) || interlace > 1) {
    throw new DatasetError(`PNG with an unsupported IHDR (colour type ${colorType}, bit depth ${depth}, interlace ${interlace})`, { file });
  }
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    throw new DatasetError(`image of ${width}×${height} is over the limit of ${MAX_MEGAPIXELS} megapixels per PNG`, { file });
  }
  const rowBytes = (w: number): number => (w === 0 ? 0 : 1 + Math.ceil((w * samples * depth) / 8));
  let dataBytes = 0;
  if (interlace === 0) dataBytes = height * rowBytes(width);
  else {
    for (const [x0, y0, dx, dy] of ADAM7) {
      const w = Math.max(0, Math.ceil((width - x0) / dx));
      const h = Math.max(0, Math.ceil((height - y0) / dy));
      if (w > 0) dataBytes += h * rowBytes(w);
    }
  }
  if (dataBytes > MAX_PNG_DATA_BYTES) {
    throw new DatasetError(`PNG of ${width}×${height} at ${depth} bits × ${samples} samples declares ${dataBytes} bytes of pixel data, over the limit of ${MAX_PNG_DATA_BYTES} bytes per PNG`, { file });
  }
  const parts: Uint8Array[] = [];
  for (let p = 8; p + 12 <= bytes.length; ) {
    const length = view.getUint32(p);
    const type = view.getUint32(p + 4);
    if (type === 0x49444154) parts.push(bytes.subarray(p + 8, Math.min(bytes.length, p + 8 + length)));
    if (type === 0x49454e44) break;
    p += 12 + length;
  }
  const idat = new Uint8Array(parts.reduce((n, q) => n + q.length, 0));
  let at = 0;
  for (const q of parts) {
    idat.set(q, at);
    at += q.length;
  }
  return { width, height, dataBytes, idat };
}

function decodePng(bytes: Uint8Array, file: string): DecodedImage {
  const layout = pngLayout(bytes, file);
  // Inflate once with the header's size as the cap, so that a small file cannot inflate to gigabytes inside
  // the decoder; the decoder runs only on data that inflates to exactly what the header declares.
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(layout.idat, { maxOutputLength: layout.dataBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DatasetError(`PNG pixel data inflates to more than the ${layout.dataBytes} bytes its IHDR declares (${layout.width}×${layout.height})`, { file });
    }
    throw err;
  }
  if (inflated.length !== layout.dataBytes) {
    throw new DatasetError(`PNG pixel data inflates to ${inflated.length} bytes, but its IHDR declares ${layout.dataBytes} (${layout.width}×${layout.height}); truncated?`, { file });
  }
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { width, height } = png;
  const rgba = png.data;
  if (rgba.length !== width * height * 4) throw new DatasetError(`PNG decoder returned ${rgba.length} bytes for ${width}×${height}`, { file });
  const channels = png.color ? 3 : 1;
  const pixels = new Uint8Array(width * height * channels);
  for (let p = 0, q = 0; p < pixels.length; q += 4) {
    pixels[p++] = rgba[q]!;
    if (channels === 3) {
      pixels[p++] = rgba[q + 1]!;
      pixels[p++] = rgba[q + 2]!;
    }
  }
  return { width, height, channels, pixels };
}

function decodeJpeg(bytes: Uint8Array, file: string): DecodedImage {
  const components = jpegComponents(bytes);
  if (components === null) throw new DatasetError('JPEG without a frame header', { file });
  const image = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxResolutionInMP: MAX_MEGAPIXELS,
    maxMemoryUsageInMB: MAX_DECODER_MEMORY_MB,
  });
  const { width, height, data } = image;
  if (width === 0 || height === 0 || data.length !== width * height * 3) {
    throw new DatasetError(`JPEG decoder returned ${data.length} bytes for ${width}×${height}`, { file });
  }
  if (components !== 1) return { width, height, channels: 3, pixels: data };
  const pixels = new Uint8Array(width * height);
  for (let p = 0; p < pixels.length; p++) pixels[p] = data[3 * p]!;
  return { width, height, channels: 1, pixels };
}

/**
 * Decodes a PNG or JPEG file (recognised by its signature, not its name). PNG: grey and grey+alpha give
 * one channel, colour and palette images three; alpha is dropped and 16-bit samples are scaled to 8 bits.
 * JPEG: one-component files give one channel, all others three. Any failure is a `DatasetError`.
 */
export function decodeImage(bytes: Uint8Array, file: string): DecodedImage {
  try {
    if (isPng(bytes)) return decodePng(bytes, file);
    if (isJpeg(bytes)) return decodeJpeg(bytes, file);
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`cannot decode image (${describeError(err)})`, { file, cause: err });
  }
  throw new DatasetError('not a PNG or JPEG file (unrecognised signature)', { file });
}
