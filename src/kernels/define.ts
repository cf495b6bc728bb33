/**
 * A kernel declared once: its name, the fields of its parameter block, its storage bindings, its `override`
 * constants and its WGSL body. The WGSL declarations of all of them (the parameter struct, `var<uniform>`,
 * the `var<storage>` lines, the `override` lines and global directives such as `enable`) are generated from the
 * declaration, and a launch names every parameter, binding and constant, typed from it: a field missing,
 * extra or misspelt is a compile error (and, where the compiler cannot see it, a thrown one before any GPU
 * work). The body in shaders/*.wgsl uses the names as declared (`p.N`, `x[i]`, `WG`).
 */
import { StepValue, uniformPatches, type UniformPatch } from '../gpu/step-encoder.js';
import type { DispatchSpec, ShaderSource, StorageBinding } from '../gpu/runtime.js';
import { getRuntime } from '../tensor/engine.js';

/** The largest rank an `array<vec4<u32>, 2>` field (a shape or strides) holds. */
export const MAX_RANK = 8;

/**
 * The WGSL types a parameter block holds. `array<vec4<u32>, 2>` carries up to MAX_RANK sizes or strides
 * (zero-filled); the vec4 and array fields start on a 16-byte boundary, as WGSL's uniform layout puts them.
 */
export type ParamType = 'u32' | 'i32' | 'f32' | 'step u32' | 'step f32' | 'vec4<f32>' | 'array<vec4<u32>, 2>';

/** A parameter block's fields, in order, by WGSL name. */
export type ParamSchema = Readonly<Record<string, ParamType>>;

/**
 * What a launch passes for a field of each type: a StepValue for a field declared per step ('step f32',
 * 'step u32': read afresh by every replay of a captured step), a number for the other scalars (baked into a
 * record), a list for the vector and array fields.
 */
export type ParamValue<T extends ParamType> = T extends 'step u32' | 'step f32' ? StepValue : T extends 'u32' | 'i32' | 'f32' ? number : readonly number[];

/** The parameters of a launch, one entry per field of the schema. */
export type ParamValues<S extends ParamSchema> = { readonly [K in keyof S]: ParamValue<S[K]> };

/** A storage binding's access and WGSL type, e.g. `'read array<f32>'` or `'read_write array<vec4<f32>>'`. */
export type StorageDecl = `read ${string}` | `read_write ${string}`;

/**
 * An `override` constant: its default (a number for u32, a boolean for bool), or its type alone ('u32',
 * 'bool') when every launch must set it.
 */
export type ConstantDecl = number | boolean | 'u32' | 'bool';

/** What a launch passes for a constant: a boolean for bool, a number for u32. */
export type ConstantValue<D extends ConstantDecl> = D extends boolean | 'bool' ? boolean : number;
/** The names of the constants declared without a default. */
export type RequiredConstants<C> = { [K in keyof C]: C[K] extends 'u32' | 'bool' ? K : never }[keyof C];

/** The constants of a launch: those without a default are required, the others optional. */
export type ConstantValues<C extends Readonly<Record<string, ConstantDecl>>> = {
  readonly [K in RequiredConstants<C>]: ConstantValue<C[K]>;
} & { readonly [K in Exclude<keyof C, RequiredConstants<C>>]?: ConstantValue<C[K]> };

/** What {@link defineKernel} takes: everything a kernel's launches and its WGSL share. */
export interface KernelDeclaration<
  S extends ParamSchema,
  B extends Readonly<Record<string, StorageDecl>>,
  C extends Readonly<Record<string, ConstantDecl>>,
> {
  /** A short name for labels, errors and profiles, e.g. 'conv2d_forward'. */
  name: string;
  /** Global directives the body needs, without the semicolon: `enable subgroups`, `diagnostic(off, ...)`. */
  directives?: readonly string[];
  /** The parameter block, bound at binding 0 as `p` (a struct `Params`); omit for a kernel without one. */
  params?: S;
  /** Storage buffers, bound in this order after the parameter block. */
  storage: B;
  /**
   * Further views of a storage binding under another name and WGSL type (same binding, same access), e.g.
   * `{ A4: ['A', 'array<vec4<f32>>'] }`; each entry point may use one view of a binding.
   */
  aliases?: Readonly<Record<string, readonly [binding: keyof B & string, type: string]>>;
  /** `override` constants. */
  constants?: C;
  /** The WGSL body (helper functions and the entry point), or its pieces in order. */
  code: string | readonly string[];
}

/** A launch's `params`: required when the kernel declares parameters. */
export type LaunchParams<S extends ParamSchema> = keyof S extends never
  ? {
      /** None: the kernel has no parameter block. */
      params?: undefined;
    }
  : {
      /** Every declared parameter, by name. */
      params: ParamValues<S>;
    };
/** A launch's `constants`: required when a constant has no default. */
export type LaunchConstants<C extends Readonly<Record<string, ConstantDecl>>> = RequiredConstants<C> extends never
  ? {
      /** Values for some of the constants; the others keep their defaults. */
      constants?: ConstantValues<C>;
    }
  : {
      /** Values for the constants: those without a default, and any others to set. */
      constants: ConstantValues<C>;
    };

/** One launch of a declared kernel. */
export type KernelLaunch<
  S extends ParamSchema,
  B extends Readonly<Record<string, StorageDecl>>,
  C extends Readonly<Record<string, ConstantDecl>>,
> = {
  /** The op this dispatch belongs to, for errors and profiles, e.g. 'conv2d.backwardFilter'. */
  op: string;
  /** One buffer range per declared binding, by name. */
  storage: { readonly [K in keyof B]: StorageBinding };
  /** Workgroups in x, y and z (y and z default to 1). */
  workgroups: [number, number?, number?];
  /** The entry point; default 'main'. */
  entry?: string;
} & LaunchParams<S> &
  LaunchConstants<C>;

interface Field {
  name: string;
  type: ParamType;
  /** The field's first 32-bit word in the block. */
  word: number;
}

const TYPE_WORDS: Record<ParamType, { words: number; align: number }> = {
  u32: { words: 1, align: 1 },
  i32: { words: 1, align: 1 },
  f32: { words: 1, align: 1 },
  'step u32': { words: 1, align: 1 },
  'step f32': { words: 1, align: 1 },
  'vec4<f32>': { words: 4, align: 4 },
  'array<vec4<u32>, 2>': { words: MAX_RANK, align: 4 },
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A declared kernel: its generated shader, and `dispatch`, which builds the parameter block by name. */
export class Kernel<
  S extends ParamSchema,
  B extends Readonly<Record<string, StorageDecl>>,
  C extends Readonly<Record<string, ConstantDecl>>,
> {
  /** The whole WGSL module: generated declarations, then the body. */
  readonly shader: ShaderSource;
  private readonly fields: Field[];
  /** Words of the parameter block (a multiple of 4), 0 without one. */
  private readonly words: number;
  private readonly bindings: string[];
  private readonly required: string[];
  /** Each constant's WGSL type. */
  private readonly constantTypes: Map<string, 'u32' | 'bool'>;

  constructor(decl: KernelDeclaration<S, B, C>) {
    const where = `kernel ${decl.name}`;
    const names = new Set<string>();
    const claim = (name: string, what: string) => {
      if (!IDENT.test(name)) throw new Error(`${where}: ${what} name '${name}' is not a WGSL identifier`);
      if (names.has(name)) throw new Error(`${where}: the name '${name}' is declared twice`);
      names.add(name);
    };
    this.fields = [];
    let word = 0;
    for (const [name, type] of Object.entries(decl.params ?? {})) {
      if (!(type in TYPE_WORDS)) throw new Error(`${where}: parameter ${name} has unsupported type '${type}'`);
      if (!IDENT.test(name)) throw new Error(`${where}: parameter name '${name}' is not a WGSL identifier`);
      const t = TYPE_WORDS[type];
      word = Math.ceil(word / t.align) * t.align;
      this.fields.push({ name, type, word });
      word += t.words;
    }
    this.words = Math.ceil(word / 4) * 4;
    const lines: string[] = [];
    for (const d of decl.directives ?? []) lines.push(`${d};`);
    let binding = 0;
    if (this.fields.length) {
      claim('p', 'parameter block');
      claim('Params', 'parameter struct');
      lines.push('struct Params {', ...this.fields.map((f) => `  ${f.name}: ${f.type.replace('step ', '')},`), '}');
      lines.push(`@group(0) @binding(${binding++}) var<uniform> p: Params;`);
    }
    this.bindings = [];
    const storage = decl.storage as Readonly<Record<string, StorageDecl>>;
    const access = (spec: StorageDecl) => spec.slice(0, spec.indexOf(' '));
    for (const [name, spec] of Object.entries(storage)) {
      claim(name, 'binding');
      lines.push(`@group(0) @binding(${binding++}) var<storage, ${access(spec)}> ${name}: ${spec.slice(spec.indexOf(' ') + 1).trim()};`);
      this.bindings.push(name);
    }
    for (const [name, [of, type]] of Object.entries(decl.aliases ?? {})) {
      claim(name, 'alias');
      const at = this.bindings.indexOf(of);
      if (at < 0) throw new Error(`${where}: alias ${name} views binding ${of}, which is not declared`);
      lines.push(`@group(0) @binding(${binding - this.bindings.length + at}) var<storage, ${access(storage[of]!)}> ${name}: ${type};`);
    }
    this.required = [];
    this.constantTypes = new Map();
    for (const [name, d] of Object.entries(decl.constants ?? {})) {
      claim(name, 'constant');
      this.constantTypes.set(name, d === 'bool' || typeof d === 'boolean' ? 'bool' : 'u32');
      if (d === 'u32' || d === 'bool') {
        lines.push(`override ${name}: ${d};`);
        this.required.push(name);
      } else if (typeof d === 'boolean') {
        lines.push(`override ${name}: bool = ${d};`);
      } else {
        if (!Number.isInteger(d) || d < 0) throw new Error(`${where}: constant ${name} has default ${d}, not a u32`);
        lines.push(`override ${name}: u32 = ${d}u;`);
      }
    }
    const body = typeof decl.code === 'string' ? decl.code : decl.code.join('');
    this.shader = { name: decl.name, code: `${lines.join('\n')}\n\n${body}` };
  }

  /** The parameter block of `params` (throws naming a missing, extra or malformed field). */
  encode(op: string, params: Readonly<Record<string, number | StepValue | readonly number[]>> | undefined): ArrayBuffer | undefined {
    if (!this.fields.length) {
      if (params && Object.keys(params).length) {
        throw new Error(`${op} (${this.shader.name}): the kernel declares no parameters, got ${Object.keys(params).join(', ')}`);
      }
      return undefined;
    }
    if (!params) throw new Error(`${op} (${this.shader.name}): parameters missing (${this.fields.map((f) => f.name).join(', ')})`);
    const buf = new ArrayBuffer(this.words * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    let patches: UniformPatch[] | null = null;
    let given = 0;
    for (const field of this.fields) {
      const v = params[field.name];
      if (v === undefined) throw new Error(`${op} (${this.shader.name}): parameter ${field.name} is missing`);
      given++;
      if (field.type === 'step u32' || field.type === 'step f32') {
        if (!(v instanceof StepValue)) {
          throw new Error(
            `${op} (${this.shader.name}): parameter ${field.name} is declared per step: pass a StepValue (a captured step's value, or one a module made once), got ${String(v)}`,
          );
        }
        const float = field.type === 'step f32';
        (patches ??= []).push({ word: field.word, type: float ? 'f' : 'u', value: v });
        if (float) f[field.word] = v.value;
        else u[field.word] = v.value >>> 0;
      } else if (field.type === 'u32' || field.type === 'i32' || field.type === 'f32') {
        if (typeof v !== 'number') {
          const hint = v instanceof StepValue ? `: the kernel bakes it into a record; a value that changes from step to step needs the field declared '${field.type === 'f32' ? 'step f32' : 'step u32'}'` : '';
          throw new Error(`${op} (${this.shader.name}): parameter ${field.name} must be a number, got ${String(v)}${hint}`);
        }
        if (field.type === 'f32') f[field.word] = v;
        else u[field.word] = v >>> 0;
      } else {
        const width = TYPE_WORDS[field.type].words;
        if (!Array.isArray(v) || v.length > width || (field.type === 'vec4<f32>' && v.length !== width)) {
          const want = field.type === 'vec4<f32>' ? '4 numbers' : `at most ${width} numbers (a shape or strides of rank ≤ ${MAX_RANK})`;
          throw new Error(`${op} (${this.shader.name}): parameter ${field.name} must be ${want}, got ${JSON.stringify(v)}`);
        }
        const into = field.type === 'vec4<f32>' ? f : u;
        (v as readonly number[]).forEach((x, i) => (into[field.word + i] = field.type === 'vec4<f32>' ? x : x >>> 0));
      }
    }
    if (Object.keys(params).length !== given) {
      const extra = Object.keys(params).filter((k) => !this.fields.some((fl) => fl.name === k));
      throw new Error(`${op} (${this.shader.name}): unknown parameter ${extra.join(', ')} (the kernel declares ${this.fields.map((fl) => fl.name).join(', ')})`);
    }
    if (patches) uniformPatches.set(buf, patches);
    return buf;
  }

  /** Records one dispatch of the kernel into the runtime's open batch. */
  dispatch(launch: KernelLaunch<S, B, C>): void {
    const { op } = launch;
    const storage = launch.storage as Readonly<Record<string, StorageBinding>>;
    for (const name of Object.keys(storage)) {
      if (!this.bindings.includes(name)) throw new Error(`${op} (${this.shader.name}): unknown binding ${name} (the kernel declares ${this.bindings.join(', ')})`);
    }
    const bound = this.bindings.map((name) => {
      const b = storage[name];
      if (!b) throw new Error(`${op} (${this.shader.name}): binding ${name} is missing`);
      return b;
    });
    const constants = (launch.constants ?? {}) as Readonly<Record<string, number | boolean>>;
    for (const [name, v] of Object.entries(constants)) {
      const type = this.constantTypes.get(name);
      if (!type) throw new Error(`${op} (${this.shader.name}): unknown constant ${name} (the kernel declares ${[...this.constantTypes.keys()].join(', ') || 'none'})`);
      if (type === 'bool' ? typeof v !== 'boolean' : !(Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32)) {
        throw new Error(`${op} (${this.shader.name}): constant ${name} must be a ${type === 'bool' ? 'boolean' : 'u32'}, got ${String(v)}`);
      }
    }
    for (const name of this.required) {
      if (constants[name] === undefined) throw new Error(`${op} (${this.shader.name}): constant ${name} has no default and was not given`);
    }
    const uniforms = this.encode(op, launch.params as Readonly<Record<string, number | StepValue | readonly number[]>> | undefined);
    const spec: DispatchSpec = { op, shader: this.shader, constants, storage: bound, workgroups: launch.workgroups };
    if (launch.entry) spec.entry = launch.entry;
    if (uniforms) spec.uniforms = uniforms;
    getRuntime().dispatch(spec);
  }
}

/** Declares a kernel (see the file's comment). */
export function defineKernel<
  const S extends ParamSchema = Record<never, ParamType>,
  const B extends Readonly<Record<string, StorageDecl>> = Record<never, StorageDecl>,
  const C extends Readonly<Record<string, ConstantDecl>> = Record<never, ConstantDecl>,
>(decl: KernelDeclaration<S, B, C>): Kernel<S, B, C> {
  return new Kernel(decl);
}
