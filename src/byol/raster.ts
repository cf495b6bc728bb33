/**
 * A small RGB raster for pictures made of images (the nearest-neighbour grid): filled rectangles, dataset
 * images scaled by whole pixels, and PNG encoding. Browser-safe: the PNG's deflate stream comes from the
 * platform's CompressionStream (browsers, Node 18+), so no Node module is imported.
 */

export class Raster {
  readonly rgb: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: readonly [number, number, number] = [255, 255, 255],
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new RangeError(`Raster: bad size ${width}×${height}`);
    this.rgb = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  /** Fills the rectangle (clipped to the raster) with one colour. */
  fill(x: number, y: number, w: number, h: number, colour: readonly [number, number, number]): void {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = (yy * this.width + xx) * 3;
        this.rgb[o] = colour[0];
        this.rgb[o + 1] = colour[1];
        this.rgb[o + 2] = colour[2];
      }
    }
  }

  /** A frame of `thickness` pixels just inside the rectangle. */
  frame(x: number, y: number, w: number, h: number, thickness: number, colour: readonly [number, number, number]): void {
    this.fill(x, y, w, thickness, colour);
    this.fill(x, y + h - thickness, w, thickness, colour);
    this.fill(x, y, thickness, h, colour);
    this.fill(x + w - thickness, y, thickness, h, colour);
  }

  /**
   * Draws one CHW uint8 image (1 channel: grey, 3: RGB) at (x, y) into a `size`×`size` square, nearest
   * neighbour (a non-square image keeps its aspect ratio, centred).
   */
  image(pixels: Uint8Array, channels: number, height: number, width: number, x: number, y: number, size: number): void {
    const scale = size / Math.max(height, width);
    const dw = Math.max(1, Math.round(width * scale));
    const dh = Math.max(1, Math.round(height * scale));
    const ox = x + Math.floor((size - dw) / 2);
    const oy = y + Math.floor((size - dh) / 2);
    const plane = height * width;
    for (let yy = 0; yy < dh; yy++) {
      const sy = Math.min(height - 1, Math.floor((yy * height) / dh));
      const ty = oy + yy;
      if (ty < 0 || ty >= this.height) continue;
      for (let xx = 0; xx < dw; xx++) {
        const tx = ox + xx;
        if (tx < 0 || tx >= this.width) continue;
        const sx = Math.min(width - 1, Math.floor((xx * width) / dw));
        const p = sy * width + sx;
        const o = (ty * this.width + tx) * 3;
        for (let c = 0; c < 3; c++) this.rgb[o + c] = pixels[(channels === 1 ? 0 : c) * plane + p]!;
      }
    }
  }

  /** The raster as a PNG file (8-bit RGB, no filtering, zlib-deflated). */
  async png(): Promise<Uint8Array> {
    const row = this.width * 3 + 1;
    const raw = new Uint8Array(row * this.height);
    for (let y = 0; y < this.height; y++) raw.set(this.rgb.subarray(y * this.width * 3, (y + 1) * this.width * 3), y * row + 1);
    const header = new Uint8Array(13);
    const view = new DataView(header.buffer);
    view.setUint32(0, this.width);
    view.setUint32(4, this.height);
    header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
    const parts = [PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', await deflate(raw)), chunk('IEND', new Uint8Array(0))];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as PNG (and zip) define it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** zlib-wrapped deflate (RFC 1950), what PNG's IDAT holds. */
async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Base64 of bytes (for data: URLs), without Node's Buffer. */
export function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
