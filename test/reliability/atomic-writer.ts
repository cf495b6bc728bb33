// Child process for atomic-write.test.ts: rewrites one file forever, alternating two large contents.
import { writeFileAtomic } from '../../src/nn/checkpoint-node.js';

const [path, sizeArg] = process.argv.slice(2);
const size = Number(sizeArg);
const contents = [1, 2].map((v) => new Uint8Array(size).fill(v));
process.stdout.write('ready\n');
for (let i = 0; ; i++) writeFileAtomic(path, contents[i % 2]);
