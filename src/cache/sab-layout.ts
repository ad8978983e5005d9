// Carves named typed-array columns out of one SharedArrayBuffer. Each table
// (processes, strings, credentials) describes its columns once here, so the
// writer that creates the buffer and a reader that attaches to it in another
// thread compute the same offsets from the same description.

export type ColumnType = 'i32' | 'u32' | 'u8' | 'f64' | 'i64' | 'u16';

const BYTES: Record<ColumnType, number> = { i32: 4, u32: 4, u8: 1, f64: 8, i64: 8, u16: 2 };

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly length: number;
}

type ArrayOf<T extends ColumnType> = T extends 'i32'
  ? Int32Array
  : T extends 'u32'
    ? Uint32Array
    : T extends 'u8'
      ? Uint8Array
      : T extends 'u16'
        ? Uint16Array
        : T extends 'f64'
          ? Float64Array
          : BigInt64Array;

export type Columns<S extends readonly ColumnSpec[]> = {
  [K in S[number] as K['name']]: ArrayOf<K['type']>;
};

/** Byte size of the buffer that holds every column, each aligned to 8 bytes. */
export function layoutBytes(specs: readonly ColumnSpec[]): number {
  let off = 0;
  for (const s of specs) off = align8(off) + s.length * BYTES[s.type];
  return align8(off);
}

export function carveColumns<S extends readonly ColumnSpec[]>(
  buffer: SharedArrayBuffer,
  specs: S,
): Columns<S> {
  const out: Record<string, unknown> = {};
  let off = 0;
  for (const s of specs) {
    off = align8(off);
    out[s.name] = makeView(buffer, s.type, off, s.length);
    off += s.length * BYTES[s.type];
  }
  if (off > buffer.byteLength) {
    throw new RangeError(`shared buffer of ${buffer.byteLength} bytes is too small for its layout (${off} bytes)`);
  }
  return out as Columns<S>;
}

export function bytesPer(type: ColumnType): number {
  return BYTES[type];
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function makeView(buffer: SharedArrayBuffer, type: ColumnType, off: number, length: number) {
  switch (type) {
    case 'i32':
      return new Int32Array(buffer, off, length);
    case 'u32':
      return new Uint32Array(buffer, off, length);
    case 'u8':
      return new Uint8Array(buffer, off, length);
    case 'u16':
      return new Uint16Array(buffer, off, length);
    case 'f64':
      return new Float64Array(buffer, off, length);
    case 'i64':
      return new BigInt64Array(buffer, off, length);
  }
}
