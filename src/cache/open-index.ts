// Open-addressing hash index with linear probing over an Int32Array of slots
// (0 = empty, otherwise id + 1). It stores only ids: keys live in the tables
// that own the ids, so one index shape serves the pid index, the string table
// and the credential table. Written by hand because it must live in a
// SharedArrayBuffer that readers on other threads probe without locks.
//
// Slot count need not be a power of two: the home slot is hash * size / 2^32,
// so the index costs ~1.3 slots per entry instead of up to 2.6.

/** What an index stores ids of: gives the hash of a stored id. A method, not a closure: a closure per table would make every call site that meets a second table deoptimize. */
export interface HashedIds {
  hashOf(id: number): number;
}

export class OpenIndex {
  readonly slots: Int32Array;
  readonly size: number;

  constructor(slots: Int32Array) {
    this.slots = slots;
    this.size = slots.length;
  }

  static slotCountFor(capacity: number): number {
    return Math.ceil(capacity * 1.3) + 1;
  }

  home(hash: number): number {
    return Math.floor(((hash >>> 0) * this.size) / 4294967296);
  }

  next(slot: number): number {
    return slot + 1 === this.size ? 0 : slot + 1;
  }

  /**
   * Removes the id in `slot` and shifts later members of its probe run back,
   * so lookups never need tombstones. `owner` gives the hash of a stored id.
   */
  removeAt(slot: number, owner: HashedIds): void {
    const slots = this.slots;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = this.next(j);
      const v = slots[j]!;
      if (v === 0) break;
      const k = this.home(owner.hashOf(v - 1));
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      slots[hole] = v;
      hole = j;
    }
    slots[hole] = 0;
  }
}
