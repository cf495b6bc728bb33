/**
 * Node side of the encoder pictures (src/byol/inspect.ts): draws the random and the pretrained encoder's
 * nearest neighbours and embedding map, and writes them as OUT/neighbours.png and OUT/embedding.png. Used by
 * `npm run train:byol` at the end of a run and by `npm run embed` for any saved encoder.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { ExperimentConfig } from '../byol/config.js';
import {
  EncoderFileError,
  encoderFromCheckpoint,
  encoderPictures,
  pictureLines,
  randomEncoder,
  type EncoderPictures,
  type InspectData,
  type InspectOptions,
  type LoadedEncoder,
} from '../byol/inspect.js';
import { writeFileAtomic } from '../nn/checkpoint-node.js';
import { renderPng } from './render-png.js';

const PICTURES = ['neighbours.png', 'embedding.png'] as const;

/** An SVG drawn to PNG by resvg with the system's fonts (DejaVu Sans, as the charts). */
export function svgToPng(svg: string): Uint8Array {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
}

/** Writes both pictures into `dir`; returns their paths. */
export async function writePictures(dir: string, p: EncoderPictures): Promise<string[]> {
  const neighbours = join(dir, PICTURES[0]);
  const embedding = join(dir, PICTURES[1]);
  writeFileAtomic(neighbours, svgToPng(p.neighboursSvg));
  writeFileAtomic(embedding, await renderPng(p.embeddingSpec, 2));
  return [neighbours, embedding];
}

/** The ResNet-18 encoder in a safetensors file (EncoderFileError for a missing, unreadable or other file). */
export function loadEncoderFile(file: string): LoadedEncoder {
  if (!existsSync(file)) throw new EncoderFileError(`${file}: no such file`);
  if (!statSync(file).isFile()) throw new EncoderFileError(`${file} is not a file`);
  return encoderFromCheckpoint(new Uint8Array(readFileSync(file)), file);
}

/**
 * The pictures of `loaded` (the pretrained encoder) beside the random encoder the run's settings start from
 * (`config.seed`, with the loaded encoder's stem and width), on the run's labeled and test images; written
 * into `dir`. Disposes the loaded encoder.
 */
export async function drawEncoderPictures(
  loaded: LoadedEncoder,
  data: InspectData,
  config: Pick<ExperimentConfig, 'imageSize' | 'batch' | 'knnK' | 'seed'>,
  dir: string,
  options: InspectOptions = {},
): Promise<{ pictures: EncoderPictures; lines: string[]; paths: string[] }> {
  const random = randomEncoder({ seed: config.seed, stem: loaded.stem, width: loaded.width });
  try {
    const pictures = await encoderPictures(
      [
        { name: 'random encoder', encoder: random },
        { name: 'pretrained encoder', encoder: loaded.encoder },
      ],
      data,
      config,
      options,
    );
    const paths = await writePictures(dir, pictures);
    return { pictures, lines: pictureLines(pictures), paths };
  } finally {
    random.dispose();
    loaded.encoder.dispose();
  }
}
