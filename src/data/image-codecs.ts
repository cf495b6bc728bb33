/**
 * PNG (pngjs) and JPEG (jpeg-js) decoding for image-folder datasets. pngjs relies on Node's Buffer and
 * zlib, so only Node entry points import this module; a browser passes its own `ImageDecoder`.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DatasetError, describeError } from './errors.js';
import type { DecodedImage } from './image-folder.js';

/** Largest image decoded, in megapixels, and the decoder's memory cap: bounds for hostile files. */
const MAX_MEGAPIXELS = 64;
const MAX_DECODER_MEMORY_MB = 1024;

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

function decodePng(bytes: Uint8Array, file: string): DecodedImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { width, height } = png;
  if (width * height > MAX_MEGAPIXELS * 1e6) throw new DatasetError(`image of ${width}×${height} is too large`, { file });
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
