/**
 * A command for test/cli/quiet.test.ts: writes Dawn's two notices and a line of its own straight to fd 2 (as
 * native code does), lines through process.stderr and console.error, a line to stdout, and exits with 5.
 */
import { writeSync } from 'node:fs';

const notice = (kind: string): string =>
  `Warning: maxDynamic${kind}BuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n`;
writeSync(2, notice('Uniform'));
writeSync(2, 'native: a line that is not a notice\n');
writeSync(2, notice('Storage'));
process.stderr.write(`own: process.stderr (isTTY ${process.stderr.isTTY === true})\n`);
console.error('own: console.error');
console.log('own: stdout');
process.exitCode = 5;
