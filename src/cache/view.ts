// ProcessView: a lock-free reader of the process tables of a sharded
// pipeline (or of one table), usable from any thread while the shard
// workers keep writing. It follows the reader protocol of table.ts: every
// row read is validated by its seq, index probes by the index version,
// links into another shard wait until that shard has caught up.
//
// Two APIs: a Cursor (allocation-free, for hot readers: resolve + walk
// millions of times per second) and the object API (resolve(), walk(),
// toJSON(), toDot()) that materialises ProcessEntry snapshots.

import { ENTRY_MARK_DERIVED, ENTRY_MARK_INCOMPLETE, ENTRY_MARK_MISSING, EntryDecoder } from './entry.js';
import { entriesToDot, entriesToJSON, entryViews, type EntryViews } from './export.js';
import { ArgvScrubber } from './scrub.js';
import { PipelineControl, shardOf, type PipelineHandles } from './shards.js';
import {
  F_CURRENT,
  F_PARENT_MISSING,
  F_REMOTE_PARENT,
  F_REPARENTED,
  F_TOMBSTONE,
  linkGseqOf,
  ProcessTable,
  type ProcessTableHandles,
} from './table.js';
import { timeLess } from './time-words.js';
import type { EntryCredentials, ProcessEntry } from './types.js';
import { UserNames } from './users.js';

export interface ViewOptions {
  /** Where /proc is: user names come from its sibling etc/ (default '/proc'). */
  procRoot?: string;
  /** Decode envp in entries (default false). */
  withEnvs?: boolean;
  envsWithValue?: readonly string[];
  scrubWords?: readonly string[];
  /** How long a reader may sleep for a lagging shard before returning a chain marked lineageIncomplete (default 0: only a ~20 µs spin). */
  linkWaitMs?: number;
}

/** What Cursor.decoded decodes. */
const DECODE_TEXT = 0;
const DECODE_LIST = 1;
const DECODE_CREDS = 2;

/** Bound on retries of one read before the reader reports the row as unreadable. */
const MAX_RETRIES = 1000;
/** Spins before a retrying reader starts to sleep (a writer preempted inside its window). */
const SPINS = 64;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Lets a writer that sits inside its write window (preempted on a busy machine) finish. */
function backoff(attempt: number): void {
  if (attempt >= SPINS) Atomics.wait(sleeper, 0, 0, 0.02);
}

/**
 * A position on one row of one shard, with the row's fields as they were in
 * one consistent read. Reused: seek() and up() overwrite it.
 */
export class Cursor {
  shard = -1;
  row = -1;
  /** Row version at the read: the row is unchanged while seq matches. */
  seq = 0;
  pid = 0;
  ppid = 0;
  pidns = 0;
  flags = 0;
  inode = 0;
  exitCode = 0;
  pathId = 0;
  commId = 0;
  argvId = 0;
  envpId = 0;
  credsId = 0;
  ctxId = 0;
  interpId = 0;
  /**
   * The namespace tuple (src/cache/namespaces.ts readNamespaces); 0 = unknown.
   * With F_NSPID_IS_PID in flags it holds nsPid 0: the nsPid is the pid
   * (readNamespaces(strings, nsId, pid)).
   */
  nsId = 0;
  private ancestorRow = -1;
  /** forkTime, execTime, exitTime (bigints, for the getters). */
  readonly times = new BigInt64Array(3);
  /** The same three times as int32 words (time-words.ts): what load() copies, allocation-free. */
  readonly timeWords = new Int32Array(this.times.buffer);
  /** The last up() failed because the row changed under the reader: start again from seek(). */
  stale = false;
  /** The last up() found no parent entry for a row whose parent lives in another shard. */
  parentUnresolved = false;
  /**
   * The last up() could not follow the link to a parent in another shard
   * yet: that shard had not applied it (within the router-to-worker lag,
   * after a short spin). The chain is known up to here for now.
   */
  lineageIncomplete = false;
  /** Reads that had to be retried because a writer was in the row (for the torn-read stress test). */
  retries = 0;

  /**
   * `walkOnly`: load() reads only what seek() and up() need (seq, pid, ppid,
   * pidns, flags, inode, link, fork time): the view's own cursor, whose rows
   * the entry decoder reads itself. A row's columns are apart in memory:
   * each one read is a cache line.
   */
  constructor(
    private readonly view: ProcessView,
    private readonly walkOnly = false,
  ) {}

  get forkTime(): bigint {
    return this.times[0]!;
  }

  get execTime(): bigint {
    return this.times[1]!;
  }

  get exitTime(): bigint {
    return this.times[2]!;
  }

  /** Moves to the current entry of (pid, pidns). False when the pid is not cached. */
  seek(pid: number, pidns = 0): boolean {
    const view = this.view;
    const shard = shardOf(pid, pidns, view.tables.length);
    const t = view.tables[shard]!;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const v1 = t.indexVersion();
      if ((v1 & 1) !== 0) {
        this.retries++;
        backoff(attempt);
        continue;
      }
      const row = t.lookup(pid, pidns);
      if (t.indexVersion() !== v1) {
        this.retries++;
        backoff(attempt);
        continue;
      }
      if (row < 0) return false;
      if (!this.load(shard, row)) continue;
      if (this.pid !== pid || this.pidns !== pidns || (this.flags & F_CURRENT) === 0) {
        this.retries++; // the row changed hands between the probe and the read
        continue;
      }
      return true;
    }
    return false;
  }

  /**
   * Moves to the ancestor of the current row: the previous image of the
   * same pid, or the parent as it was at fork time (in this shard or
   * another). False at the top of the chain, when the parent is unknown
   * (parentUnresolved), or when the row changed under the reader (stale).
   */
  up(): boolean {
    this.stale = false;
    this.parentUnresolved = false;
    this.lineageIncomplete = false;
    const view = this.view;
    const childShard = this.shard;
    const childRow = this.row;
    const childSeq = this.seq;
    const t = view.tables[childShard]!;
    if (this.ancestorRow >= 0) {
      if (!this.load(childShard, this.ancestorRow)) return this.markStale();
      if (Atomics.load(t.seq, childRow) !== childSeq) return this.markStale();
      return true;
    }
    if ((this.flags & F_REMOTE_PARENT) === 0) return false;
    const ppid = this.ppid;
    const pidns = this.pidns;
    const forkLo = this.timeWords[0]!;
    const forkHi = this.timeWords[1]!;
    const shard = shardOf(ppid, pidns, view.tables.length);
    if (!view.linkReady(shard, linkGseqOf(this.ancestorRow))) {
      // still valid? then the chain is complete as far as it goes, the rest is not there yet
      if (Atomics.load(t.seq, childRow) !== childSeq) return this.markStale();
      this.lineageIncomplete = true;
      return false;
    }
    const pt = view.tables[shard]!;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const v1 = pt.indexVersion();
      if ((v1 & 1) !== 0) {
        backoff(attempt);
        continue;
      }
      const row = pt.findAt(ppid, pidns, forkLo, forkHi);
      if (pt.indexVersion() !== v1) {
        backoff(attempt);
        continue;
      }
      if (row < 0) {
        // no parent entry: unless the child itself changed meanwhile (then it is stale)
        if (Atomics.load(t.seq, childRow) !== childSeq) return this.markStale();
        this.parentUnresolved = true;
        return false;
      }
      if (!this.load(shard, row)) return this.markStale();
      // reused under us: probe again
      if (this.pid !== ppid || timeLess(forkLo, forkHi, this.timeWords[0]!, this.timeWords[1]!)) continue;
      if ((this.flags & F_TOMBSTONE) !== 0) {
        // the parent had left the live cache when the child forked: no parent (back on the child)
        if (!this.load(childShard, childRow) || this.seq !== childSeq) return this.markStale();
        this.parentUnresolved = true;
        return false;
      }
      if (Atomics.load(t.seq, childRow) !== childSeq) return this.markStale();
      return true;
    }
    return this.markStale();
  }

  /**
   * What the row at the cursor holds, decoded (and cached per string id by
   * the view): its path, comm, argv and credentials. Decoded after the row
   * read, so checked against the row's version: undefined, with `stale`
   * set, when the row changed since seek()/up()/load() (read it again).
   */
  path(): string | undefined {
    return this.decoded(DECODE_TEXT, this.pathId) as string | undefined;
  }

  comm(): string | undefined {
    return this.decoded(DECODE_TEXT, this.commId) as string | undefined;
  }

  argv(): readonly string[] | undefined {
    return this.decoded(DECODE_LIST, this.argvId) as readonly string[] | undefined;
  }

  credentials(): Readonly<EntryCredentials> | undefined {
    return this.decoded(DECODE_CREDS, this.credsId) as Readonly<EntryCredentials> | undefined;
  }

  /** The value of a string id of the row, if the row is still at the version the cursor read; else undefined (stale). */
  private decoded(kind: number, id: number): unknown {
    if (this.walkOnly) throw new Error("the view's own cursor holds no string ids");
    const d = this.view.decoderOf(this.shard);
    let value: unknown;
    let failure: unknown;
    try {
      value = kind === DECODE_TEXT ? d.textOf(id) : kind === DECODE_LIST ? d.listOf(id) : d.credentialsOf(id);
    } catch (err) {
      failure = err; // the id may have been freed and reused meanwhile: decided by the version below
    }
    if (Atomics.load(this.view.tables[this.shard]!.seq, this.row) !== this.seq) {
      this.stale = true;
      return undefined;
    }
    if (failure !== undefined) throw failure;
    return value;
  }

  private markStale(): false {
    this.stale = true;
    return false;
  }

  /** One consistent read of a row into the cursor. False if it never settled. */
  load(shard: number, row: number): boolean {
    const t = this.view.tables[shard]!;
    const seqs = t.seq;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const s1 = Atomics.load(seqs, row);
      if ((s1 & 1) !== 0) {
        this.retries++;
        backoff(attempt);
        continue;
      }
      this.pid = t.pid[row]!;
      this.ppid = t.ppid[row]!;
      this.pidns = t.pidnsOf(row);
      this.flags = t.flags[row]!;
      this.inode = t.inode[row]!;
      this.ancestorRow = t.ancestor[row]!;
      const w = this.timeWords;
      w[0] = t.forkTimeW[2 * row]!;
      w[1] = t.forkTimeW[2 * row + 1]!;
      if (!this.walkOnly) {
        this.exitCode = t.exitCode[row]!;
        this.pathId = t.pathId[row]!;
        this.commId = t.commId[row]!;
        this.argvId = t.argvId[row]!;
        this.envpId = t.envpId[row]!;
        this.credsId = t.credsId[row]!;
        this.ctxId = t.ctxId[row]!;
        this.interpId = t.interpId[row]!;
        this.nsId = t.nsId[row]!;
        w[2] = t.execTimeW[2 * row]!;
        w[3] = t.execTimeW[2 * row + 1]!;
        w[4] = t.exitTimeW[2 * row]!;
        w[5] = t.exitTimeW[2 * row + 1]!;
      }
      if (Atomics.load(seqs, row) === s1) {
        this.shard = shard;
        this.row = row;
        this.seq = s1;
        return true;
      }
      this.retries++;
    }
    return false;
  }
}

export class ProcessView {
  readonly tables: readonly ProcessTable[];
  readonly control: PipelineControl | undefined;
  private readonly decoders: EntryDecoder[];
  private readonly scrubber: ArgvScrubber;
  private readonly envsWithValue: ReadonlySet<string>;
  private readonly linkWaitMs: number;
  /** Links into a shard that had not applied them yet, after the spin (and the linkWaitMs wait, if any): chains returned incomplete. */
  lineageIncomplete = 0;
  /** Links that had to wait (spin) for their shard. */
  linkWaits = 0;
  /** The cursor of resolve() and liveEntries() (a view is used from one thread). */
  private readonly c: Cursor;
  /**
   * Per shard and row slot of the kept entries: where the kept entry's
   * ancestor was read (its shard, or CHAIN_TOP / CHAIN_UNSURE, and its row),
   * so that resolve() can tell a kept chain is still current from the
   * versions of its rows alone.
   */
  private readonly parentShard: Int8Array[];
  private readonly parentRow: Int32Array[];
  /** Where findCurrent() found the row (scratch). */
  private foundShard = -1;
  private foundRow = -1;
  private foundSeq = 0;
  /** The chain being materialized, nearest first (scratch): shard, row, seq and marks of each level. */
  private chain: Int32Array = new Int32Array(4 * 64);
  /**
   * The write epochs of the shards (ProcessTable.writeEpoch) summed, when
   * each kept entry was made, by shard and row slot; NaN: not to be reused
   * without reading its chain again.
   */
  private readonly keptEpoch: Float64Array[];
  private readonly capacityBound: number;
  /** The last materialized chain stopped at a link its shard had not applied yet. */
  private incomplete = false;

  /**
   * A lock-free reader (resolve, ancestors, walk, toJSON, toDot, cursor) of
   * a pipeline's shards or of one table, from any thread: `handles` are a
   * pipeline's (pipeline.handles) or a table's (table.handles), as they
   * arrive in a worker thread (structured-clone safe).
   */
  static attach(handles: PipelineHandles | ProcessTableHandles, options?: ViewOptions): ProcessView {
    return new ProcessView('control' in handles ? handles : new ProcessTable(handles), options);
  }

  /** A view of a pipeline's shards (handles from createPipeline) or of one table. */
  constructor(source: PipelineHandles | ProcessTable, options: ViewOptions = {}) {
    if (source instanceof ProcessTable) {
      this.tables = [source];
      this.control = undefined;
    } else {
      this.tables = source.shards.map((h) => new ProcessTable(h));
      this.control = new PipelineControl(source.control, source.shards.length);
    }
    const users = new UserNames(`${options.procRoot ?? '/proc'}/../etc`);
    this.decoders = this.tables.map((t) => new EntryDecoder(t, users, options.withEnvs === true));
    this.keptEpoch = this.decoders.map((d) => new Float64Array(d.slots).fill(NaN));
    this.scrubber = new ArgvScrubber(options.scrubWords ?? []);
    this.envsWithValue = new Set(options.envsWithValue ?? []);
    this.linkWaitMs = options.linkWaitMs ?? 0;
    this.c = new Cursor(this, true);
    this.parentShard = this.decoders.map((d) => new Int8Array(d.slots).fill(CHAIN_UNSURE));
    this.parentRow = this.decoders.map((d) => new Int32Array(d.slots));
    let bound = 0;
    for (const t of this.tables) bound += t.capacity;
    this.capacityBound = bound;
  }

  cursor(): Cursor {
    return new Cursor(this);
  }

  /** The entry decoder (and its caches of decoded strings) of a shard. */
  decoderOf(shard: number): EntryDecoder {
    return this.decoders[shard]!;
  }

  /**
   * Whether `shard` has applied the link record numbered `gseq` (its low
   * bits, from the linking row; -1: not known, then everything dispatched
   * to it so far). Spins a few microseconds for it (the link is usually
   * within the record or two the worker is applying); with linkWaitMs,
   * then waits that long, sleeping. Never longer.
   */
  linkReady(shard: number, gseq: number): boolean {
    const control = this.control;
    if (!control || control.hasApplied(shard, gseq)) return true;
    this.linkWaits++;
    let deadline = performance.now() + LINK_SPIN_MS;
    while (performance.now() < deadline) if (control.hasApplied(shard, gseq)) return true;
    if (this.linkWaitMs > 0) {
      deadline += this.linkWaitMs;
      while (performance.now() < deadline) {
        Atomics.wait(sleeper, 0, 0, 0.05);
        if (control.hasApplied(shard, gseq)) return true;
      }
    }
    this.lineageIncomplete++;
    return false;
  }

  /** The sum of the shards' write epochs: unchanged, no row of any shard changed. */
  private epoch(): number {
    let sum = 0;
    for (let i = 0; i < this.tables.length; i++) sum = (sum + this.tables[i]!.writeEpoch()) | 0;
    return sum;
  }

  /**
   * The current entry of a pid with its ancestor chain, or undefined. A kept
   * entry is returned as it is (the same object) while nothing has been
   * written since it was made (the write epochs), or while every row of its
   * chain is at the version it was read at: the cost of a pid lookup and a
   * version compare per ancestor. Otherwise the rows that changed are read
   * again, and the entries above them reused.
   */
  resolve(pid: number, pidns = 0): ProcessEntry | undefined {
    const c = this.c;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const epoch = this.epoch();
      if (!this.findCurrent(pid, pidns)) return undefined;
      const shard = this.foundShard;
      const row = this.foundRow;
      const d = this.decoders[shard]!;
      const kept = d.keptEntry(row, this.foundSeq);
      if (kept !== undefined) {
        if (this.keptEpoch[shard]![d.slotOf(row)] === epoch && this.epoch() === epoch) return kept;
        if (this.chainCurrent(kept, shard, row)) {
          this.keptEpoch[shard]![d.slotOf(row)] = epoch; // current at epoch: no need to look again until a write
          return kept;
        }
      }
      if (!c.load(shard, row) || c.pid !== pid || c.pidns !== pidns || (c.flags & F_CURRENT) === 0) continue;
      const entry = this.materialize(c);
      if (entry) {
        // a chain that stopped at a link not yet applied must be read again: applying it writes no row
        this.keptEpoch[shard]![d.slotOf(row)] = this.incomplete ? NaN : epoch;
        return entry;
      }
    }
    return undefined;
  }

  /**
   * The current row of (pid, pidns) and its seq, into found*, reading only
   * what proves it (the index, and the row's seq, pid, flags and pidns).
   */
  private findCurrent(pid: number, pidns: number): boolean {
    const shard = shardOf(pid, pidns, this.tables.length);
    const t = this.tables[shard]!;
    const seqs = t.seq;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const v1 = t.indexVersion();
      if ((v1 & 1) !== 0) {
        backoff(attempt);
        continue;
      }
      const row = t.lookup(pid, pidns);
      if (t.indexVersion() !== v1) {
        backoff(attempt);
        continue;
      }
      if (row < 0) return false;
      const s1 = Atomics.load(seqs, row);
      if ((s1 & 1) !== 0) {
        backoff(attempt);
        continue;
      }
      const current = t.pid[row] === pid && (t.flags[row]! & F_CURRENT) !== 0 && t.pidnsOf(row) === pidns;
      // not current at s1: the row changed hands between the probe and the read, probe again
      if (Atomics.load(seqs, row) !== s1 || !current) continue;
      this.foundShard = shard;
      this.foundRow = row;
      this.foundSeq = s1;
      return true;
    }
    return false;
  }

  /**
   * Whether the kept entry `e` of (shard, row) and its whole chain were
   * read from the rows as they are now: each level's row at the version its
   * entry was made from, up to a top that was a top by its own row (a
   * parent in another shard that was missing or not yet applied is looked
   * for again).
   */
  private chainCurrent(e: ProcessEntry, shard: number, row: number): boolean {
    for (let n = 0; n <= this.capacityBound; n++) {
      const d = this.decoders[shard]!;
      if (d.keptEntry(row, Atomics.load(this.tables[shard]!.seq, row)) !== e) return false;
      const slot = d.slotOf(row);
      const up = this.parentShard[shard]![slot]!;
      if (up === CHAIN_TOP) return e.ancestor === undefined;
      const a = e.ancestor;
      if (up === CHAIN_UNSURE || a === undefined) return false;
      row = this.parentRow[shard]![slot]!;
      shard = up;
      e = a;
    }
    return false;
  }

  /** The entry of a pid and its ancestors, nearest first. */
  ancestors(pid: number, pidns = 0): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    for (let e = this.resolve(pid, pidns); e; e = e.ancestor) out.push(e);
    return out;
  }

  /** Calls cb with the current entry of every cached pid of every shard. */
  walk(cb: (entry: ProcessEntry) => void): void {
    for (const e of this.liveEntries()) cb(e);
  }

  liveEntries(): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    const c = this.c;
    this.tables.forEach((t, shard) => {
      const rows: number[] = [];
      t.forEachLive((row) => rows.push(row));
      for (const row of rows) {
        for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
          if (!c.load(shard, row) || (c.flags & F_CURRENT) === 0) break; // gone since the scan
          const kept = this.decoders[shard]!.keptEntry(row, c.seq);
          const e = kept !== undefined && this.chainCurrent(kept, shard, row) ? kept : this.materialize(c);
          if (e) {
            out.push(e);
            break;
          }
        }
      }
    });
    return out;
  }

  toJSON(raw = false): string {
    const live = this.liveEntries();
    return entriesToJSON(live, new Set(live), this.views(raw));
  }

  toDot(withArgs = false): string {
    const live = this.liveEntries();
    return entriesToDot(live, new Set(live), this.views(false), withArgs);
  }

  private views(raw: boolean): EntryViews {
    return entryViews(raw, this.scrubber, this.envsWithValue);
  }

  /**
   * The entry at the cursor and its chain, each row read consistently;
   * undefined when a row changed under the reader (the caller retries).
   * Entries are kept per shard and row and reused while their row (same
   * seq) and everything above them are unchanged: entries of shared
   * ancestors are made once, and a walk shares one object per row.
   */
  private materialize(c: Cursor): ProcessEntry | undefined {
    let chain = this.chain;
    let n = 0;
    let base: ProcessEntry | undefined;
    for (;;) {
      if (4 * n === chain.length) chain = this.growChain();
      const remote = (c.flags & F_REMOTE_PARENT) !== 0;
      const stored = (c.flags & F_PARENT_MISSING) !== 0;
      const childInode = c.inode;
      const reparented = (c.flags & F_REPARENTED) !== 0;
      chain[4 * n] = c.shard;
      chain[4 * n + 1] = c.row;
      chain[4 * n + 2] = c.seq;
      n++;
      if (n > this.capacityBound) return undefined; // a cycle would be a bug: never loop forever
      if (n > 1) {
        // an ancestor whose kept entry and chain are current: the rest of the chain is that entry's
        const kept = this.decoders[c.shard]!.keptEntry(c.row, c.seq);
        if (kept !== undefined && this.chainCurrent(kept, c.shard, c.row)) {
          base = kept;
          break;
        }
      }
      if (!c.up()) {
        if (c.stale) return undefined;
        // the top: a parent in another shard that is missing, or not there yet
        chain[4 * n - 1] = remote
          ? c.lineageIncomplete
            ? ENTRY_MARK_INCOMPLETE
            : ENTRY_MARK_DERIVED | (stored || c.parentUnresolved ? ENTRY_MARK_MISSING : 0)
          : 0;
        break;
      }
      // a parent in another shard: derive what the writer could not see (a
      // lost exec of the parent shows as another image at fork time)
      const forked = !reparented && childInode !== 0 && c.inode !== 0 && childInode !== c.inode;
      chain[4 * n - 1] = remote ? ENTRY_MARK_DERIVED | (stored || forked ? ENTRY_MARK_MISSING : 0) : 0;
    }
    // a chain that ends in a current kept one ends at a top of its own (chainCurrent): complete
    this.incomplete = base === undefined && chain[4 * n - 1] === ENTRY_MARK_INCOMPLETE;
    let entry = base;
    for (let i = base === undefined ? n - 1 : n - 2; i >= 0; i--) {
      const shard = chain[4 * i]!;
      const row = chain[4 * i + 1]!;
      const seq = chain[4 * i + 2]!;
      const marks = chain[4 * i + 3]!;
      const d = this.decoders[shard]!;
      const kept = d.cachedEntry(row, seq, entry, marks);
      if (kept !== undefined) entry = kept;
      else {
        const e = d.readOne(row, entry, marks);
        // strings were decoded after the row read: the row must not have changed since
        if (Atomics.load(this.tables[shard]!.seq, row) !== seq) return undefined;
        d.remember(row, seq, e, marks);
        entry = e;
      }
      // where this level's ancestor was read, next to its kept entry, for chainCurrent
      const slot = d.slotOf(row);
      if (i === n - 1) this.parentShard[shard]![slot] = marks === 0 ? CHAIN_TOP : CHAIN_UNSURE;
      else {
        this.parentShard[shard]![slot] = chain[4 * i + 4]!;
        this.parentRow[shard]![slot] = chain[4 * i + 5]!;
      }
    }
    return entry;
  }

  private growChain(): Int32Array {
    const bigger = new Int32Array(this.chain.length * 2);
    bigger.set(this.chain);
    this.chain = bigger;
    return bigger;
  }
}

/** parentShard values: the kept entry is the top of its chain by its own row; its chain must be read again. */
const CHAIN_TOP = -1;
const CHAIN_UNSURE = -2;

/** How long a reader spins for a link's shard to catch up before returning the chain as far as it goes. */
const LINK_SPIN_MS = 0.02;
