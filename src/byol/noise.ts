/**
 * How much each reported difference varies between seeds, as measured over repeated runs of a preset and
 * recorded under results/. A single-seed run sets its differences against these figures, so that it never
 * shows a user a difference smaller than its noise as a result. The figures hold for the preset's own
 * settings only: a run that changes any of them is told that its noise has not been measured.
 */
import { presetConfig, type ExperimentConfig, type PresetName } from './config.js';
import type { DifferenceName } from './report.js';

export interface RecordedNoise {
  /** Where the figures come from (a folder under results/). */
  source: string;
  seeds: number;
  /** Sample standard deviation over seeds of each paired difference, as a fraction (0.01 = 1 point). */
  sd: Partial<Record<DifferenceName, number>>;
}

interface Recorded extends RecordedNoise {
  preset: PresetName;
  /** Which --dataset values the study stands for. */
  datasets: (spec: string) => boolean;
}

const RECORDED: Recorded[] = [
  {
    // npm run train:byol -- --seeds 0,1,2 (2026-12-01): differences +2.4, +2.6, −0.8; −7.8, −5.0, −9.8; −6.6, −6.2, −2.6.
    preset: 'quick',
    datasets: (spec) => spec === 'fashion-mnist',
    source: 'results/byol-quick',
    seeds: 3,
    sd: { 'fine-tuned − supervised': 0.0191, 'linear probe: pretrained − random': 0.0241, 'kNN: pretrained − random': 0.022 },
  },
  {
    // npm run train:byol -- --preset cifar --dataset folder:../shared/data/cifar10-jpg --seeds 0,1,2 (2026-12-01):
    // differences −0.10, −0.50, −1.20; −0.80, −0.95, −4.45; +1.25, +1.10, −1.30 points.
    preset: 'cifar',
    datasets: (spec) => spec === 'cifar10' || spec.startsWith('folder:'),
    source: 'results/byol-cifar',
    seeds: 3,
    sd: { 'fine-tuned − supervised': 0.0056, 'linear probe: pretrained − random': 0.0207, 'kNN: pretrained − random': 0.0143 },
  },
];

/** The settings that decide a run's numbers, without the seed and the dataset's location. */
function protocol(c: ExperimentConfig): string {
  return JSON.stringify({ ...c, seed: undefined, dataset: undefined });
}

/** The recorded noise of a run's settings, if they are a preset's own (any seed) on the dataset it was measured on. */
export function recordedNoise(config: ExperimentConfig): RecordedNoise | undefined {
  const r = RECORDED.find((n) => n.preset === config.preset && n.datasets(config.dataset));
  if (!r) return undefined;
  const preset = presetConfig(config.preset);
  if (protocol({ ...preset, preset: config.preset }) !== protocol(config)) return undefined;
  return { source: r.source, seeds: r.seeds, sd: r.sd };
}
