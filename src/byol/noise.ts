/**
 * How much each reported difference varies between seeds, as measured over repeated runs of a preset and
 * recorded under results/. A single-seed run sets its differences against these figures, so that it never
 * shows a user a difference smaller than its noise as a result.
 */
import type { DifferenceName } from './report.js';

export interface RecordedNoise {
  /** Where the figures come from (a folder under results/ and the command that produced them). */
  source: string;
  seeds: number;
  /** Sample standard deviation over seeds of each paired difference, as a fraction (0.01 = 1 point). */
  sd: Partial<Record<DifferenceName, number>>;
}

const RECORDED: Record<string, RecordedNoise> = {};

export function recordedNoise(preset: string): RecordedNoise | undefined {
  return RECORDED[preset];
}
