import { type KernelArg, KernelArgPacker, type KernelArgType } from '@rocmforge/hip-runtime';
import { ABI_ENUMS, type AbiEnumName, type FieldType, type ParamStruct } from './abi.js';
import type { DeviceRegion } from './device-region.js';
import { KernelArgumentError } from './errors.js';

/**
 * What a launcher gives for a field of a parameter struct: a device region, or a raw address
 * (`0n` for null), for a pointer; the name of one of its values for an enum (`'logits'`, never
 * 0); a number otherwise.
 */
export type FieldValue<T extends FieldType> = T extends `${string}*`
  ? DeviceRegion | bigint
  : T extends AbiEnumName
    ? keyof (typeof ABI_ENUMS)[T]
    : number;

/** The values of every field of `S`, by name. */
export type StructValues<S extends ParamStruct> = {
  -readonly [K in keyof S['fields']]: FieldValue<S['fields'][K]>;
};

/** One field of a parameter struct as it lies in memory. */
export interface FieldLayout {
  /** The field's name. */
  name: string;
  /** Its C type, as kernels/abi.h spells it. */
  type: FieldType;
  /** How a launch packs it. */
  arg: KernelArgType;
  /** Its byte offset in the struct. */
  offset: number;
}

/** A parameter struct as it lies in memory: what the manifest records for each kernel. */
export interface StructLayout {
  /** The struct's name in kernels/abi.h. */
  struct: string;
  /** sizeof the struct. */
  bytes: number;
  /** Its fields in declaration order. */
  fields: FieldLayout[];
}

const SIZE: Record<KernelArgType, number> = { pointer: 8, i32: 4, u32: 4, f32: 4, u64: 8, f64: 8 };

/** How a launch packs a field of C type `type` (enums have the underlying type `unsigned`). */
export function argType(type: FieldType): KernelArgType {
  if (type.endsWith('*')) return 'pointer';
  if (type === 'int') return 'i32';
  if (type === 'float') return 'f32';
  return 'u32';
}

const layouts = new WeakMap<ParamStruct, StructLayout>();

/**
 * The C layout of `struct`: each field at the next multiple of its own size (the size and the
 * alignment of every field type here), the whole padded to its largest field.
 */
export function structLayout(struct: ParamStruct): StructLayout {
  let layout = layouts.get(struct);
  if (layout) return layout;
  let offset = 0;
  let align = 1;
  const fields = Object.entries(struct.fields).map(([name, type]) => {
    const arg = argType(type);
    const size = SIZE[arg];
    offset = Math.ceil(offset / size) * size;
    const field = { name, type, arg, offset };
    offset += size;
    align = Math.max(align, size);
    return field;
  });
  layout = { struct: struct.name, bytes: Math.ceil(offset / align) * align, fields };
  layouts.set(struct, layout);
  return layout;
}

/**
 * The launch arguments of a kernel whose one parameter is `struct`, passed by value: its fields
 * in declaration order, read by name from `values`. The launch packs them each at its own
 * alignment, which is the struct's layout, and a kernel reads its struct parameter's bytes
 * from the first parameter pointer: so the packed fields are the struct.
 */
export function structArgs<S extends ParamStruct>(struct: S, values: StructValues<S>): KernelArg[] {
  const given = values as Record<string, unknown>;
  return structLayout(struct).fields.map(
    (field) => ({ type: field.arg, value: fieldValue(struct, field, given[field.name]) }) as KernelArg,
  );
}

/** A packer for the launch arguments of `struct` (see {@link structArgs}), to keep and reuse. */
export function structPacker(struct: ParamStruct): KernelArgPacker {
  return new KernelArgPacker(structLayout(struct).fields.map((f) => f.arg));
}

/**
 * Writes the launch arguments of `struct` from `values` into `packer` (made by
 * {@link structPacker}): what {@link structArgs} gives, with the same checks and errors, packed
 * without a {@link KernelArg} per field. `onRegion` sees every device region given. Fields
 * missing from `values` are taken from `rows` when given (a sampling launch's per-row parameter
 * arrays, named as the struct's fields).
 */
export function writeStructArgs<S extends ParamStruct>(
  struct: S,
  values: StructValues<S>,
  packer: KernelArgPacker,
  onRegion: (region: DeviceRegion) => void,
  rows?: object,
): void {
  const given = values as Record<string, unknown>;
  const fromRows = rows as Readonly<Record<string, unknown>> | undefined;
  const fields = structLayout(struct).fields;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = fieldValue(struct, field, given[field.name] ?? fromRows?.[field.name]);
    if (typeof value === 'object') onRegion(value);
    packer.write(i, value);
  }
}

/** A field's launch value: a region or address for a pointer, an enum's number, else as given. */
function fieldValue(
  struct: ParamStruct,
  { name, type, arg }: FieldLayout,
  value: unknown,
): DeviceRegion | bigint | number {
  if (arg === 'pointer') {
    if (typeof value === 'bigint' || (typeof value === 'object' && value !== null && 'address' in value)) {
      return value as DeviceRegion | bigint;
    }
    throw new KernelArgumentError(
      `Expected a device region or address for ${struct.name}.${name} but received ${String(value)}`,
    );
  }
  if (type in ABI_ENUMS) {
    const table = ABI_ENUMS[type as AbiEnumName] as Record<string, number>;
    const number = Object.hasOwn(table, value as string) ? table[value as string] : undefined;
    if (number === undefined) {
      throw new KernelArgumentError(
        `Expected one of ${Object.keys(table)
          .map((k) => `'${k}'`)
          .join(', ')} for ${struct.name}.${name} but received ${String(value)}`,
      );
    }
    return number;
  }
  return value as number;
}
