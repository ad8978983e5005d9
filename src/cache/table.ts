// The process table: fixed-capacity struct-of-arrays rows in
// SharedArrayBuffers, a pid index, the string and credential tables, the
// queue of exited pids, and the row lifecycle (allocation, reference counts,
// reclamation). One writer per table; readers attach from any thread with
// `new ProcessTable(handles)`.
//
// A row is one image of one process (see docs/cache.md). Its reference count
// is 1 while the pid index points at it, plus 1 per row whose `ancestor` is
// it. At 0 the row, its strings and its credentials are released, and the
// release walks up the ancestor chain iteratively (chains can be deep).

import { readBootTimeMs } from '../procfs/read.js';
import { C } from './counters.js';
import { CredentialTable } from './creds.js';
import { hashPidKey } from './hash.js';
import { OpenIndex, type HashedIds } from './open-index.js';
import { carveColumns, layoutBytes, type ColumnSpec, bytesPer } from './sab-layout.js';
import { StringTable, type StringTableHandles } from './strings.js';
import { WRITER_COUNTERS } from './counters.js';
import { ORDERED_STORES } from './store-order.js';
import { timeLess, timeLessEq, timeLo, timeHi } from './time-words.js';

// Row flags (u16). The source of a row is kept in two bits of the same word.
export const F_USED = 1;
export const F_IS_EXEC = 2;
export const F_IS_EXEC_EXEC = 4;
export const F_PARENT_MISSING = 8;
export const F_ARGS_TRUNCATED = 16;
export const F_ENVS_TRUNCATED = 32;
/** The row has a slot in the pid index. */
export const F_IN_INDEX = 64;
export const F_EXIT_QUEUED = 128;
/** The row is the current entry of its pid (in the live cache). */
export const F_CURRENT = 256;
/** The fork parent lives in another shard: linked by key (ppid, forkTime), not by row. */
export const F_REMOTE_PARENT = 512;
/** The parent link was set by a reparent, not by the fork (so no fork-time inode check applies). */
export const F_REPARENTED = 1024;
/** The path was cut (the kernel's walk gave up, or PATH_MAX here): it is not the whole path. */
export const F_PATH_TRUNCATED = 2048;
/**
 * Not an entry: a marker in the pid index, keyed (pid, forkTime), saying that
 * a child in another shard forked from pid at forkTime when pid had no entry
 * in the live cache (LINK of a fork that found only a retired instance, still
 * held for older children). findAt returns it for that time and later, so
 * those children resolve no parent, as in ProcessResolver. Held by the
 * remote links of those children, freed with the last UNLINK; not counted
 * in rowsUsed.
 */
export const F_TOMBSTONE = 16384;
/**
 * The process's pid in its own pid namespace is its pid (every process of
 * the host's namespace): the row's namespace tuple then holds nsPid 0, so
 * that the processes of one namespace, mount and cgroup share one tuple
 * instead of interning one each (namespaces.ts).
 */
export const F_NSPID_IS_PID = 32768;
const SOURCE_SHIFT = 12;
const SOURCE_BITS = 3 << SOURCE_SHIFT;

export const SOURCE_EVENT = 0;
export const SOURCE_SNAPSHOT = 1;
export const SOURCE_PROCFS = 2;

// meta words
const M_FREE_HEAD = 0; // first free row, -1 when none (rows >= M_NEXT_ROW are free too)
const M_NEXT_ROW = 1;
const M_ROWS_USED = 2;
const M_LIVE = 3; // current entries
const M_EXITQ_COUNT = 4; // entries in the exit heap
const M_INDEX_VERSION = 5; // odd while the writer changes the pid index (readers retry)
const M_WRITE_EPOCH = 6; // moves on with every row write window (readers' entry caches)
const META_WORDS = 8;

export const ROW_COLUMNS = (capacity: number, keyedByNamespace: boolean) =>
  [
    { name: 'pid', type: 'i32', length: capacity },
    { name: 'ppid', type: 'i32', length: capacity },
    // only tables keyed by (pid, namespace) pay for this column
    { name: 'pidns', type: 'u32', length: keyedByNamespace ? capacity : 0 },
    { name: 'ancestor', type: 'i32', length: capacity },
    { name: 'refs', type: 'u32', length: capacity },
    { name: 'remoteRefs', type: 'u32', length: capacity },
    { name: 'seq', type: 'u16', length: capacity },
    { name: 'flags', type: 'u16', length: capacity },
    { name: 'exitCode', type: 'u16', length: capacity },
    { name: 'forkTime', type: 'i64', length: capacity },
    { name: 'execTime', type: 'i64', length: capacity },
    { name: 'exitTime', type: 'i64', length: capacity },
    { name: 'inode', type: 'f64', length: capacity },
    { name: 'pathId', type: 'i32', length: capacity },
    { name: 'commId', type: 'i32', length: capacity },
    { name: 'argvId', type: 'i32', length: capacity },
    { name: 'envpId', type: 'i32', length: capacity },
    { name: 'credsId', type: 'i32', length: capacity },
    { name: 'ctxId', type: 'i32', length: capacity },
    { name: 'interpId', type: 'i32', length: capacity },
    // the namespace tuple (src/cache/namespaces.ts): one interned string, 0 = all unknown
    { name: 'nsId', type: 'i32', length: capacity },
  ] as const satisfies readonly ColumnSpec[];

const TABLE_COLUMNS = (capacity: number, keyedByNamespace: boolean) =>
  [
    ...ROW_COLUMNS(capacity, keyedByNamespace),
    { name: 'meta', type: 'i32', length: META_WORDS },
    { name: 'newestTime', type: 'i64', length: 1 },
    { name: 'counters', type: 'f64', length: WRITER_COUNTERS.length },
    // the counters as they were when the writer last published its watermark (a crash rebuild resumes from them)
    { name: 'countersAtMark', type: 'f64', length: WRITER_COUNTERS.length },
    { name: 'slots', type: 'i32', length: OpenIndex.slotCountFor(capacity) },
    { name: 'exitHeapRow', type: 'i32', length: capacity },
    { name: 'exitHeapTime', type: 'i64', length: capacity },
  ] as const satisfies readonly ColumnSpec[];

export interface ProcessTableOptions {
  /** Entry rows (live processes plus the exited ancestors they still need). */
  capacity: number;
  /** Key rows by (pid, pid namespace) instead of pid alone (EbpflessResolver). */
  keyedByNamespace?: boolean;
  /** Interned strings; default 3 per row. */
  stringCapacity?: number;
  /** Bytes for string contents; default 256 per row. */
  stringBytes?: number;
  /** Distinct credential sets; default capacity / 4 (at least 1024). */
  credentialCapacity?: number;
  /** The host's boot time in ms since the epoch (default: read once per thread from /proc/uptime). */
  bootTimeMs?: number;
}

export interface ProcessTableHandles {
  readonly capacity: number;
  readonly keyedByNamespace: boolean;
  readonly rows: SharedArrayBuffer;
  readonly strings: StringTableHandles;
  readonly credentials: StringTableHandles;
  /**
   * The host's boot time (ms since the epoch) that every reader of this
   * table turns boot-clock times into wall-clock times with, read once when
   * the table was made: readers in other threads give the same wall times.
   */
  readonly bootTimeMs: number;
}

/** Bytes of one row in the row columns plus its share of the pid index. */
export function bytesPerRow(capacity: number, keyedByNamespace = false): number {
  const cols = ROW_COLUMNS(capacity, keyedByNamespace).reduce((n, c) => n + (c.length > 0 ? bytesPer(c.type) : 0), 0);
  return cols + (OpenIndex.slotCountFor(capacity) * 4) / capacity;
}

let hostBoot: number | undefined;

/** The host's boot time, read once per thread (tables made without one). */
function hostBootTimeMs(): number {
  return (hostBoot ??= readBootTimeMs());
}

export const MAX_CAPACITY = 1 << 24;

/**
 * The ancestor column of a row whose parent lives in another shard (no
 * ancestor row here) keeps the low bits of the gseq of the record that
 * linked it, -2 - (gseq & LINK_GSEQ_MASK), or -1 when not known (a
 * reparent): a reader follows the link once that shard has applied that
 * record (shards.ts). Every "is there an ancestor row" test is >= 0.
 */
export const LINK_GSEQ_MASK = 0x3fffffff;

export function remoteLinkMark(gseq: number): number {
  return -2 - (gseq & LINK_GSEQ_MASK);
}

/** The linking gseq kept in an ancestor column value, or -1. */
export function linkGseqOf(ancestor: number): number {
  return ancestor < -1 ? -2 - ancestor : -1;
}


/** Keys (ppid, pidns, fork time) of rows linked to a parent in another shard, columnar (structured-clone friendly). */
export interface LinkKeys {
  ppid: Int32Array;
  pidns: Uint32Array;
  forkTime: BigInt64Array;
}

/**
 * Reader protocol (any thread): a row is read between two loads of its
 * `seq`; an odd or changed value means a writer was in it, and the read is
 * retried. The writer makes seq odd (Atomics.store) before it changes a row
 * and even again after: Atomics operations are full fences in V8, so the
 * plain field stores cannot move outside that window. A reader following an
 * ancestor link re-checks the child's seq after reading the ancestor, so a
 * row freed and reused under it is noticed. Index probes are checked the
 * same way against the table-wide index version.
 */
export class ProcessTable implements HashedIds {
  readonly handles: ProcessTableHandles;
  readonly capacity: number;
  readonly keyedByNamespace: boolean;
  readonly strings: StringTable;
  readonly creds: CredentialTable;

  readonly pid: Int32Array;
  readonly ppid: Int32Array;
  private readonly pidnsColumn: Uint32Array;
  readonly ancestor: Int32Array;
  readonly refs: Uint32Array;
  readonly remoteRefs: Uint32Array;
  readonly seq: Uint16Array;
  readonly flags: Uint16Array;
  readonly exitCode: Uint16Array;
  /** Times as bigints: the public edge (entries, keys). */
  readonly forkTime: BigInt64Array;
  readonly execTime: BigInt64Array;
  readonly exitTime: BigInt64Array;
  /** The same cells as int32 words (time-words.ts): lo at 2 * row, hi at 2 * row + 1. The hot paths use these. */
  readonly forkTimeW: Int32Array;
  readonly execTimeW: Int32Array;
  readonly exitTimeW: Int32Array;
  readonly inode: Float64Array;
  readonly pathId: Int32Array;
  readonly commId: Int32Array;
  readonly argvId: Int32Array;
  readonly envpId: Int32Array;
  readonly credsId: Int32Array;
  readonly ctxId: Int32Array;
  readonly interpId: Int32Array;
  readonly nsId: Int32Array;
  readonly counters: Float64Array;
  readonly countersAtMark: Float64Array;
  readonly newestTime: BigInt64Array;
  private readonly newestTimeW: Int32Array;
  readonly meta: Int32Array;
  private readonly index: OpenIndex;
  private readonly exitHeapRow: Int32Array;
  /** Exit time of each heap slot, as words (lo at 2i, hi at 2i + 1). */
  private readonly exitHeapW: Int32Array;
  /** Called when a row whose parent is remote is reclaimed (the pipeline sends an UNLINK). */
  onRemoteParentReleased: ((ppid: number, pidns: number, forkLo: number, forkHi: number) => void) | undefined;

  static create(options: ProcessTableOptions): ProcessTable {
    const capacity = options.capacity;
    if (!Number.isInteger(capacity) || capacity < 16 || capacity > MAX_CAPACITY) {
      throw new RangeError(`capacity must be an integer in 16..${MAX_CAPACITY}, got ${String(capacity)}`);
    }
    const keyed = options.keyedByNamespace === true;
    const strings = StringTable.create(options.stringCapacity ?? capacity * 3, options.stringBytes ?? capacity * 256);
    const creds = CredentialTable.create(options.credentialCapacity ?? Math.max(1024, capacity >> 2));
    const handles: ProcessTableHandles = {
      capacity,
      keyedByNamespace: keyed,
      rows: new SharedArrayBuffer(layoutBytes(TABLE_COLUMNS(capacity, keyed))),
      strings: strings.handles,
      credentials: creds.handles,
      bootTimeMs: options.bootTimeMs ?? hostBootTimeMs(),
    };
    const t = new ProcessTable(handles);
    t.meta[M_FREE_HEAD] = -1;
    return t;
  }

  /** Attach to a table created elsewhere (any thread). */
  constructor(handles: ProcessTableHandles) {
    this.handles = handles;
    this.capacity = handles.capacity;
    this.keyedByNamespace = handles.keyedByNamespace;
    const c = carveColumns(handles.rows, TABLE_COLUMNS(handles.capacity, handles.keyedByNamespace));
    this.pid = c.pid;
    this.ppid = c.ppid;
    this.pidnsColumn = c.pidns;
    this.ancestor = c.ancestor;
    this.refs = c.refs;
    this.remoteRefs = c.remoteRefs;
    this.seq = c.seq;
    this.flags = c.flags;
    this.exitCode = c.exitCode;
    this.forkTime = c.forkTime;
    this.execTime = c.execTime;
    this.exitTime = c.exitTime;
    this.forkTimeW = wordsOf(c.forkTime);
    this.execTimeW = wordsOf(c.execTime);
    this.exitTimeW = wordsOf(c.exitTime);
    this.inode = c.inode;
    this.pathId = c.pathId;
    this.commId = c.commId;
    this.argvId = c.argvId;
    this.envpId = c.envpId;
    this.credsId = c.credsId;
    this.ctxId = c.ctxId;
    this.interpId = c.interpId;
    this.nsId = c.nsId;
    this.meta = c.meta;
    this.newestTime = c.newestTime;
    this.newestTimeW = wordsOf(c.newestTime);
    this.counters = c.counters;
    this.countersAtMark = c.countersAtMark;
    this.index = new OpenIndex(c.slots);
    this.exitHeapRow = c.exitHeapRow;
    this.exitHeapW = wordsOf(c.exitHeapTime);
    this.strings = new StringTable(handles.strings);
    this.creds = new CredentialTable(handles.credentials);
  }

  /**
   * Empties the table in place (same buffers, so readers and handles stay
   * valid): the shard of a crashed writer is rebuilt from scratch. The index
   * version stays odd meanwhile, so readers find nothing rather than torn rows.
   */
  reset(): void {
    Atomics.add(this.meta, M_INDEX_VERSION, 1);
    const version = this.meta[M_INDEX_VERSION]!;
    const counters = this.counters.slice(); // counts survive the rebuild
    const atMark = this.countersAtMark.slice();
    new Uint8Array(this.handles.rows).fill(0);
    this.counters.set(counters);
    this.countersAtMark.set(atMark);
    this.meta[M_INDEX_VERSION] = version;
    this.strings.reset();
    this.creds.reset();
    this.meta[M_FREE_HEAD] = -1;
    this.credsId.fill(this.creds.unknownId);
    Atomics.add(this.meta, M_INDEX_VERSION, 1);
  }

  /** Pids in the live cache. */
  get liveCount(): number {
    return this.meta[M_LIVE]!;
  }

  /** Rows in use: live entries and the exited entries still linked to. */
  get rowsUsed(): number {
    return this.meta[M_ROWS_USED]!;
  }

  /** Hash of a row's key (HashedIds, for the pid index). */
  hashOf(row: number): number {
    return hashPidKey(this.pid[row]!, this.pidnsOf(row));
  }

  pidnsOf(row: number): number {
    return this.keyedByNamespace ? this.pidnsColumn[row]! : 0;
  }

  setPidns(row: number, pidns: number): void {
    if (this.keyedByNamespace) this.pidnsColumn[row] = pidns;
    else if (pidns !== 0) throw new RangeError('this table is keyed by pid only: pidns must be 0');
  }

  sourceOf(row: number): number {
    return (this.flags[row]! & SOURCE_BITS) >> SOURCE_SHIFT;
  }

  static sourceFlags(source: number): number {
    return (source << SOURCE_SHIFT) & SOURCE_BITS;
  }

  // ---- writer side of the reader protocol ------------------------------

  /**
   * Opens a write window on `row`: readers retry until endWrite. The seq
   * bumps are plain stores where stores keep program order (store-order.ts):
   * a reader who sees a changed field then also sees the odd seq before it.
   * Every window also moves the table's write epoch on, which tells a
   * reader's entry cache that nothing changed since an entry was made.
   */
  beginWrite(row: number): void {
    this.meta[M_WRITE_EPOCH]!++;
    if (ORDERED_STORES) this.seq[row] = (this.seq[row]! + 1) & 0xffff;
    else Atomics.store(this.seq, row, (this.seq[row]! + 1) & 0xffff);
  }

  endWrite(row: number): void {
    if (ORDERED_STORES) this.seq[row] = (this.seq[row]! + 1) & 0xffff;
    else Atomics.store(this.seq, row, (this.seq[row]! + 1) & 0xffff);
  }

  private beginIndexWrite(): void {
    if (ORDERED_STORES) this.meta[M_INDEX_VERSION]!++;
    else Atomics.add(this.meta, M_INDEX_VERSION, 1);
  }

  private endIndexWrite(): void {
    if (ORDERED_STORES) this.meta[M_INDEX_VERSION]!++;
    else Atomics.add(this.meta, M_INDEX_VERSION, 1);
  }

  /** The write epoch (moves on with every row write): readers' caches of entries are current while it stands still. */
  writeEpoch(): number {
    return Atomics.load(this.meta, M_WRITE_EPOCH);
  }

  /** Index version for readers: odd while the writer changes the index. */
  indexVersion(): number {
    return Atomics.load(this.meta, M_INDEX_VERSION);
  }

  // ---- pid index -------------------------------------------------------
  // The index holds the current entry of every live pid (F_CURRENT) and,
  // in a sharded pipeline, the rows other shards link to by key
  // (remoteRefs > 0), so that a retired instance stays findable while a
  // remote descendant needs it. One key may have several slots.

  /** Current row of (pid, pidns), or -1. Writer-side (no retry). */
  lookup(pid: number, pidns: number): number {
    const index = this.index;
    const slots = index.slots;
    let slot = index.home(hashPidKey(pid, pidns));
    for (;;) {
      const v = slots[slot]!;
      if (v === 0) return -1;
      const row = v - 1;
      if (this.pid[row] === pid && (this.flags[row]! & F_CURRENT) !== 0 && this.pidnsOf(row) === pidns) return row;
      slot = index.next(slot);
    }
  }

  /**
   * The entry of (pid, pidns) that was current at time T: among the indexed
   * rows of that key, the latest instance that had forked by T, and in it
   * the image that had not yet been replaced by an exec at T. -1 when none.
   */
  findAt(pid: number, pidns: number, timeLo: number, timeHi: number): number {
    const index = this.index;
    const slots = index.slots;
    const forkW = this.forkTimeW;
    const exitW = this.exitTimeW;
    let best = -1;
    let bestLo = 0;
    let bestHi = -1;
    for (let slot = index.home(hashPidKey(pid, pidns)); ; slot = index.next(slot)) {
      const v = slots[slot]!;
      if (v === 0) break;
      const row = v - 1;
      if (this.pid[row] !== pid || this.pidnsOf(row) !== pidns) continue;
      const forkLo = forkW[2 * row]!;
      const forkHi = forkW[2 * row + 1]!;
      if (timeLess(timeLo, timeHi, forkLo, forkHi) || timeLess(forkLo, forkHi, bestLo, bestHi)) continue;
      let gen = row;
      for (let up = this.ancestor[gen]!; up >= 0; up = this.ancestor[gen]!) {
        if (this.pid[up] !== pid || forkW[2 * up] !== forkLo || forkW[2 * up + 1] !== forkHi) break;
        if (timeLessEq(exitW[2 * up]!, exitW[2 * up + 1]!, timeLo, timeHi)) break;
        gen = up;
      }
      // an image replaced by an exec before T is not the one (the walk stops
      // above it); the instance's last image counts even if it had exited by
      // T: a parent that exited but was not flushed yet is still the parent
      // (docs/cache.md), and the latest instance forked by T is the one
      // that was current then
      if (gen !== row && (exitW[2 * row]! | exitW[2 * row + 1]!) !== 0 && timeLessEq(exitW[2 * gen]!, exitW[2 * gen + 1]!, timeLo, timeHi)) continue;
      best = gen;
      bestLo = forkLo;
      bestHi = forkHi;
    }
    return best;
  }

  /** Makes `row` the current entry of its pid (no current entry may exist). */
  indexInsert(row: number): void {
    this.beginIndexWrite();
    if ((this.flags[row]! & F_IN_INDEX) === 0) this.addSlot(row);
    this.flags[row]! |= F_CURRENT;
    this.endIndexWrite();
    this.refs[row]!++;
    this.meta[M_LIVE]!++;
  }

  /** Takes `row` out of the live cache; it may be reclaimed if nothing links to it. */
  indexRemove(row: number): void {
    this.beginIndexWrite();
    this.flags[row]! &= ~F_CURRENT;
    if (this.remoteRefs[row] === 0) this.removeSlot(row);
    this.endIndexWrite();
    this.meta[M_LIVE]!--;
    this.release(row);
  }

  /** Exec: `newRow` becomes the current entry in place of `oldRow`. */
  indexReplace(oldRow: number, newRow: number): void {
    this.beginIndexWrite();
    if (this.remoteRefs[oldRow] === 0) {
      // same key: take over the slot, no reshuffle
      const slot = this.slotOf(oldRow);
      this.index.slots[slot] = newRow + 1;
      this.flags[oldRow]! &= ~(F_CURRENT | F_IN_INDEX);
    } else {
      this.flags[oldRow]! &= ~F_CURRENT;
      this.addSlot(newRow);
    }
    this.flags[newRow]! |= F_CURRENT | F_IN_INDEX;
    this.endIndexWrite();
    this.refs[newRow]!++;
    this.release(oldRow);
  }

  /** A row of another shard links to `row` (LINK): keep it, and findable. */
  addRemoteRef(row: number): void {
    if ((this.flags[row]! & F_IN_INDEX) === 0) {
      this.beginIndexWrite();
      this.addSlot(row);
      this.endIndexWrite();
    }
    this.remoteRefs[row]!++;
    this.refs[row]!++;
  }

  /**
   * A tombstone row for (pid, pidns) at `time` (see F_TOMBSTONE), held by
   * one remote link. -1 when no row is free.
   */
  addTombstone(pid: number, pidns: number, timeLo: number, timeHi: number): number {
    const row = this.allocRow();
    if (row < 0) return -1;
    this.meta[M_ROWS_USED]!--; // not an entry
    this.pid[row] = pid;
    this.ppid[row] = 0;
    this.setPidns(row, pidns);
    this.forkTimeW[2 * row] = timeLo;
    this.forkTimeW[2 * row + 1] = timeHi;
    this.execTimeW[2 * row] = this.execTimeW[2 * row + 1] = 0;
    this.inode[row] = 0;
    this.flags[row] = F_USED | F_TOMBSTONE;
    this.endWrite(row);
    this.addRemoteRef(row);
    return row;
  }

  /** A remote link to `row` is gone (UNLINK). False when it had none (bad input, counted by the caller). */
  dropRemoteRef(row: number): boolean {
    if (this.remoteRefs[row] === 0) return false;
    if (--this.remoteRefs[row]! === 0 && (this.flags[row]! & F_CURRENT) === 0) {
      this.beginIndexWrite();
      this.removeSlot(row);
      this.endIndexWrite();
    }
    this.release(row);
    return true;
  }

  /**
   * The keys (ppid, pidns, fork time) of every row whose parent lives in
   * another shard chosen by `inTarget(ppid, pidns)`: the links that shard
   * must hold for this one.
   */
  remoteParentKeys(inTarget: (ppid: number, pidns: number) => boolean): LinkKeys {
    const ppid: number[] = [];
    const pidns: number[] = [];
    const forkTime: bigint[] = [];
    for (let row = 0; row < this.capacity; row++) {
      const f = this.flags[row]!;
      if ((f & (F_USED | F_REMOTE_PARENT)) !== (F_USED | F_REMOTE_PARENT) || this.ancestor[row]! >= 0) continue;
      const ns = this.pidnsOf(row);
      if (!inTarget(this.ppid[row]!, ns)) continue;
      ppid.push(this.ppid[row]!);
      pidns.push(ns);
      forkTime.push(this.forkTime[row]!);
    }
    return { ppid: Int32Array.from(ppid), pidns: Uint32Array.from(pidns), forkTime: BigInt64Array.from(forkTime) };
  }

  /** Calls `cb(row)` for every current entry. */
  forEachLive(cb: (row: number) => void): void {
    const slots = this.index.slots;
    for (let i = 0; i < slots.length; i++) {
      const v = slots[i]!;
      if (v !== 0 && (this.flags[v - 1]! & F_CURRENT) !== 0) cb(v - 1);
    }
  }

  /** Index slots, for readers probing with the reader protocol. */
  get indexSlots(): OpenIndex {
    return this.index;
  }

  private addSlot(row: number): void {
    const index = this.index;
    let slot = index.home(this.hashOf(row));
    while (index.slots[slot] !== 0) slot = index.next(slot);
    index.slots[slot] = row + 1;
    this.flags[row]! |= F_IN_INDEX;
  }

  private slotOf(row: number): number {
    const index = this.index;
    let slot = index.home(this.hashOf(row));
    while (index.slots[slot] !== row + 1) slot = index.next(slot);
    return slot;
  }

  private removeSlot(row: number): void {
    this.index.removeAt(this.slotOf(row), this);
    this.flags[row]! &= ~F_IN_INDEX;
  }

  // ---- rows ------------------------------------------------------------

  /**
   * A cleared row with no references, or -1 when the table is full even
   * after flushing exited pids (oldest exit first). The row comes back
   * inside its write window (one window for clearing and filling: each
   * window is two fenced stores): the caller fills it, sets F_USED, and
   * calls endWrite before linking it anywhere.
   */
  allocRow(): number {
    let row = this.takeRow();
    while (row < 0 && this.evictOneExited()) row = this.takeRow();
    if (row < 0) return -1;
    this.meta[M_ROWS_USED]!++;
    this.beginWrite(row); // a reader holding this row number from its last life sees the change
    this.flags[row] = 0; // not in use until the caller says so
    this.refs[row] = 0;
    this.remoteRefs[row] = 0;
    this.ancestor[row] = -1;
    this.exitTimeW[2 * row] = this.exitTimeW[2 * row + 1] = 0;
    this.exitCode[row] = 0;
    this.pathId[row] = this.commId[row] = this.argvId[row] = this.envpId[row] = 0;
    this.ctxId[row] = this.interpId[row] = this.nsId[row] = 0;
    this.credsId[row] = this.creds.unknownId;
    return row;
  }

  /** Holds `row` across work that may evict (interning, allocation); undo with release(). */
  pin(row: number): void {
    this.refs[row]!++;
  }

  /** Links `row` to `ancestorRow` (or none with -1), taking a reference. */
  setAncestor(row: number, ancestorRow: number): void {
    const old = this.ancestor[row]!;
    this.ancestor[row] = ancestorRow;
    if (ancestorRow >= 0) this.refs[ancestorRow]!++;
    if (old >= 0) this.release(old);
  }

  /** Drops one reference to `row`; reclaims it and walks up when none is left. */
  release(row: number): void {
    while (row >= 0) {
      const left = --this.refs[row]!;
      if (left > 0) return;
      if (left < 0) throw new Error(`row ${row} released more often than referenced`);
      const up = this.ancestor[row]!;
      if ((this.flags[row]! & F_REMOTE_PARENT) !== 0 && up < 0) {
        this.onRemoteParentReleased?.(this.ppid[row]!, this.pidnsOf(row), this.forkTimeW[2 * row]!, this.forkTimeW[2 * row + 1]!);
      }
      this.freeRow(row);
      row = up;
    }
  }

  private takeRow(): number {
    const meta = this.meta;
    const head = meta[M_FREE_HEAD]!;
    if (head >= 0) {
      meta[M_FREE_HEAD] = this.ancestor[head]!;
      return head;
    }
    if (meta[M_NEXT_ROW]! < this.capacity) return meta[M_NEXT_ROW]!++;
    return -1;
  }

  private freeRow(row: number): void {
    this.beginWrite(row);
    const strings = this.strings;
    strings.decref(this.pathId[row]!);
    strings.decref(this.commId[row]!);
    strings.decref(this.argvId[row]!);
    strings.decref(this.envpId[row]!);
    strings.decref(this.ctxId[row]!);
    strings.decref(this.interpId[row]!);
    strings.decref(this.nsId[row]!);
    this.creds.decref(this.credsId[row]!);
    this.pathId[row] = this.commId[row] = this.argvId[row] = this.envpId[row] = 0;
    this.ctxId[row] = this.interpId[row] = this.nsId[row] = 0;
    this.credsId[row] = this.creds.unknownId;
    if ((this.flags[row]! & F_TOMBSTONE) === 0) this.meta[M_ROWS_USED]!--; // a tombstone was never counted
    this.flags[row] = 0;
    this.ancestor[row] = this.meta[M_FREE_HEAD]!; // free-list link
    this.meta[M_FREE_HEAD] = row;
    this.endWrite(row);
  }

  // ---- exited pids -----------------------------------------------------
  // A binary min-heap of (exit time, row): exits arrive out of time order
  // (different CPUs, late events), and flushing and eviction must take the
  // oldest exit first. Entries go stale when a row leaves the live cache by
  // another way (delete, pid reuse, exec); they are skipped when they surface.

  /** Queues an exited current entry for flushing after the retention delay. */
  queueExited(row: number): void {
    if (this.meta[M_EXITQ_COUNT] === this.capacity) this.compactExited();
    if (this.meta[M_EXITQ_COUNT] === this.capacity) this.evictOneExited();
    let i = this.meta[M_EXITQ_COUNT]!++;
    const keyLo = this.exitTimeW[2 * row]!;
    const keyHi = this.exitTimeW[2 * row + 1]!;
    const heapRow = this.exitHeapRow;
    const heapW = this.exitHeapW;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (timeLessEq(heapW[2 * up]!, heapW[2 * up + 1]!, keyLo, keyHi)) break;
      heapRow[i] = heapRow[up]!;
      heapW[2 * i] = heapW[2 * up]!;
      heapW[2 * i + 1] = heapW[2 * up + 1]!;
      i = up;
    }
    heapRow[i] = row;
    heapW[2 * i] = keyLo;
    heapW[2 * i + 1] = keyHi;
    this.flags[row]! |= F_EXIT_QUEUED;
  }

  /**
   * Flushes queued exited entries whose exit is at least `retention` older
   * than `now`. Returns how many pids left the live cache.
   */
  flushExited(now: bigint, retention: bigint): number {
    const limit = now - retention; // once per flush: the only bigint arithmetic here
    if (limit < 0n) return 0;
    const limitLo = timeLo(limit);
    const limitHi = timeHi(limit);
    const heapW = this.exitHeapW;
    let flushed = 0;
    while (this.peekExited() >= 0 && timeLessEq(heapW[0]!, heapW[1]!, limitLo, limitHi)) {
      if (this.flushQueuedRow(this.popExited())) flushed++;
    }
    this.counters[C.flushed]! += flushed;
    return flushed;
  }

  /** Whether heap slot i still stands for its row: queued, current, and with the same exit time. */
  private heapSlotValid(i: number): boolean {
    const row = this.exitHeapRow[i]!;
    const f = this.flags[row]!;
    return (
      (f & (F_EXIT_QUEUED | F_CURRENT)) === (F_EXIT_QUEUED | F_CURRENT) &&
      this.exitTimeW[2 * row] === this.exitHeapW[2 * i] &&
      this.exitTimeW[2 * row + 1] === this.exitHeapW[2 * i + 1]
    );
  }

  /** Drops every stale heap entry and rebuilds the heap (when it is full). */
  private compactExited(): void {
    const heapRow = this.exitHeapRow;
    const n = this.meta[M_EXITQ_COUNT]!;
    // survivors first, in place (slot k <= i), then re-pushed: a duplicate of a re-queued row goes once
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (!this.heapSlotValid(i)) continue;
      const row = heapRow[i]!;
      this.flags[row]! &= ~F_EXIT_QUEUED;
      heapRow[kept++] = row;
    }
    this.meta[M_EXITQ_COUNT] = 0;
    for (let k = 0; k < kept; k++) {
      const row = heapRow[k]!;
      if ((this.flags[row]! & F_EXIT_QUEUED) === 0) this.queueExited(row);
    }
  }

  /** Flushes the queued entry with the oldest exit regardless of retention. */
  private evictOneExited(): boolean {
    while (this.peekExited() >= 0) {
      if (this.flushQueuedRow(this.popExited())) {
        this.counters[C.evicted]!++;
        return true;
      }
    }
    return false;
  }

  /** The row with the oldest queued exit, or -1; drops stale heap entries on the way. */
  private peekExited(): number {
    while (this.meta[M_EXITQ_COUNT]! > 0) {
      if (this.heapSlotValid(0)) return this.exitHeapRow[0]!;
      this.popExited();
    }
    return -1;
  }

  private popExited(): number {
    const heapRow = this.exitHeapRow;
    const heapW = this.exitHeapW;
    const top = heapRow[0]!;
    const n = --this.meta[M_EXITQ_COUNT]!;
    const lastRow = heapRow[n]!;
    const lastLo = heapW[2 * n]!;
    const lastHi = heapW[2 * n + 1]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && timeLess(heapW[2 * child + 2]!, heapW[2 * child + 3]!, heapW[2 * child]!, heapW[2 * child + 1]!)) child++;
      if (timeLessEq(lastLo, lastHi, heapW[2 * child]!, heapW[2 * child + 1]!)) break;
      heapRow[i] = heapRow[child]!;
      heapW[2 * i] = heapW[2 * child]!;
      heapW[2 * i + 1] = heapW[2 * child + 1]!;
      i = child;
    }
    heapRow[i] = lastRow;
    heapW[2 * i] = lastLo;
    heapW[2 * i + 1] = lastHi;
    return top;
  }

  private flushQueuedRow(row: number): boolean {
    const f = this.flags[row]!;
    if ((f & (F_EXIT_QUEUED | F_CURRENT)) !== (F_EXIT_QUEUED | F_CURRENT)) return false;
    this.flags[row] = f & ~F_EXIT_QUEUED;
    this.indexRemove(row);
    return true;
  }

  // ---- strings ---------------------------------------------------------

  /**
   * Interns bytes, flushing exited pids when the string table is full; when
   * nothing frees enough, stores the empty string and counts it.
   */
  intern(src: Uint8Array, srcDv: DataView, off: number, len: number, hash = -1): number {
    let id = this.strings.internBytes(src, srcDv, off, len, hash);
    while (id < 0 && this.evictOneExited()) id = this.strings.internBytes(src, srcDv, off, len, hash);
    if (id < 0) {
      this.counters[C.stringsFull]!++;
      return 0;
    }
    return id;
  }

  internString(s: string): number {
    let id = this.strings.internString(s);
    while (id < 0 && this.evictOneExited()) id = this.strings.internString(s);
    if (id < 0) {
      this.counters[C.stringsFull]!++;
      return 0;
    }
    return id;
  }

  /** Merged credential set (see CredentialTable.merge), evicting when full. */
  mergeCreds(base: number, values: Uint32Array, mask: number): number {
    let id = this.creds.merge(base, values, mask);
    while (id < 0 && this.evictOneExited()) id = this.creds.merge(base, values, mask);
    if (id < 0) {
      this.counters[C.stringsFull]!++;
      this.creds.incref(base);
      return base;
    }
    return id;
  }

  /** Keeps the newest event time seen (dequeueExited() without a time flushes relative to it). */
  noteTime(lo: number, hi: number): void {
    const w = this.newestTimeW;
    if (timeLess(w[0]!, w[1]!, lo, hi)) {
      w[0] = lo;
      w[1] = hi;
    }
  }
}

/** The int32 words (time-words.ts) of a column of 64-bit times. */
function wordsOf(column: BigInt64Array): Int32Array {
  return new Int32Array(column.buffer, column.byteOffset, column.length * 2);
}
