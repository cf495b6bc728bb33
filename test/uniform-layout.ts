/**
 * A check that every kernel's parameter block, as its TypeScript launcher builds it (`Params` in
 * src/kernels/util.ts), matches the WGSL struct its shader declares for `var<uniform>`: the same size (in
 * 16-byte units, as bound) and, word by word, the same type (u32 and i32 against `Params.u32`, f32 against
 * `Params.f32`). The layouts are written twice by hand, once on each side; this catches a field added,
 * dropped or moved on one side only. test/setup.ts installs it for every test, so every dispatch the suite
 * makes is checked.
 */
import { Params } from '../src/kernels/util.js';
import { GpuRuntime, type DispatchSpec } from '../src/gpu/runtime.js';

/** The type of each 32-bit word of a struct: 'u' (u32, i32), 'f' (f32), or null for alignment padding. */
export type WordTypes = ('u' | 'f' | null)[];

interface Layout {
  words: WordTypes;
  /** Names of the field each word belongs to (for messages). */
  fields: (string | null)[];
}

function scalarKind(t: string): 'u' | 'f' | null {
  if (t === 'u32' || t === 'i32') return 'u';
  if (t === 'f32') return 'f';
  return null;
}

/** Size, alignment and word types of a WGSL type in the uniform address space (the types the engine uses). */
function typeLayout(t: string): { size: number; align: number; words: WordTypes } {
  t = t.replace(/\s+/g, '');
  const scalar = scalarKind(t);
  if (scalar) return { size: 4, align: 4, words: [scalar] };
  const vec = /^vec([234])<(\w+)>$/.exec(t);
  if (vec) {
    const n = Number(vec[1]);
    const k = scalarKind(vec[2]!);
    if (!k) throw new Error(`uniform layout: unsupported vector element type in ${t}`);
    const align = n === 2 ? 8 : 16;
    return { size: 4 * n, align, words: Array(n).fill(k) };
  }
  const arr = /^array<(.+),(\d+)u?>$/.exec(t);
  if (arr) {
    const el = typeLayout(arr[1]!);
    const count = Number(arr[2]);
    // Uniform arrays: the element stride is a multiple of 16.
    const stride = Math.ceil(Math.max(el.size, el.align) / 16) * 16;
    const words: WordTypes = [];
    for (let i = 0; i < count; i++) {
      words.push(...el.words);
      for (let w = el.size; w < stride; w += 4) words.push(null);
    }
    return { size: stride * count, align: Math.max(16, el.align), words };
  }
  throw new Error(`uniform layout: unsupported WGSL type ${t}`);
}

/** The word layout of the struct behind a shader's `var<uniform>`, or null when it has none. */
export function uniformLayout(code: string): Layout | null {
  const v = /var<uniform>\s*\w+\s*:\s*(\w+)\s*;/.exec(code);
  if (!v) return null;
  const s = new RegExp(`struct\\s+${v[1]}\\s*\\{([^}]*)\\}`).exec(code);
  if (!s) throw new Error(`uniform layout: struct ${v[1]} not found`);
  const body = s[1]!.replace(/\/\/[^\n]*/g, '');
  const words: WordTypes = [];
  const fields: (string | null)[] = [];
  let offset = 0;
  let structAlign = 4;
  // Split on commas outside angle brackets (array<vec4<u32>, 2>).
  const members: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === ',' && depth === 0) {
      members.push(cur);
      cur = '';
    } else cur += ch;
  }
  members.push(cur);
  for (const m of members.map((x) => x.trim()).filter(Boolean)) {
    const colon = m.indexOf(':');
    const name = m.slice(0, colon).replace(/@\w+(\([^)]*\))?/g, '').trim();
    const t = typeLayout(m.slice(colon + 1));
    structAlign = Math.max(structAlign, t.align);
    while (offset % t.align) {
      words.push(null);
      fields.push(null);
      offset += 4;
    }
    for (const w of t.words) {
      words.push(w);
      fields.push(name);
    }
    offset += t.size;
  }
  while (offset % structAlign) {
    words.push(null);
    fields.push(null);
    offset += 4;
  }
  return { words, fields };
}

const built = new WeakMap<ArrayBuffer, ('u' | 'f')[]>();
const layouts = new Map<string, Layout | null>();

/** Throws when `spec`'s parameter block does not match its shader's uniform struct. */
export function checkUniformLayout(spec: Pick<DispatchSpec, 'op' | 'shader' | 'uniforms'>, types?: readonly ('u' | 'f')[]): void {
  const { code, name } = spec.shader;
  let layout = layouts.get(code);
  if (layout === undefined) layouts.set(code, (layout = uniformLayout(code)));
  if (!spec.uniforms) {
    if (layout) throw new Error(`${spec.op} (${name}): the shader declares a uniform struct, the launcher passes none`);
    return;
  }
  if (!layout) throw new Error(`${spec.op} (${name}): the launcher passes parameters, the shader declares no var<uniform>`);
  const bytes = spec.uniforms.byteLength;
  const want = Math.ceil((layout.words.length * 4) / 16) * 16;
  if (Math.ceil(bytes / 16) * 16 !== want) {
    throw new Error(`${spec.op} (${name}): the launcher's parameter block has ${bytes} bytes, the shader's struct ${layout.words.length * 4} (${layout.fields.filter((f, i) => f && f !== layout!.fields[i - 1]).join(', ')})`);
  }
  if (!types) return;
  for (let i = 0; i < layout.words.length; i++) {
    const w = layout.words[i];
    const got = types[i];
    if (w && got && w !== got) {
      throw new Error(
        `${spec.op} (${name}): word ${i} of the parameter block is written as ${got === 'u' ? 'u32' : 'f32'}, the shader reads it as ${w === 'u' ? 'u32/i32' : 'f32'} (field ${layout.fields[i]})`,
      );
    }
  }
}

/** Records the word types of every Params block built, and checks every dispatch's block against its shader. */
export function installUniformLayoutCheck(): void {
  const proto = Params.prototype as unknown as { build(): ArrayBuffer; types: ('u' | 'f')[] };
  const build = proto.build;
  proto.build = function (this: { types: ('u' | 'f')[] }) {
    const buf = build.call(this);
    built.set(buf, [...this.types]);
    return buf;
  };
  const dispatch = GpuRuntime.prototype.dispatch;
  GpuRuntime.prototype.dispatch = function (this: GpuRuntime, spec: DispatchSpec) {
    const u = spec.uniforms;
    const types = u instanceof ArrayBuffer ? built.get(u) : undefined;
    checkUniformLayout(spec, types);
    return dispatch.call(this, spec);
  };
}
