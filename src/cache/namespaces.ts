// Where a process lives — its pid namespace, its pid in it, the mount of its
// executable and its cgroup — kept per entry as ONE interned string id (the
// row column `nsId`), so a row pays 4 bytes for four numbers. The string is
// the 24-byte little-endian tuple
//
//   pidnsInode u32 | nsPid u32 | mountId u32 | reserved u32 (0) | cgroupId u64
//
// in the table's main StringTable, reference-counted like the path or argv
// ids; id 0 (the empty string) means all four unknown. A row flagged
// F_NSPID_IS_PID (table.ts) holds its tuple with nsPid 0 and reads its pid
// as its nsPid: every process of the host's pid namespace has nsPid = pid,
// and one tuple per process would cost an intern and a release each. Rules (docs/cache.md,
// "Namespaces and cgroup"): an event gives the tuple when any of the four is
// non-zero; a fork that does not give it inherits the parent's without
// nsPid, an exec keeps the previous image's without mountId.

import type { ProcessTable } from './table.js';
import type { StringTable } from './strings.js';
import type { EntryNamespaces } from './types.js';

export const NS_TUPLE_BYTES = 24;
/** Byte offsets of the fields in the tuple. */
export const NS_PIDNS_INODE = 0;
export const NS_NS_PID = 4;
export const NS_MOUNT_ID = 8;
export const NS_RESERVED = 12;
export const NS_CGROUP_ID = 16;

const scratch = new Uint8Array(NS_TUPLE_BYTES);
const scratchDv = new DataView(scratch.buffer);

export const UNKNOWN_NAMESPACES: Readonly<EntryNamespaces> = Object.freeze({ pidnsInode: 0, nsPid: 0, mountId: 0, cgroupId: 0n });

/**
 * Interns the tuple; the cgroup id comes as two u32 words so that the record
 * path needs no bigint. Returns -1 ("not given") when all four are 0, else an
 * id holding one reference (0 only when the string table is full: counted by
 * ProcessTable.intern). `like` (optional) is a tuple the caller expects, such
 * as the previous image's at an exec: when equal it is taken without hashing.
 */
export function internNamespaces(
  t: ProcessTable, pidnsInode: number, nsPid: number, mountId: number, cgroupLo: number, cgroupHi: number, like = 0, given = false,
): number {
  // `given`: the event gave the tuple even if every field left is 0 (its nsPid was the pid, stored as 0)
  if ((pidnsInode | nsPid | mountId | cgroupLo | cgroupHi) === 0 && !given) return -1;
  const s = t.strings;
  if (like > 0 && s.length[like] === NS_TUPLE_BYTES) {
    const w = s.offset[like]! >> 2; // blocks are 16-byte aligned
    const a = t.strings.arena32;
    if (
      a[w + 0] === (pidnsInode | 0) && a[w + 1] === (nsPid | 0) && a[w + 2] === (mountId | 0) &&
      a[w + 4] === (cgroupLo | 0) && a[w + 5] === (cgroupHi | 0)
    ) {
      s.incref(like);
      return like;
    }
  }
  const dv = scratchDv;
  dv.setUint32(NS_PIDNS_INODE, pidnsInode, true);
  dv.setUint32(NS_NS_PID, nsPid, true);
  dv.setUint32(NS_MOUNT_ID, mountId, true);
  dv.setUint32(NS_RESERVED, 0, true);
  dv.setUint32(NS_CGROUP_ID, cgroupLo, true);
  dv.setUint32(NS_CGROUP_ID + 4, cgroupHi, true);
  return t.intern(scratch, scratchDv, 0, NS_TUPLE_BYTES);
}

/**
 * The tuple `base` with the u32 at `clear` (NS_NS_PID at a fork, NS_MOUNT_ID
 * at an exec) set to 0, holding one reference: `base` itself when that field
 * is already 0, 0 when nothing is left.
 */
export function deriveNamespaces(t: ProcessTable, base: number, clear: number): number {
  if (base <= 0) return 0;
  const s = t.strings;
  if (s.length[base] !== NS_TUPLE_BYTES) return 0; // not a tuple: cannot happen in a consistent table
  const at = s.offset[base]!;
  const arena = s.arena;
  if ((arena[at + clear]! | arena[at + clear + 1]! | arena[at + clear + 2]! | arena[at + clear + 3]!) === 0) {
    s.incref(base);
    return base;
  }
  scratch.set(arena.subarray(at, at + NS_TUPLE_BYTES));
  scratchDv.setUint32(clear, 0, true);
  let any = 0;
  for (let i = 0; i < NS_TUPLE_BYTES; i++) any |= scratch[i]!;
  return any === 0 ? 0 : t.intern(scratch, scratchDv, 0, NS_TUPLE_BYTES);
}

/**
 * The four numbers of tuple `id` (reader side; a string that is not a tuple
 * reads as unknown). `nsPid`: the row's pid when it is flagged
 * F_NSPID_IS_PID (its tuple holds 0), else 0 (the tuple's own).
 */
export function readNamespaces(s: StringTable, id: number, nsPid = 0): Readonly<EntryNamespaces> {
  if (nsPid !== 0) {
    const tuple = readNamespaces(s, id);
    return Object.freeze({ pidnsInode: tuple.pidnsInode, nsPid, mountId: tuple.mountId, cgroupId: tuple.cgroupId });
  }
  if (id <= 0 || s.length[id] !== NS_TUPLE_BYTES) return UNKNOWN_NAMESPACES;
  const b = s.bytes(id);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Object.freeze({
    pidnsInode: dv.getUint32(NS_PIDNS_INODE, true),
    nsPid: dv.getUint32(NS_NS_PID, true),
    mountId: dv.getUint32(NS_MOUNT_ID, true),
    cgroupId: dv.getBigUint64(NS_CGROUP_ID, true),
  });
}
