/**
 * Writes scripts/presets.json: src/byol/config.ts's presets, which the PyTorch reference (scripts/
 * byol_reference.py) reads so that it runs the engine's protocol without a copy of its own. Run after
 * changing a preset: `node scripts/run-ts.mjs src/cli/write-presets.ts` (test/byol/presets-file.test.ts fails
 * while the file differs).
 */
import { writeFileSync } from 'node:fs';
import { PRESETS } from '../byol/config.js';

/** The file's text: the presets as JSON, two-space indented, with a final newline. */
export const presetsJson = (): string => JSON.stringify(PRESETS, null, 2) + '\n';

if (process.argv[1] && /write-presets/.test(process.argv[1])) {
  // From the project's root (run-ts bundles this file elsewhere, so no path relative to it would do).
  const file = process.argv[2] ?? 'scripts/presets.json';
  writeFileSync(file, presetsJson());
  console.log(`wrote ${file}`);
}
