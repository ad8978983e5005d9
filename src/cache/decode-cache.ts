// Reader-side cache of values decoded from interned strings (text, argv
// lists, context parts, namespace tuples, credential sets), keyed by
// (id, generation) so a reused id never returns the old value. Local to one
// thread; bounded. Direct-mapped: slot = id & mask, a conflict only costs a
// decode. A hit is three array loads, where a Map of {gen, value} records
// cost a hash lookup and an allocation per miss on a path taken for every
// field of every entry.

import type { StringTable } from './strings.js';

const SLOTS = 1 << 14;

export class DecodeCache<T> {
  private readonly ids = new Int32Array(SLOTS).fill(-1);
  private readonly gens = new Uint32Array(SLOTS);
  private readonly values: (T | undefined)[] = new Array<T | undefined>(SLOTS).fill(undefined);

  constructor(
    private readonly strings: StringTable,
    private readonly decode: (id: number) => T,
  ) {}

  get(id: number): T {
    const slot = id & (SLOTS - 1);
    const gen = this.strings.gen[id]!;
    if (this.ids[slot] === id && this.gens[slot] === gen) return this.values[slot]!;
    const value = this.decode(id);
    this.ids[slot] = id;
    this.gens[slot] = gen;
    this.values[slot] = value;
    return value;
  }

  /** Sets the decoded value of `id` as it is now (what get would decode). */
  put(id: number, value: T): void {
    const slot = id & (SLOTS - 1);
    this.ids[slot] = id;
    this.gens[slot] = this.strings.gen[id]!;
    this.values[slot] = value;
  }

  clear(): void {
    this.ids.fill(-1);
    this.values.fill(undefined);
  }
}
