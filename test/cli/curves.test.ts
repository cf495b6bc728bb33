import { expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { curvesSpec, OKABE_ITO, type CurvePoint } from '../../src/byol/curves.js';
import { renderPng } from '../../src/cli/render-png.js';

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

it('draws learning curves of both arms as a PNG with the palette colours and axis text', async () => {
  const points: CurvePoint[] = [];
  for (let epoch = 1; epoch <= 6; epoch++) {
    points.push({ arm: 'supervised', metric: 'test accuracy', epoch, value: 0.4 + 0.05 * epoch });
    points.push({ arm: 'BYOL + fine-tune', metric: 'test accuracy', epoch, value: 0.45 + 0.06 * epoch });
    points.push({ arm: 'supervised', metric: 'train loss', epoch, value: 2 / epoch });
    points.push({ arm: 'BYOL + fine-tune', metric: 'train loss', epoch, value: 1.7 / epoch });
  }
  const png = PNG.sync.read(Buffer.from(await renderPng(curvesSpec(points, 'test'))));
  expect(png.width).toBeGreaterThan(600);
  expect(png.height).toBeGreaterThan(300);
  const count = (rgb: [number, number, number]) => {
    let n = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      if (Math.abs(png.data[i] - rgb[0]) < 8 && Math.abs(png.data[i + 1] - rgb[1]) < 8 && Math.abs(png.data[i + 2] - rgb[2]) < 8) n++;
    }
    return n;
  };
  // Both arms' lines are drawn, each in its own palette colour; text (dark pixels) is rendered.
  expect(count(hex(OKABE_ITO[0]))).toBeGreaterThan(200);
  expect(count(hex(OKABE_ITO[1]))).toBeGreaterThan(200);
  let dark = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i] < 60 && png.data[i + 1] < 60 && png.data[i + 2] < 60) dark++;
  expect(dark).toBeGreaterThan(500);
});
