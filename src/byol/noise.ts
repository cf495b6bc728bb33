/**
 * How much each reported difference varies between seeds, as measured over repeated runs of a preset and
 * recorded under results/. A single-seed run sets its differences against these figures, so that it never
 * shows a user a difference smaller than its noise as a result.
 *
 * Each record names the protocol it was measured on: a fingerprint of every setting that decides a run's
 * numbers (the seed and the dataset's location aside) and of the evaluation's version. A run whose settings,
 * or whose evaluation, differ in anything is told that its noise has not been measured, so a preset changed
 * without measuring it again never borrows another protocol's spread. A record counts only when it holds at
 * least {@link MIN_SEEDS} seeds: with fewer, the sd is itself too uncertain to judge by (three seeds leave
 * it uncertain by about ±50 %).
 */
import type { ExperimentConfig, PresetName } from './config.js';
import type { DifferenceName } from './report.js';

/**
 * The version of how encoders and classifiers are evaluated. 2 (2026-12-05): every encoder evaluation (kNN,
 * linear probe, pictures) takes its features with batch-norm statistics re-estimated on the labeled images;
 * before, the random encoder kept its initial statistics and the pretrained one its BYOL views'.
 */
export const EVALUATION_VERSION = 2;

/** Seeds a record needs before a single-seed run is judged by it. */
export const MIN_SEEDS = 5;

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
  /** protocolFingerprint() of the settings the study ran. */
  protocol: string;
}

/** A CIFAR-10 spec: the binary release (`cifar10`) or a folder whose path names it. */
const isCifar10 = (spec: string) => spec === 'cifar10' || (spec.startsWith('folder:') && /cifar-?10/i.test(spec));

const RECORDED: Recorded[] = [
  {
    // `npm run train:byol -- --seeds 0,1,2,3,4` (2026-12-06, lavapipe): sd of the paired differences over 5 seeds.
    preset: 'quick',
    datasets: (spec) => spec === 'fashion-mnist',
    protocol: 'bb9e65146f4bdb2e',
    source: 'results/byol-quick/eval2-5seeds-2026-12-06',
    seeds: 5,
    sd: { 'fine-tuned − supervised': 0.0076, 'linear probe: pretrained − random': 0.0154, 'kNN: pretrained − random': 0.0126 },
  },
  {
    // `npm run train:byol -- --preset cifar --dataset folder:../shared/data/cifar10-jpg --seeds 0,1,2,3,4`
    // (2026-12-06, lavapipe; the JPEG folder holds 20,000 of CIFAR-10's training images and its test split).
    preset: 'cifar',
    datasets: isCifar10,
    protocol: 'f239869089a40586',
    source: 'results/byol-cifar/adamw-5seeds-2026-12-06',
    seeds: 5,
    sd: { 'fine-tuned − supervised': 0.0072, 'linear probe: pretrained − random': 0.0134, 'kNN: pretrained − random': 0.0066 },
  },
];

/** The settings that decide a run's numbers, without the seed and the dataset's location, and the evaluation's version. */
export function protocolFingerprint(c: ExperimentConfig): string {
  const text = JSON.stringify({ ...c, seed: undefined, dataset: undefined, evaluation: EVALUATION_VERSION });
  // FNV-1a, 32 bits, twice with different offsets: a short name for the text, not a security measure.
  const fnv = (offset: number) => {
    let h = offset >>> 0;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return h.toString(16).padStart(8, '0');
  };
  return fnv(0x811c9dc5) + fnv(0x050c5d1f);
}

/** The recorded noise of a run's settings, if a study of at least MIN_SEEDS seeds measured exactly them on this kind of dataset. */
export function recordedNoise(config: ExperimentConfig, recorded: readonly Recorded[] = RECORDED): RecordedNoise | undefined {
  const key = protocolFingerprint(config);
  const r = recorded.find((n) => n.preset === config.preset && n.datasets(config.dataset) && n.protocol === key && n.seeds >= MIN_SEEDS);
  return r ? { source: r.source, seeds: r.seeds, sd: r.sd } : undefined;
}
