/**
 * The pieces of the encoder pictures that run on the CPU: the cosine neighbour search against a brute-force
 * reference, the match rate, the seeded queries, the PNG encoder (read back by pngjs), the neighbour grid's
 * frames, and the UMAP map (seeded, and faithful to well-separated clusters).
 */
import { expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { rand, seedNote } from '../helpers.js';
import { cosineNeighbours, MATCH_COLOUR, MISMATCH_COLOUR, neighbourMatchRate, neighboursSvg, pickQueries } from '../../src/byol/neighbours.js';
import { Raster, base64, crc32 } from '../../src/byol/raster.js';
import { classMark, embed2d, embeddingSpec } from '../../src/byol/embedding.js';
import { renderPng } from '../../src/cli/render-png.js';
import { svgToPng } from '../../src/cli/encoder-pictures.js';

/** k nearest by cosine in float64, ties to the smaller index, by sorting everything. */
function reference(bank: Float32Array, nBank: number, queries: Float32Array, nQuery: number, d: number, k: number): number[][] {
  const norm = (a: Float32Array, i: number) => Math.sqrt(a.subarray(i * d, i * d + d).reduce((s, v) => s + v * v, 0));
  return Array.from({ length: nQuery }, (_, i) => {
    const sims: [number, number][] = [];
    for (let j = 0; j < nBank; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += queries[i * d + c]! * bank[j * d + c]!;
      sims.push([dot / (norm(queries, i) * norm(bank, j)), j]);
    }
    sims.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    return sims.slice(0, k).map(([, j]) => j);
  });
}

it('finds the k most cosine-similar rows as a brute-force float64 search does', () => {
  for (const [nBank, nQuery, d, k] of [
    [57, 23, 9, 5],
    [1, 3, 4, 8],
    [31, 1, 2, 31],
    [40, 17, 33, 7],
  ] as const) {
    const bank = Float32Array.from({ length: nBank * d }, () => rand() * 2 - 1);
    const queries = Float32Array.from({ length: nQuery * d }, () => rand() * 2 - 1);
    const nb = cosineNeighbours(bank, nBank, queries, nQuery, d, k);
    expect(nb.k, seedNote).toBe(Math.min(k, nBank));
    const want = reference(bank, nBank, queries, nQuery, d, Math.min(k, nBank));
    expect(Array.from({ length: nQuery }, (_, i) => [...nb.index.subarray(i * nb.k, (i + 1) * nb.k)]), seedNote).toEqual(want);
    // Similarities are cosines, most similar first.
    for (let i = 0; i < nQuery; i++) {
      const s = [...nb.similarity.subarray(i * nb.k, (i + 1) * nb.k)];
      expect(s, seedNote).toEqual([...s].sort((a, b) => b - a));
      for (const v of s) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-12);
    }
  }
});

it('breaks ties by the smaller bank index and ignores the scale of a row', () => {
  // Rows 0, 2 and 3 point the same way (3 is twice as long): all three tie for the query along them.
  const bank = Float32Array.of(1, 0, 0, 1, 1, 0, 2, 0);
  const nb = cosineNeighbours(bank, 4, Float32Array.of(5, 0), 1, 2, 3);
  expect([...nb.index]).toEqual([0, 2, 3]);
  expect([...nb.similarity]).toEqual([1, 1, 1]);
});

it('counts the neighbours that share the query class', () => {
  // Two queries, k = 3: query 0 (class 1) has neighbours of classes 1, 0, 1; query 1 (class 0) has 0, 0, 0.
  const nb = { index: Int32Array.of(0, 1, 2, 1, 3, 4), similarity: new Float64Array(6), k: 3 };
  const bankLabels = [1, 0, 1, 0, 0];
  expect(neighbourMatchRate(nb, [1, 0], bankLabels)).toBeCloseTo(5 / 6, 12);
  expect(neighbourMatchRate(nb, [2, 2], bankLabels)).toBe(0);
});

it('picks one query per class, in class order, the same for the same seed', () => {
  const labels = Int32Array.from({ length: 300 }, () => Math.floor(rand() * 7));
  labels[5] = 6; // every class present
  for (let c = 0; c < 6; c++) labels[c] = c;
  const q = pickQueries(labels, 7, 10, 42);
  expect([...q].map((i) => labels[i]), seedNote).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect([...pickQueries(labels, 7, 10, 42)]).toEqual([...q]);
  // Another seed draws other images (7 classes of ~43 images each: the same 7 by chance is negligible).
  expect([...pickQueries(labels, 7, 10, 43)], seedNote).not.toEqual([...q]);
  // A class without images is left out; more classes than queries: a seeded choice of classes.
  expect([...pickQueries(Int32Array.of(0, 2, 2, 0), 3, 10, 1)].map((i) => [0, 2, 2, 0][i])).toEqual([0, 2]);
  const few = pickQueries(labels, 7, 3, 5);
  expect(few).toHaveLength(3);
  const classes = [...few].map((i) => labels[i]!);
  expect(classes).toEqual([...classes].sort((a, b) => a - b));
  expect(new Set(classes).size).toBe(3);
});

it('encodes a raster as a PNG that pngjs reads back pixel for pixel', async () => {
  expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  const [w, h] = [37, 11];
  const r = new Raster(w, h);
  for (let i = 0; i < r.rgb.length; i++) r.rgb[i] = Math.floor(rand() * 256);
  r.fill(3, 2, 4, 3, [1, 2, 3]);
  const png = PNG.sync.read(Buffer.from(await r.png()));
  expect([png.width, png.height]).toEqual([w, h]);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) expect(png.data[4 * p + c], seedNote).toBe(r.rgb[3 * p + c]);
  expect([...png.data.subarray(4 * (2 * w + 3), 4 * (2 * w + 3) + 3)]).toEqual([1, 2, 3]);
  expect(base64(Uint8Array.of(0, 255, 10, 20))).toBe(Buffer.from([0, 255, 10, 20]).toString('base64'));
});

it('draws images by whole pixels: grey and RGB, 2 × 3 scaled to 6 × 6 with the aspect kept', () => {
  const r = new Raster(8, 8, [0, 0, 0]);
  const grey = Uint8Array.of(10, 20, 30, 40, 50, 60); // 2 rows × 3 columns
  r.image(grey, 1, 2, 3, 1, 1, 6); // 6×4, centred vertically in the 6×6 square: rows 2..5
  const at = (x: number, y: number) => [...r.rgb.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3)];
  expect(at(1, 1)).toEqual([0, 0, 0]);
  expect(at(1, 2)).toEqual([10, 10, 10]);
  expect(at(6, 3)).toEqual([30, 30, 30]);
  expect(at(1, 4)).toEqual([40, 40, 40]);
  expect(at(6, 5)).toEqual([60, 60, 60]);
  const rgb = Uint8Array.of(200, 100, 50); // one pixel, planes R, G, B
  r.image(rgb, 3, 1, 1, 0, 0, 1);
  expect(at(0, 0)).toEqual([200, 100, 50]);
});

/** Pixels of exactly this colour in the PNG embedded in a picture's SVG. */
function countColour(svg: string, colour: string): number {
  const b64 = /href="data:image\/png;base64,([^"]+)"/.exec(svg)![1]!;
  const png = PNG.sync.read(Buffer.from(b64, 'base64'));
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  let n = 0;
  for (let p = 0; p < png.width * png.height; p++) if (png.data[4 * p] === r && png.data[4 * p + 1] === g && png.data[4 * p + 2] === b) n++;
  return n;
}

it('frames each neighbour blue for the query class and vermillion for another, and counts the matches', async () => {
  const image = { channels: 1, height: 16, width: 16 };
  const thumb = (label: number, v: number) => ({ pixels: new Uint8Array(256).fill(v), label });
  const grids = [
    { title: 'random encoder', note: 'note A', rows: [{ query: thumb(0, 90), neighbours: [thumb(0, 91), thumb(1, 92), thumb(2, 93)] }] },
    { title: 'pretrained encoder', note: 'note B', rows: [{ query: thumb(0, 90), neighbours: [thumb(0, 94), thumb(0, 95), thumb(1, 96)] }] },
  ];
  const svg = await neighboursSvg(grids, { heading: 'H', subheading: 'S', classNames: ['zero', 'one', 'two'], image });
  // 16-px images are drawn 64 px wide in frames of 3 px: (70² − 64²) pixels per frame, plus the legend's
  // 14-px frame of each colour (14² − 8²).
  const frame = 70 * 70 - 64 * 64;
  const legend = 14 * 14 - 8 * 8;
  expect(countColour(svg, MATCH_COLOUR)).toBe(3 * frame + legend);
  expect(countColour(svg, MISMATCH_COLOUR)).toBe(3 * frame + legend);
  for (const s of ['>1/3<', '>2/3<', '✓ zero', '✗ one', '✗ two', 'random encoder', 'pretrained encoder', 'note A', 'note B']) expect(svg).toContain(s);
  // resvg draws it (the SVG is well formed, its image decodable).
  const png = PNG.sync.read(Buffer.from(svgToPng(svg)));
  expect(png.width).toBeGreaterThan(500);
});

it('lays out well-separated clusters apart on the UMAP map, the same map for the same seed', async () => {
  const d = 24;
  const n = 150;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  // Three directions in 24-d, each point one of them plus noise.
  const features = Float32Array.from({ length: n * d }, (_, i) => (Math.floor((i % d) / 8) === labels[Math.floor(i / d)]! ? 1 : 0) + 0.3 * (rand() - 0.5));
  const xy = await embed2d(features, n, d, 7);
  expect(xy).toHaveLength(2 * n);
  for (const v of xy) expect(Number.isFinite(v)).toBe(true);
  // Each point's nearest other point on the map is of its own cluster.
  let same = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dd = (xy[2 * i]! - xy[2 * j]!) ** 2 + (xy[2 * i + 1]! - xy[2 * j + 1]!) ** 2;
      if (dd < bestD) [best, bestD] = [j, dd];
    }
    if (labels[best] === labels[i]) same++;
  }
  expect(same / n, seedNote).toBeGreaterThanOrEqual(0.97);
  expect([...(await embed2d(features, n, d, 7))]).toEqual([...xy]);
  expect([...(await embed2d(features, n, d, 8))]).not.toEqual([...xy]);
  // Too few points for neighbours still give a map.
  expect([...(await embed2d(Float32Array.of(1, 0, 0, 1), 2, 2, 1))]).toEqual([0, 0, 1, 0]);
});

it('gives every class of ten its own colour-and-shape mark from the Okabe–Ito palette, and the map renders', async () => {
  const marks = Array.from({ length: 10 }, (_, c) => classMark(c));
  expect(new Set(marks.map((m) => `${m.colour} ${m.shape}`)).size).toBe(10);
  expect(marks[0]).toEqual({ colour: '#0072B2', shape: 'circle' });
  expect(marks[8]).toEqual({ colour: '#0072B2', shape: 'square' });
  const xy = Float64Array.from({ length: 20 }, () => rand());
  const labels = Int32Array.from({ length: 10 }, (_, i) => i % 3);
  const spec = embeddingSpec(
    [
      { title: 'random encoder', xy, labels },
      { title: 'pretrained encoder', xy, labels },
    ],
    ['a', 'b', 'c'],
    'title',
    'subtitle',
    { width: 120, height: 120 },
  );
  expect((spec.data as { values: unknown[] }).values).toHaveLength(20);
  const png = PNG.sync.read(Buffer.from(await renderPng(spec, 1)));
  // Two 120-px panels side by side and a legend.
  expect(png.width).toBeGreaterThan(240);
  // Class a's points (and its legend mark) are drawn in its blue, #0072B2 (lighter where blended with white);
  // classes b and c's orange and green are not blue.
  let blue = 0;
  for (let p = 0; p < png.width * png.height; p++) {
    const [r, g, b] = [png.data[4 * p]!, png.data[4 * p + 1]!, png.data[4 * p + 2]!];
    if (b > g + 30 && b - r > 100) blue++;
  }
  expect(blue).toBeGreaterThan(20);
});
