/**
 * scripts/presets.json, which the PyTorch reference reads its presets from, is src/byol/config.ts's PRESETS
 * as the engine writes them: a preset changed without rewriting the file fails here.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { presetsJson } from '../../src/cli/write-presets.js';
import { PRESETS } from '../../src/byol/config.js';

it('scripts/presets.json holds the engine presets (rewrite it with node scripts/run-ts.mjs src/cli/write-presets.ts)', () => {
  const onDisk = readFileSync(new URL('../../scripts/presets.json', import.meta.url), 'utf8');
  expect(onDisk).toBe(presetsJson());
  expect(Object.keys(JSON.parse(onDisk))).toEqual(Object.keys(PRESETS));
});
