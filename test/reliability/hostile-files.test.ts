/**
 * Hostile files: a few hundred KB that declare, or decompress to, hundreds of MB. Each reader must refuse
 * them from the sizes the file declares, before it allocates or inflates, with an error naming the file and
 * the limit. Each file is read in a child process (read-hostile.ts) whose peak resident memory is measured;
 * the commands that reach the readers answer with one line and exit status 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../../src/data/idx.js';
import { writeFolderDataset } from '../folder-dataset.js';
import { runNode as node } from '../run-node.js';
import { compressedZeros, gzip, idxFile, noise, pngWithData } from '../data/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'byol-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Peak resident memory allowed to a child reading one hostile file (Node itself takes about 60 MiB). */
const MAX_RSS_MIB = 256;
/** What the bombs inflate to: far over MAX_RSS_MIB. */
const BOMB_BYTES = 400 * 2 ** 20;


/** Reads `file` with one reader in a child process: the error it threw, and its peak resident memory. */
async function readInChild(kind: 'safetensors' | 'png' | 'idx', file: string): Promise<{ error: string | null; maxRssMiB: number }> {
  const r = await node(['scripts/run-ts.mjs', 'test/reliability/read-hostile.ts', kind, file]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { error: string | null; maxRssMiB: number };
}

/** A JavaScript stack frame of ours. */
const ourStack = /^\s+at .*\.(m?js|ts):\d+/m;

/** A safetensors file whose 48 entries all span the same 16 MiB of data. */
function overlappingSafetensors(): Uint8Array {
  const data = 16 * 2 ** 20;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < 48; i++) header[`t${i}`] = { dtype: 'F32', shape: [data / 4], data_offsets: [0, data] };
  const json = new TextEncoder().encode(JSON.stringify(header).padEnd(8 * Math.ceil(JSON.stringify(header).length / 8)));
  const out = new Uint8Array(8 + json.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('decompression and allocation bombs are refused before they cost memory', () => {
  const files = {
    safetensors: join(root, 'overlap.safetensors'),
    interlaced: join(root, 'interlaced-1x1.png'),
    huge: join(root, 'huge-10000x10000.png'),
    idx: join(root, 'train-images-idx3-ubyte.gz'),
  };
  beforeAll(async () => {
    writeFileSync(files.safetensors, overlappingSafetensors());
    // 1×1, interlaced (one 2-byte scanline declared), whose data inflates to 400 MiB.
    writeFileSync(files.interlaced, pngWithData({ width: 1, height: 1, interlace: 1 }, await compressedZeros(new Uint8Array(0), BOMB_BYTES, 'deflate')));
    // 10000×10000 grey: 100 megapixels, whose data is all there (100 MB inflated, 400 MB decoded as RGBA).
    writeFileSync(files.huge, pngWithData({ width: 10_000, height: 10_000 }, await compressedZeros(new Uint8Array(0), 10_000 * 10_001, 'deflate')));
    // One 28×28 image declared, 400 MiB inflated.
    writeFileSync(files.idx, await compressedZeros(idxFile(IDX_IMAGES_MAGIC, [1, 28, 28], new Uint8Array(0)), BOMB_BYTES, 'gzip'));
  }, 60_000);

  it('safetensors: entries over the same bytes are refused before any is copied', async () => {
    const r = await readInChild('safetensors', files.safetensors);
    expect(r.error).toMatch(/^SafetensorsError: .*overlap\.safetensors: tensor 't\d+' starts at byte 0 but the previous one ends at 16777216: overlapping or gapped data$/);
    expect(r.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });

  it('PNG: a 1×1 interlaced image whose data inflates to 400 MiB stops at the size its IHDR declares', async () => {
    const r = await readInChild('png', files.interlaced);
    expect(r.error).toMatch(/^DatasetError: .*interlaced-1x1\.png: PNG pixel data inflates to more than the 2 bytes its IHDR declares \(1×1\)$/);
    expect(r.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });

  it('PNG: a 10000×10000 image is refused from its IHDR, naming the megapixel limit', async () => {
    const r = await readInChild('png', files.huge);
    expect(r.error).toMatch(/^DatasetError: .*huge-10000x10000\.png: image of 10000×10000 is over the limit of 64 megapixels per PNG$/);
    expect(r.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });

  it('IDX: a gzipped file inflating past its header stops at the size the header declares', async () => {
    const r = await readInChild('idx', files.idx);
    expect(r.error).toMatch(/^DatasetError: .*train-images-idx3-ubyte\.gz: decompresses to more than the 800 bytes its header declares \(1×28×28 elements\)$/);
    expect(r.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });

  it('the commands that read them answer with one line naming the file, exit 1', async () => {
    // A folder dataset with the interlaced bomb among its images; an MNIST folder with the IDX bomb.
    const folder = join(root, 'folder');
    writeFolderDataset(folder);
    cpSync(files.interlaced, join(folder, 'train', 'circle', '999.png'));
    const mnist = join(root, 'data', 'mnist');
    mkdirSync(mnist, { recursive: true });
    cpSync(files.idx, join(mnist, 'train-images-idx3-ubyte.gz'));
    writeFileSync(join(mnist, 'train-labels-idx1-ubyte'), idxFile(IDX_LABELS_MAGIC, [1], new Uint8Array(1)));
    writeFileSync(join(mnist, 't10k-images-idx3-ubyte.gz'), gzip(idxFile(IDX_IMAGES_MAGIC, [1, 28, 28], noise(784, 1))));
    writeFileSync(join(mnist, 't10k-labels-idx1-ubyte'), idxFile(IDX_LABELS_MAGIC, [1], new Uint8Array(1)));
    const train = (dataset: string, dataDir = root) =>
      node(['scripts/run-ts.mjs', 'src/cli/train-byol.ts', '--preset', 'smoke', '--width', '4', '--dataset', dataset, '--data-dir', dataDir, '--out', join(root, 'out')]);
    const embed = () => node(['scripts/run-ts.mjs', 'src/cli/embed.ts', '--checkpoint', files.safetensors, '--out', join(root, 'out')]);
    // One at a time: scripts/run-ts.mjs bundles each script into one file in .cache/run.
    const png = await train(`folder:${folder}`);
    const idx = await train('mnist', join(root, 'data'));
    const st = await embed();
    expect(png.code, png.stdout + png.stderr).toBe(1);
    expect(png.stderr).toContain(`error: ${join(folder, 'train', 'circle', '999.png')}: PNG pixel data inflates to more than the 2 bytes its IHDR declares`);
    expect(idx.code, idx.stdout + idx.stderr).toBe(1);
    expect(idx.stderr).toContain(`error: ${join(mnist, 'train-images-idx3-ubyte.gz')}: decompresses to more than the 800 bytes its header declares`);
    expect(st.code, st.stdout + st.stderr).toBe(1);
    expect(st.stderr).toContain(`error: ${files.safetensors} is not a readable safetensors file: ${files.safetensors}: tensor 't`);
    for (const r of [png, idx, st]) expect(r.stderr).not.toMatch(ourStack);
  }, 180_000);
});
