/**
 * Child process of hostile-files.test.ts: reads one file with one of the engine's readers and prints, as one
 * JSON line, the error it threw (or null) and the process's peak resident memory, so that the test can
 * check that a hostile file is refused before it costs memory.
 *   node scripts/run-ts.mjs test/reliability/read-hostile.ts safetensors|png|idx FILE
 */
import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '../../src/nn/safetensors.js';
import { decodeImage } from '../../src/data/image-codecs.js';
import { IDX_IMAGES_MAGIC, readIdx } from '../../src/data/idx.js';
import { FileByteSource } from '../../src/data/node-files.js';

const [kind, file] = process.argv.slice(2) as [string, string];
let error: string | null = null;
try {
  if (kind === 'safetensors') decodeSafetensors(new Uint8Array(readFileSync(file)), file);
  else if (kind === 'png') decodeImage(new Uint8Array(readFileSync(file)), file);
  else if (kind === 'idx') {
    const source = await FileByteSource.open(file);
    try {
      await readIdx(source, IDX_IMAGES_MAGIC);
    } finally {
      await source.close();
    }
  } else throw new Error(`unknown kind ${kind}`);
} catch (e) {
  error = `${(e as Error).name}: ${(e as Error).message}`;
}
process.stdout.write(`${JSON.stringify({ error, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
