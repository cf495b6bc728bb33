/** A tiny image-folder dataset (train/ and test/, three classes of 16×16 PNGs with class-specific shapes). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';

function writeImages(data: string, split: string, perClass: number): void {
  const classes = ['circle', 'stripes', 'corner'];
  classes.forEach((name, c) => {
    const dir = join(data, split, name);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const png = new PNG({ width: 16, height: 16 });
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const on = c === 0 ? (x - 8) ** 2 + (y - 8) ** 2 < 25 + i : c === 1 ? (x + i) % 4 < 2 : x + y < 10 + (i % 5);
          const k = (y * 16 + x) * 4;
          png.data[k] = on ? 220 - 3 * i : 20 + i;
          png.data[k + 1] = on ? 60 + 40 * c : 30;
          png.data[k + 2] = on ? 40 : 200 - 5 * i;
          png.data[k + 3] = 255;
        }
      }
      writeFileSync(join(dir, `${String(i).padStart(3, '0')}.png`), PNG.sync.write(png));
    }
  });
}

/** Writes 40 training and 10 test images per class under `data`. */
export function writeFolderDataset(data: string): void {
  writeImages(data, 'train', 40);
  writeImages(data, 'test', 10);
}
