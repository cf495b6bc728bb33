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
 * before, the random encoder kept its initial statistics and the pretrained one its BYOL views'. 3
 * (2026-12-07): the random arm is the mean over config.randomDraws random encoders, not the one BYOL starts
 * from alone (a setting of its own, so the fingerprint changes with it too; the version says the arm's meaning
 * changed).
 */
export const EVALUATION_VERSION = 3;

/** Seeds a record needs before a single-seed run is judged by it. */
export const MIN_SEEDS = 5;

export interface RecordedNoise {
  /** Where the figures come from (a folder under results/). */
  source: string;
  seeds: number;
  /** Sample standard deviation over seeds of each paired difference, as a fraction (0.01 = 1 point). */
  sd: Partial<Record<DifferenceName, number>>;
  /** The study's result: each paired difference's mean over its seeds and that mean's standard error (fractions, as its summary.json). */
  result: Partial<Record<DifferenceName, { mean: number; se: number }>>;
  /** The command that runs the study on data a user can get (`npm run data`), and the data the study ran on. */
  command: string;
  ranOn: string;
  /** The settings' images of BYOL pretraining per seed. */
  images: number;
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
    // `npm run train:byol -- --seeds 0,1,2,3,4` (2026-12-07, lavapipe): the quick preset since 2026-12-07.
    preset: 'quick',
    datasets: (spec) => spec === 'fashion-mnist',
    protocol: 'b1c2c9d9220b446b',
    source: 'results/byol-quick/adamw-5seeds-2026-12-07',
    command: 'npm run train:byol -- --seeds 0,1,2,3,4',
    ranOn: 'Fashion-MNIST',
    images: 15360,
    seeds: 5,
    sd: { 'fine-tuned − supervised': 0.0390, 'linear probe: pretrained − random': 0.0112, 'kNN: pretrained − random': 0.0164 },
    result: {
      'fine-tuned − supervised': { mean: 0.04120000133514403, se: 0.01743100622259025 },
      'linear probe: pretrained − random': { mean: 0.07989999999999997, se: 0.004994747240852152 },
      'kNN: pretrained − random': { mean: -0.008549999999999992, se: 0.0073209459771261835 },
    },
  },
  {
    // The quick preset until 2026-12-07 (LARS, 3,072 images; reached with --optimizer lars --lr 0.2 --tau 0.996
    // --crop-min-scale 0.08 --blur on --unlabeled 1536 --epochs 2 --warmup-epochs 0 --curve-every 1536): seeds 0–4
    // of 2026-12-06 (results/byol-quick/eval2-5seeds-2026-12-06, lavapipe), their random arm evaluated again as
    // the mean of 8 draws (scripts/reevaluate-random-arm.ts, 2026-12-07). A loss: runs of them say so first.
    preset: 'quick',
    datasets: (spec) => spec === 'fashion-mnist',
    protocol: '17abc875ada8d793',
    source: 'results/byol-quick/eval3-5seeds-2026-12-07',
    command: 'npm run train:byol -- --seeds 0,1,2,3,4',
    ranOn: 'Fashion-MNIST',
    images: 3072,
    seeds: 5,
    sd: { 'fine-tuned − supervised': 0.0076, 'linear probe: pretrained − random': 0.0134, 'kNN: pretrained − random': 0.0083 },
    result: {
      'fine-tuned − supervised': { mean: 0.015200000381469713, se: 0.003382308407902952 },
      'linear probe: pretrained − random': { mean: -0.022350000000000002, se: 0.006003436515863229 },
      'kNN: pretrained − random': { mean: -0.008399999999999986, se: 0.003717021657187381 },
    },
  },
  {
    // Seeds 0–4 of 2026-12-06 on the JPEG folder of 20,000 of CIFAR-10's training images and its test split
    // (results/byol-cifar/adamw-5seeds-2026-12-06, lavapipe), their random arm evaluated again as the mean of 8
    // draws (scripts/reevaluate-random-arm.ts, 2026-12-07).
    preset: 'cifar',
    datasets: isCifar10,
    protocol: '82bc7179c3fe048b',
    source: 'results/byol-cifar/eval3-5seeds-2026-12-07',
    command: 'npm run data -- cifar10 && npm run train:byol -- --preset cifar --seeds 0,1,2,3,4',
    ranOn: "a folder of 20,000 of CIFAR-10's training images and its test split",
    images: 49920,
    seeds: 5,
    sd: { 'fine-tuned − supervised': 0.0072, 'linear probe: pretrained − random': 0.0121, 'kNN: pretrained − random': 0.0109 },
    result: {
      'fine-tuned − supervised': { mean: 0.016700000000000003, se: 0.0032000000000000036 },
      'linear probe: pretrained − random': { mean: 0.06844999999999998, se: 0.0053905443834551614 },
      'kNN: pretrained − random': { mean: 0.05850000000000002, se: 0.004886644746142283 },
    },
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
  return r ? { source: r.source, seeds: r.seeds, sd: r.sd, result: r.result, command: r.command, ranOn: r.ranOn, images: r.images } : undefined;
}

/** The recorded study of a preset that shows every difference as a gain beyond 2 SE, if one does. */
export function recordedGains(recorded: readonly Recorded[] = RECORDED): (RecordedNoise & { preset: PresetName }) | undefined {
  const r = recorded.find((n) => n.seeds >= MIN_SEEDS && Object.keys(n.result).length > 0 && Object.values(n.result).every((d) => d.mean > 2 * d.se));
  return r ? { preset: r.preset, source: r.source, seeds: r.seeds, sd: r.sd, result: r.result, command: r.command, ranOn: r.ranOn, images: r.images } : undefined;
}
