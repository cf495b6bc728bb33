#!/usr/bin/env node
// Exits 0 and prints the adapter's name when Dawn finds a WebGPU adapter on this machine, 1 otherwise.
import { create, globals } from 'webgpu';
import { tmpdir } from 'node:os';

process.env.XDG_RUNTIME_DIR ??= tmpdir();
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter();
if (!adapter) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const i = adapter.info;
console.log([i.vendor, i.architecture, i.description].filter(Boolean).join(' / '));
process.exit(0);
