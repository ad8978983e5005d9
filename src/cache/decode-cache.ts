// Reader-side cache of decoded strings, keyed by (id, generation) so a
// reused id never returns the old value. Local to one thread; bounded.

import type { StringTable } from './strings.js';

const MAX_ENTRIES = 1 << 16;

export class DecodeCache<T> {
  private readonly values = new Map<number, { gen: number; value: T }>();

  constructor(
    private readonly strings: StringTable,
    private readonly decode: (id: number) => T,
  ) {}

  get(id: number): T {
    const gen = this.strings.gen[id]!;
    const hit = this.values.get(id);
    if (hit !== undefined && hit.gen === gen) return hit.value;
    const value = this.decode(id);
    if (this.values.size >= MAX_ENTRIES) this.values.clear();
    this.values.set(id, { gen, value });
    return value;
  }

  clear(): void {
    this.values.clear();
  }
}
