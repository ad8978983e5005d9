// Credentials are interned like strings: a process row stores one id for its
// whole credential set (7 ids + 2 capability masks), because thousands of
// processes share a handful of sets. The tuple is 11 little-endian 32-bit
// words (the tuple of the record format, CRED_WORD_* in src/record/constants.ts)
// kept in a StringTable of its own, so interning, reference counting and
// reclamation are the string table's, not a second copy.

import {
  CRED_AUID,
  CRED_CAP_EFFECTIVE,
  CRED_CAP_PERMITTED,
  CRED_EGID,
  CRED_EUID,
  CRED_FSGID,
  CRED_FSUID,
  CRED_GID,
  CRED_UID,
  CRED_WORD_AUID,
  CRED_WORD_CAP_EFFECTIVE,
  CRED_WORD_CAP_PERMITTED,
  CRED_MASK_ALL,
  CRED_WORD_COUNT,
  CRED_WORD_EGID,
  CRED_WORD_EUID,
  CRED_WORD_FSGID,
  CRED_WORD_FSUID,
  CRED_WORD_GID,
  CRED_WORD_UID,
} from '../record/constants.js';
import type { Credentials } from '../record/events.js';
import { CRED_FIELDS } from '../record/spec.js';
import { StringTable, type StringTableHandles } from './strings.js';

export const UNKNOWN_ID = 4294967295;

/** Word of each field in the tuple, in CRED_FIELDS (mask bit) order; a capability mask is words w and w + 1. */
const FIELD_WORD = [
  CRED_WORD_UID, CRED_WORD_GID, CRED_WORD_EUID, CRED_WORD_EGID, CRED_WORD_FSUID, CRED_WORD_FSGID, CRED_WORD_AUID,
  CRED_WORD_CAP_EFFECTIVE, CRED_WORD_CAP_PERMITTED,
];

export class CredentialTable {
  readonly strings: StringTable;
  private readonly tuple = new Uint32Array(CRED_WORD_COUNT);
  private readonly tupleBytes = new Uint8Array(this.tuple.buffer);
  private readonly tupleDv = new DataView(this.tuple.buffer);
  private readonly words: Uint32Array;
  /** Id of the set where every id is unknown and no capability is held. */
  readonly unknownId: number;

  static create(maxSets: number): CredentialTable {
    return new CredentialTable(StringTable.create(maxSets, maxSets * 64).handles, true);
  }

  constructor(handles: StringTableHandles, fresh = false) {
    this.strings = new StringTable(handles);
    this.words = new Uint32Array(handles.arena);
    for (let i = 0; i < CRED_WORD_CAP_EFFECTIVE; i++) this.tuple[i] = UNKNOWN_ID;
    // The unknown set is interned first by the creator and never released.
    if (fresh) this.strings.internBytes(this.tupleBytes, this.tupleDv, 0, CRED_WORD_COUNT * 4);
    this.unknownId = 1;
  }

  /** Empties the table, keeping the unknown set as id 1. */
  reset(): void {
    this.strings.reset();
    for (let i = 0; i < CRED_WORD_COUNT; i++) this.tuple[i] = i < CRED_WORD_CAP_EFFECTIVE ? UNKNOWN_ID : 0;
    this.strings.internBytes(this.tupleBytes, this.tupleDv, 0, CRED_WORD_COUNT * 4);
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
   * `values` words are in tuple order (CRED_WORD_*).
   */
  merge(base: number, values: Uint32Array, mask: number): number {
    const t = this.tuple;
    if (mask === CRED_MASK_ALL) {
      // a kernel record gives every field: usually the set the process already has
      const words = this.words;
      const at = this.strings.offset[base]! >> 2;
      let w = 0;
      while (w < CRED_WORD_COUNT && words[at + w] === values[w]) w++;
      if (w === CRED_WORD_COUNT) {
        this.incref(base);
        return base;
      }
      t.set(values);
      return this.strings.internBytes(this.tupleBytes, this.tupleDv, 0, CRED_WORD_COUNT * 4);
    }
    for (let w = 0; w < CRED_WORD_COUNT; w++) t[w] = this.word(base, w);
    for (let f = 0; f < FIELD_WORD.length; f++) {
      if ((mask & (1 << f)) === 0) continue;
      const w = FIELD_WORD[f]!;
      t[w] = values[w]!;
      if (w >= CRED_WORD_CAP_EFFECTIVE) t[w + 1] = values[w + 1]!;
    }
    // most updates and every fork that carries its credentials change nothing
    let same = true;
    for (let w = 0; w < CRED_WORD_COUNT && same; w++) same = t[w] === this.word(base, w);
    if (same) {
      this.incref(base);
      return base;
    }
    return this.strings.internBytes(this.tupleBytes, this.tupleDv, 0, CRED_WORD_COUNT * 4);
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
      uid: w(CRED_WORD_UID),
      gid: w(CRED_WORD_GID),
      euid: w(CRED_WORD_EUID),
      egid: w(CRED_WORD_EGID),
      fsuid: w(CRED_WORD_FSUID),
      fsgid: w(CRED_WORD_FSGID),
      auid: w(CRED_WORD_AUID),
      capEffective: (BigInt(w(CRED_WORD_CAP_EFFECTIVE + 1)) << 32n) | BigInt(w(CRED_WORD_CAP_EFFECTIVE)),
      capPermitted: (BigInt(w(CRED_WORD_CAP_PERMITTED + 1)) << 32n) | BigInt(w(CRED_WORD_CAP_PERMITTED)),
    };
  }
}

/** Writes a partial Credentials object into tuple words; returns the mask of given fields. */
export function credentialsToWords(c: Partial<Credentials>, out: Uint32Array, ignoreMinusOne: boolean): number {
  // each field by name (monomorphic loads); bigints split without allocating (capWords)
  return (
    idWord(c.uid, out, CRED_WORD_UID, ignoreMinusOne, CRED_UID) |
    idWord(c.gid, out, CRED_WORD_GID, ignoreMinusOne, CRED_GID) |
    idWord(c.euid, out, CRED_WORD_EUID, ignoreMinusOne, CRED_EUID) |
    idWord(c.egid, out, CRED_WORD_EGID, ignoreMinusOne, CRED_EGID) |
    idWord(c.fsuid, out, CRED_WORD_FSUID, ignoreMinusOne, CRED_FSUID) |
    idWord(c.fsgid, out, CRED_WORD_FSGID, ignoreMinusOne, CRED_FSGID) |
    idWord(c.auid, out, CRED_WORD_AUID, ignoreMinusOne, CRED_AUID) |
    capWords(c.capEffective, out, CRED_WORD_CAP_EFFECTIVE, ignoreMinusOne, CRED_CAP_EFFECTIVE) |
    capWords(c.capPermitted, out, CRED_WORD_CAP_PERMITTED, ignoreMinusOne, CRED_CAP_PERMITTED)
  );
}

function idWord(v: number | undefined, out: Uint32Array, w: number, ignoreMinusOne: boolean, bit: number): number {
  if (v === undefined || (ignoreMinusOne && v === -1)) return 0;
  out[w] = v;
  return bit;
}

const capCell = new BigInt64Array(1);
const capCellWords = new Uint32Array(capCell.buffer);

function capWords(v: bigint | undefined, out: Uint32Array, w: number, ignoreMinusOne: boolean, bit: number): number {
  if (v === undefined || (ignoreMinusOne && v === -1n)) return 0;
  capCell[0] = v; // the 64 bits, wrapped: a mask in 0..2^64-1 (or -1n unchanged) keeps its bits
  out[w] = capCellWords[0]!;
  out[w + 1] = capCellWords[1]!;
  return bit;
}
