/**
 * Nearest neighbours of an encoder's features, and their picture: for a fixed, seeded set of test images
 * (one per class), the k labeled training images most cosine-similar to it, each framed as sharing the
 * query's class or not, for several encoders side by side (the random and the pretrained one).
 *
 * The similarity is the kNN monitor's (src/byol/knn.ts): the cosine of the encoder's features. The search runs
 * on the CPU in float64 over features already read back; ties go to the smaller training index.
 * Browser-safe: the picture is an SVG string whose images are one embedded PNG (src/byol/raster.ts).
 */
import { Rng } from '../data/prng.js';
import { Raster, base64 } from './raster.js';

/** Rows of `features` ([n, dim]) scaled to unit length, in float64 (a zero row stays zero). */
export function unitRows(features: Float32Array, n: number, dim: number): Float64Array {
  if (features.length !== n * dim) throw new RangeError(`unitRows: ${features.length} values for ${n} rows of ${dim}`);
  const out = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += features[i * dim + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[i * dim + j] = features[i * dim + j]! * inv;
  }
  return out;
}

export interface Neighbours {
  /** k per query: [queries, k] indices into the bank, most similar first. */
  index: Int32Array;
  /** The matching cosine similarities. */
  similarity: Float64Array;
  k: number;
}

/**
 * The k most cosine-similar bank rows of every query row (k is capped at the bank's size). Both are [n, dim]
 * features; ties go to the smaller bank index.
 */
export function cosineNeighbours(bank: Float32Array, nBank: number, queries: Float32Array, nQuery: number, dim: number, k: number): Neighbours {
  if (nBank < 1) throw new RangeError('cosineNeighbours: the bank is empty');
  const kk = Math.max(1, Math.min(k, nBank));
  const b = unitRows(bank, nBank, dim);
  const q = unitRows(queries, nQuery, dim);
  const index = new Int32Array(nQuery * kk);
  const similarity = new Float64Array(nQuery * kk);
  const sims = new Float64Array(nBank);
  const topI = new Int32Array(kk);
  const topS = new Float64Array(kk);
  for (let r = 0; r < nQuery; r++) {
    for (let j = 0; j < nBank; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += q[r * dim + t]! * b[j * dim + t]!;
      sims[j] = s;
    }
    let filled = 0;
    for (let j = 0; j < nBank; j++) {
      const v = sims[j]!;
      if (filled < kk || v > topS[kk - 1]!) {
        let p = filled < kk ? filled++ : kk - 1;
        while (p > 0 && topS[p - 1]! < v) {
          topS[p] = topS[p - 1]!;
          topI[p] = topI[p - 1]!;
          p--;
        }
        topS[p] = v;
        topI[p] = j;
      }
    }
    index.set(topI, r * kk);
    similarity.set(topS, r * kk);
  }
  return { index, similarity, k: kk };
}

/** Fraction of all (query, neighbour) pairs whose neighbour has the query's class. */
export function neighbourMatchRate(nb: Neighbours, queryLabels: ArrayLike<number>, bankLabels: ArrayLike<number>): number {
  const n = nb.index.length / nb.k;
  if (n === 0) return NaN;
  let same = 0;
  for (let r = 0; r < n; r++) for (let t = 0; t < nb.k; t++) if (bankLabels[nb.index[r * nb.k + t]!] === queryLabels[r]) same++;
  return same / (n * nb.k);
}

/**
 * A fixed, seeded choice of query images: one per class, in class order (for more classes than `count`, a
 * seeded choice of `count` classes). Within a class, the first of a seeded permutation of the images; a class
 * with no image is left out.
 */
export function pickQueries(labels: ArrayLike<number>, numClasses: number, count: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const order = rng.shuffle(Int32Array.from({ length: labels.length }, (_, i) => i));
  let classes = Array.from({ length: numClasses }, (_, c) => c);
  if (numClasses > count) classes = [...rng.shuffle(Int32Array.from(classes))].slice(0, count).sort((a, b) => a - b);
  const first = new Map<number, number>();
  for (const i of order) if (!first.has(labels[i]!)) first.set(labels[i]!, i);
  return Int32Array.from(classes.filter((c) => first.has(c)).map((c) => first.get(c)!));
}

/** Okabe–Ito blue (same class) and vermillion (another class): the pair the palette keeps furthest apart. */
export const MATCH_COLOUR = '#0072B2';
export const MISMATCH_COLOUR = '#D55E00';
const QUERY_COLOUR = '#333333';

export interface Thumb {
  /** CHW uint8 pixels of one image. */
  pixels: Uint8Array;
  label: number;
}

export interface NeighbourGrid {
  /** e.g. 'random encoder'. */
  title: string;
  /** A line under the title, e.g. the match rates. */
  note: string;
  /** One row per query: the query and its neighbours, most similar first. */
  rows: { query: Thumb; neighbours: Thumb[] }[];
}

export interface NeighbourPictureOptions {
  heading: string;
  subheading: string;
  classNames: readonly string[];
  image: { channels: number; height: number; width: number };
}

const hex = (c: string): [number, number, number] => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);

/** A name cut to about `px` pixels of `fontPx`-px DejaVu Sans (0.62 em per character on average). */
function fit(name: string, px: number, fontPx: number): string {
  const max = Math.max(3, Math.floor(px / (0.62 * fontPx)));
  return name.length <= max ? name : `${name.slice(0, max - 1)}…`;
}

/**
 * The neighbour grids side by side, as one SVG: each grid a title, a note, and one row per query (its class,
 * the query, its neighbours framed blue ✓ for the query's class and vermillion ✗ for another, each named
 * under it, and the row's count of matches). Images are drawn by whole pixels, at least 48 px a side.
 */
export async function neighboursSvg(grids: readonly NeighbourGrid[], o: NeighbourPictureOptions): Promise<string> {
  const { channels, height, width } = o.image;
  const side = Math.max(height, width);
  const T = side > 128 ? 96 : side * Math.max(1, Math.round(64 / side)); // thumbnail side
  const F = 3; // frame
  const cell = T + 2 * F;
  const gapX = 6;
  const nameH = 14;
  const rowH = cell + nameH + 8;
  const labelW = 96;
  const countW = 52;
  const k = Math.max(0, ...grids.flatMap((g) => g.rows.map((r) => r.neighbours.length)));
  const gridW = labelW + cell + 14 + k * (cell + gapX) + countW;
  const gridGap = 36;
  const top = 74;
  const gridTop = top + 66;
  const rows = Math.max(0, ...grids.map((g) => g.rows.length));
  const W = 20 + grids.length * gridW + (grids.length - 1) * gridGap + 20;
  const H = gridTop + rows * rowH + 34;
  const raster = new Raster(W, H);
  const text: string[] = [];
  const t = (x: number, y: number, s: string, attrs = ''): void => {
    text.push(`<text x="${x}" y="${y}" ${attrs}>${escapeXml(s)}</text>`);
  };
  t(20, 28, o.heading, 'font-size="18" font-weight="bold"');
  t(20, 50, o.subheading, 'font-size="13" fill="#444"');
  // Legend: a blue and a vermillion frame.
  const legendY = 58;
  raster.frame(20, legendY, 14, 14, F, hex(MATCH_COLOUR));
  t(40, legendY + 12, '✓ same class as the query', 'font-size="12"');
  raster.frame(220, legendY, 14, 14, F, hex(MISMATCH_COLOUR));
  t(240, legendY + 12, '✗ another class', 'font-size="12"');
  grids.forEach((g, gi) => {
    const x0 = 20 + gi * (gridW + gridGap);
    t(x0, top + 22, g.title, 'font-size="16" font-weight="bold"');
    t(x0, top + 40, g.note, 'font-size="12" fill="#333"');
    t(x0 + labelW + cell / 2, gridTop - 4, 'query', 'font-size="11" fill="#555" text-anchor="middle"');
    for (let j = 0; j < k; j++) t(x0 + labelW + cell + 14 + j * (cell + gapX) + cell / 2, gridTop - 4, String(j + 1), 'font-size="11" fill="#555" text-anchor="middle"');
    t(x0 + gridW - countW / 2, gridTop - 4, 'same', 'font-size="11" fill="#555" text-anchor="middle"');
    g.rows.forEach((row, ri) => {
      const y = gridTop + ri * rowH;
      t(x0 + labelW - 8, y + cell / 2 + 4, fit(o.classNames[row.query.label] ?? String(row.query.label), labelW - 8, 12), 'font-size="12" font-weight="bold" text-anchor="end"');
      raster.frame(x0 + labelW, y, cell, cell, F, hex(QUERY_COLOUR));
      raster.image(row.query.pixels, channels, height, width, x0 + labelW + F, y + F, T);
      let same = 0;
      row.neighbours.forEach((nb, j) => {
        const x = x0 + labelW + cell + 14 + j * (cell + gapX);
        const match = nb.label === row.query.label;
        if (match) same++;
        const colour = match ? MATCH_COLOUR : MISMATCH_COLOUR;
        raster.frame(x, y, cell, cell, F, hex(colour));
        raster.image(nb.pixels, channels, height, width, x + F, y + F, T);
        const name = fit(o.classNames[nb.label] ?? String(nb.label), cell + gapX - 14, 10);
        t(x + cell / 2, y + cell + 11, `${match ? '✓' : '✗'} ${name}`, `font-size="10" fill="${colour}" text-anchor="middle"`);
      });
      t(x0 + gridW - countW / 2, y + cell / 2 + 5, `${same}/${row.neighbours.length}`, 'font-size="13" font-weight="bold" text-anchor="middle"');
    });
  });
  const png = await raster.png();
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Verdana, sans-serif">` +
    `<image x="0" y="0" width="${W}" height="${H}" href="data:image/png;base64,${base64(png)}"/>` +
    text.join('') +
    '</svg>'
  );
}
