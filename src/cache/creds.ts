// Credentials are interned like strings: a process row stores one id for its
// whole credential set (7 ids + 2 capability masks), because thousands of
// processes share a handful of sets. The tuple is 11 little-endian 32-bit
// words kept in a StringTable of its own, so interning, reference counting
// and reclamation are the string table's, not a second copy.

import { StringTable, type StringTableHandles } from './strings.js';
import type { Credentials } from './types.js';

export const CRED_WORDS = 11;
export const UNKNOWN_ID = 4294967295;

// Word positions in a tuple, and the bits of a "which fields are given" mask.
export const C_UID = 0;
export const C_GID = 1;
export const C_EUID = 2;
export const C_EGID = 3;
export const C_FSUID = 4;
export const C_FSGID = 5;
export const C_AUID = 6;
export const C_CAP_EFF = 7; // lo at 7, hi at 8
export const C_CAP_PRM = 9; // lo at 9, hi at 10
export const CRED_FIELDS: readonly (keyof Credentials)[] = [
  'uid', 'gid', 'euid', 'egid', 'fsuid', 'fsgid', 'auid', 'capEffective', 'capPermitted',
];
/** Bit of each field in a mask, in CRED_FIELDS order. */
export const CRED_BIT: Readonly<Record<keyof Credentials, number>> = {
  uid: 1, gid: 2, euid: 4, egid: 8, fsuid: 16, fsgid: 32, auid: 64, capEffective: 128, capPermitted: 256,
};
const FIELD_WORD = [C_UID, C_GID, C_EUID, C_EGID, C_FSUID, C_FSGID, C_AUID, C_CAP_EFF, C_CAP_PRM];

export class CredentialTable {
  readonly strings: StringTable;
  private readonly tuple = new Uint32Array(CRED_WORDS);
  private readonly tupleBytes = new Uint8Array(this.tuple.buffer);
  private readonly words: Uint32Array;
  /** Id of the set where every id is unknown and no capability is held. */
  readonly unknownId: number;

  static create(maxSets: number): CredentialTable {
    return new CredentialTable(StringTable.create(maxSets, maxSets * 64).handles, true);
  }

  constructor(handles: StringTableHandles, fresh = false) {
    this.strings = new StringTable(handles);
    this.words = new Uint32Array(handles.arena);
    for (let i = 0; i < C_CAP_EFF; i++) this.tuple[i] = UNKNOWN_ID;
    // The unknown set is interned first by the creator and never released.
    if (fresh) this.strings.internBytes(this.tupleBytes, 0, CRED_WORDS * 4);
    this.unknownId = 1;
  }

  /** Empties the table, keeping the unknown set as id 1. */
  reset(): void {
    this.strings.reset();
    for (let i = 0; i < CRED_WORDS; i++) this.tuple[i] = i < C_CAP_EFF ? UNKNOWN_ID : 0;
    this.strings.internBytes(this.tupleBytes, 0, CRED_WORDS * 4);
  }

  get handles(): StringTableHandles {
    return this.strings.handles;
  }

  /** Word `w` of set `id`. */
  word(id: number, w: number): number {
    return this.words[(this.strings.offset[id]! >> 2) + w]!;
  }

  /**
   * Returns the id of `base` with the fields of `mask` taken from `values`
   * (one reference held by the caller), or -1 when the table is full.
   * `values` words are in tuple order (see C_*).
   */
  merge(base: number, values: Uint32Array, mask: number): number {
    const t = this.tuple;
    for (let w = 0; w < CRED_WORDS; w++) t[w] = this.word(base, w);
    for (let f = 0; f < FIELD_WORD.length; f++) {
      if ((mask & (1 << f)) === 0) continue;
      const w = FIELD_WORD[f]!;
      t[w] = values[w]!;
      if (w >= C_CAP_EFF) t[w + 1] = values[w + 1]!;
    }
    // most updates and every fork that carries its credentials change nothing
    let same = true;
    for (let w = 0; w < CRED_WORDS && same; w++) same = t[w] === this.word(base, w);
    if (same) {
      this.incref(base);
      return base;
    }
    return this.strings.internBytes(this.tupleBytes, 0, CRED_WORDS * 4);
  }

  incref(id: number): void {
    if (id !== this.unknownId) this.strings.incref(id);
  }

  decref(id: number): void {
    if (id !== this.unknownId) this.strings.decref(id);
  }

  read(id: number): Credentials {
    const w = (i: number) => this.word(id, i);
    return {
      uid: w(C_UID),
      gid: w(C_GID),
      euid: w(C_EUID),
      egid: w(C_EGID),
      fsuid: w(C_FSUID),
      fsgid: w(C_FSGID),
      auid: w(C_AUID),
      capEffective: (BigInt(w(C_CAP_EFF + 1)) << 32n) | BigInt(w(C_CAP_EFF)),
      capPermitted: (BigInt(w(C_CAP_PRM + 1)) << 32n) | BigInt(w(C_CAP_PRM)),
    };
  }
}

/** Writes a partial Credentials object into tuple words; returns the mask of given fields. */
export function credentialsToWords(c: Partial<Credentials>, out: Uint32Array, ignoreMinusOne: boolean): number {
  let mask = 0;
  for (let f = 0; f < CRED_FIELDS.length; f++) {
    const name = CRED_FIELDS[f]!;
    const v = c[name];
    if (v === undefined) continue;
    const w = FIELD_WORD[f]!;
    if (typeof v === 'bigint') {
      if (ignoreMinusOne && v === -1n) continue;
      out[w] = Number(v & 0xffffffffn);
      out[w + 1] = Number((v >> 32n) & 0xffffffffn);
    } else {
      if (ignoreMinusOne && v === -1) continue;
      out[w] = v;
    }
    mask |= 1 << f;
  }
  return mask;
}
