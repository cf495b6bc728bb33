/**
 * Writes the random encoders this engine's runs start from, one safetensors file per seed
 * (OUT/engine-random-N.safetensors, torchvision's names), so that another evaluator can judge this engine's
 * initialization beside its own: scripts/random_encoder_study.py evaluates them with the PyTorch reference's
 * evaluation beside torch's initializations.
 *
 *   node scripts/cli.mjs scripts/random-encoders.ts --settings RUN/summary.json --seeds 0,1,2 --out DIR
 *
 * The encoder of seed N is the one `npm run train:byol -- --seed N` evaluates as "the random encoder" and starts
 * BYOL from (src/byol/inspect.ts's randomEncoder), with the stem and width of the run's settings.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { init } from '../src/tensor/engine.js';
import { randomEncoder } from '../src/byol/inspect.js';
import { encodeCheckpoint } from '../src/nn/checkpoint.js';
import { writeFileAtomic } from '../src/nn/checkpoint-node.js';
import { outputFolder, parseCommandLine, type CommandSpec } from '../src/cli/args.js';

const SPEC: CommandSpec = {
  usage: `usage: node scripts/cli.mjs scripts/random-encoders.ts --settings FILE --seeds N,N,... --out DIR

Writes DIR/engine-random-N.safetensors: the random encoder a run of seed N starts from.
  --settings FILE   a run's summary.json (its settings give the stem and width)
  --seeds LIST      the seeds, comma-separated
  --out DIR         the folder to write into (created if missing)`,
  flags: {
    settings: { kind: 'string' },
    seeds: { kind: 'int-list', min: 0 },
    out: { kind: 'string', check: outputFolder },
  },
};

/** The stem and width of a run's settings (summary.json's `settings`, or the settings object itself). */
export function encoderShape(file: string): { stem: 'imagenet' | 'small'; width: number } {
  if (!existsSync(file)) throw new Error(`--settings: ${file} does not exist; give a run's summary.json`);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { settings?: Record<string, unknown> } & Record<string, unknown>;
  const s = raw.settings ?? raw;
  const stem = s.stem;
  const width = s.width;
  if ((stem !== 'imagenet' && stem !== 'small') || typeof width !== 'number') {
    throw new Error(`--settings: ${file} names no stem ('imagenet' or 'small') and width; give a run's summary.json`);
  }
  return { stem, width };
}

async function main(): Promise<number> {
  const parsed = parseCommandLine(process.argv.slice(2), SPEC);
  if (typeof parsed === 'number') return parsed;
  const { settings, seeds, out } = parsed.flags as { settings?: string; seeds?: string; out?: string };
  if (!settings || !seeds || !out) {
    process.stderr.write(`error: --settings, --seeds and --out are all needed\n\n${SPEC.usage}\n`);
    return 2;
  }
  const shape = encoderShape(settings);
  await init();
  mkdirSync(out, { recursive: true });
  for (const seed of seeds.split(',').map(Number)) {
    const encoder = randomEncoder({ seed, ...shape });
    try {
      const path = join(out, `engine-random-${seed}.safetensors`);
      writeFileAtomic(path, await encodeCheckpoint({ model: encoder, metadata: { 'byol.randomEncoderSeed': String(seed) } }));
      console.log(`wrote ${path}`);
    } finally {
      encoder.dispose();
    }
  }
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
