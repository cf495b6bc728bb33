/** The protocol's small rules: when the classifier arms evaluate, and BYOL's views from the config. */
import { expect, it } from 'vitest';
import { byolViews } from '../../src/byol/byol-phase.js';
import { evaluatesAfter } from '../../src/byol/classifier-phase.js';
import { BYOL_VIEW_1, BYOL_VIEW_2 } from '../../src/byol/augment.js';
import { presetConfig } from '../../src/byol/config.js';

it('evaluates the classifier arms at evenly spread epochs and always at the last', () => {
  const at = (epochs: number, n: number) => Array.from({ length: epochs }, (_, i) => i + 1).filter((e) => evaluatesAfter(e, epochs, n));
  expect(at(30, 5)).toEqual([6, 12, 18, 24, 30]);
  expect(at(7, 3)).toEqual([3, 6, 7]);
  expect(at(4, 8)).toEqual([1, 2, 3, 4]);
});

it("builds BYOL's two views with the config's crop scale and blur, the paper's views with the paper's settings (the full preset)", () => {
  const c = presetConfig('full');
  expect(byolViews(c)).toEqual([BYOL_VIEW_1, BYOL_VIEW_2].map((v) => ({ ...v, crop: { ratio: v.crop!.ratio, scale: [0.08, 1] } })));
  const [a, b] = byolViews({ byol: { ...c.byol, cropMinScale: 0.3, blur: false } });
  for (const v of [a, b]) {
    expect(v.crop!.scale).toEqual([0.3, 1]);
    expect(v.blur.p).toBe(0);
  }
  expect(a.solarize).toEqual(BYOL_VIEW_1.solarize);
  expect(b.solarize).toEqual(BYOL_VIEW_2.solarize);
});
