// Turns rows into ProcessEntry objects: immutable snapshots, ancestors
// included, so an entry stays meaningful after its rows are reclaimed.
// This is the object API; hot readers use the row columns (Cursor).
//
// Cost matters: ProcessResolver returns an entry from every addForkEntry
// and addExecEntry. Decoded strings, argv lists, context parts, namespace
// tuples and credential sets are cached per (id, generation) and shared,
// frozen, between entries; the entries of ancestors are cached per row and
// reused while the row is unchanged (same seq) and their own ancestors are
// the cached ones, so a new entry costs its own row, not its chain.

import { splitCtx } from './context.js';
import { DecodeCache } from './decode-cache.js';
import { readNamespaces } from './namespaces.js';
import { isTime } from './time-words.js';
import {
  F_ARGS_TRUNCATED,
  F_ENVS_TRUNCATED,
  F_IS_EXEC,
  F_IS_EXEC_EXEC,
  F_NSPID_IS_PID,
  F_PARENT_MISSING,
  F_PATH_TRUNCATED,
  type ProcessTable,
} from './table.js';
import type { EntryCredentials, EntryNamespaces, EntrySource, ProcessEntry } from './types.js';
import type { NameSource } from './users.js';

const SOURCES: readonly EntrySource[] = ['event', 'snapshot', 'procfs'];
const utf8 = new TextDecoder();

/** Raw envp of entries, kept out of the entry object so it is not printed by accident. */
const envpOf = new WeakMap<ProcessEntry, readonly string[]>();

export function entryEnvp(entry: ProcessEntry): readonly string[] {
  return envpOf.get(entry) ?? [];
}

/** A reader derived isParentMissing for this row (its parent lives in another shard): MISSING says which. */
export const ENTRY_MARK_DERIVED = 1;
export const ENTRY_MARK_MISSING = 2;
/** The parent's shard had not applied the link yet when the row was read: the chain stops here for now. */
export const ENTRY_MARK_INCOMPLETE = 4;

/** Slots of the per-row cache of ancestor entries (direct-mapped by row), by default (readers: ProcessView). */
const ROW_SLOTS = 1 << 16;
/**
 * The same for the thread that writes the table (ProcessResolver): the
 * entries it keeps are those of ancestors, and an exec's ancestor is its
 * own fork image, which nothing else needs: 2^16 of them kept ~400 B of
 * frozen entry per cached process alive (RSS) for no reuse.
 */
export const WRITER_ROW_SLOTS = 1 << 12;
/** Slots of the per-pid cache of resolved entries (direct-mapped by pid). */
const PID_SLOTS = 1 << 12;

export class EntryDecoder {
  private readonly text: DecodeCache<string>;
  private readonly basenames: DecodeCache<string>;
  private readonly lists: DecodeCache<readonly string[]>;
  private readonly ctx: DecodeCache<readonly string[]>;
  private readonly namespaces: DecodeCache<Readonly<EntryNamespaces>>;
  /** The interpreter string: [interpreter, symlinkPath] (core.ts attachSymlink stores both, split by a NUL). */
  private readonly interps: DecodeCache<readonly [string, string]>;
  private readonly creds: DecodeCache<Readonly<EntryCredentials>>;
  private usersVersion = -1;
  // entries of ancestor rows, with the row, its seq and its fork time (low word) when they were made
  private readonly rowMask: number;
  private readonly cachedRow: Int32Array;
  private readonly cachedSeq: Int32Array;
  private readonly cachedMarks: Int32Array;
  private readonly cachedFork: Int32Array;
  /** The table's write epoch when resolveRow kept the entry of a slot (NaN: none). */
  private readonly keptEpoch: Float64Array;
  private readonly cached: (ProcessEntry | undefined)[];
  /**
   * The entry resolveRow last gave per pid slot, with its key, the table's
   * write epoch then and the row's source: while the epoch stands still the
   * same lookup needs no index probe and no row read (keptForPid).
   */
  private readonly pidKey = new Int32Array(2 * PID_SLOTS).fill(-1);
  private readonly pidEpoch = new Int32Array(PID_SLOTS);
  /** The index version then: an exited process leaves the index without a row write. */
  private readonly pidIndexVersion = new Int32Array(PID_SLOTS);
  private readonly pidSource = new Uint8Array(PID_SLOTS);
  private readonly pidEntry = new Array<ProcessEntry | undefined>(PID_SLOTS).fill(undefined);
  /** Rows of the chain being read, nearest first (scratch). */
  private chain: Int32Array = new Int32Array(64);

  /**
   * Credential sets with names per pid namespace, when names depend on it
   * (a tracer's names: EbpflessResolver): credsId -> [generation, value],
   * per namespace. Filled once per set and namespace, cleared with the names.
   */
  private readonly nsCreds: Map<number, Map<number, [number, Readonly<EntryCredentials>]>> | undefined;

  /** The host's boot time in ms since the epoch: boot-clock times plus it are wall-clock times. */
  readonly bootTimeMs: number;

  constructor(
    readonly table: ProcessTable,
    private readonly users: NameSource,
    private readonly withEnvs: boolean,
    namesPerNamespace = false,
    bootTimeMs?: number,
    rowSlots = ROW_SLOTS,
  ) {
    this.bootTimeMs = bootTimeMs ?? table.handles.bootTimeMs;
    const s = table.strings;
    this.text = new DecodeCache(s, (id) => s.decode(id));
    this.basenames = new DecodeCache(s, (id) => {
      const path = this.text.get(id);
      return path.slice(path.lastIndexOf('/') + 1);
    });
    this.lists = new DecodeCache(s, (id) => Object.freeze(s.decodeList(id)));
    this.ctx = new DecodeCache(s, (id) => Object.freeze(splitCtx(table, id).map((b) => utf8.decode(b))));
    this.namespaces = new DecodeCache(s, (id) => readNamespaces(s, id));
    this.interps = new DecodeCache(s, (id) => {
      const text = this.text.get(id);
      const nul = text.indexOf('\0');
      return Object.freeze(nul < 0 ? [text, ''] as const : [text.slice(0, nul), text.slice(nul + 1)] as const);
    });
    this.creds = new DecodeCache(table.creds.strings, (id) => this.namedCreds(id, 0));
    this.nsCreds = namesPerNamespace ? new Map() : undefined;
    const slots = Math.min(rowSlots, 1 << Math.ceil(Math.log2(table.capacity)));
    this.rowMask = slots - 1;
    this.cachedRow = new Int32Array(slots).fill(-1);
    this.cachedSeq = new Int32Array(slots);
    this.cachedMarks = new Int32Array(slots);
    this.cachedFork = new Int32Array(slots);
    this.keptEpoch = new Float64Array(slots).fill(NaN);
    this.cached = new Array<ProcessEntry | undefined>(slots).fill(undefined);
  }

  /**
   * The decoded value of a fresh id, from the input it was encoded from
   * (InputEncoder's DecodedSeeds: kinds SEED_TEXT 0, SEED_LIST 1, SEED_CTX 2).
   */
  seed(kind: number, id: number, value: unknown): void {
    if (kind === 0) this.text.put(id, value as string);
    else if (kind === 1) this.lists.put(id, value as readonly string[]);
    else this.ctx.put(id, value as readonly string[]);
  }

  /** A path, comm or interpreter by string id (decoded once per id and generation). */
  textOf(id: number): string {
    return this.text.get(id);
  }

  /** An argv or envp list by string id. */
  listOf(id: number): readonly string[] {
    return this.lists.get(id);
  }

  /** A credential set by id, with user and group names. */
  credentialsOf(id: number): Readonly<EntryCredentials> {
    this.checkUsers();
    return this.creds.get(id);
  }

  private checkUsers(): void {
    if (this.users.version !== this.usersVersion) {
      this.usersVersion = this.users.version;
      this.creds.clear();
      this.nsCreds?.clear();
    }
  }

  /** A credential set with the name of each of its ids (made once per set, and namespace when names depend on it). */
  private namedCreds(id: number, pidns: number): Readonly<EntryCredentials> {
    const c = this.table.creds.read(id);
    const u = this.users;
    return Object.freeze({
      ...c,
      user: u.user(c.uid, pidns),
      group: u.group(c.gid, pidns),
      euser: u.user(c.euid, pidns),
      egroup: u.group(c.egid, pidns),
      fsuser: u.user(c.fsuid, pidns),
      fsgroup: u.group(c.fsgid, pidns),
    });
  }

  /** The named credential set `id` of a row of namespace `pidns`. */
  private credsOf(id: number, pidns: number): Readonly<EntryCredentials> {
    const byNs = this.nsCreds!;
    let sets = byNs.get(pidns);
    if (sets === undefined) byNs.set(pidns, (sets = new Map()));
    const gen = this.table.creds.strings.gen[id]!;
    const hit = sets.get(id);
    if (hit !== undefined && hit[0] === gen) return hit[1];
    if (sets.size >= 65536) sets.clear(); // bounded
    const value = this.namedCreds(id, pidns);
    sets.set(id, [gen, value]);
    return value;
  }

  /**
   * The cached entry of `row` if it was made from the row as it is now (the
   * same seq; the fork time's low word also, against a seq that wrapped),
   * with `ancestor` as its ancestor (a cached entry whose ancestor was made
   * again is stale too) and the same reader-derived `marks` (ENTRY_MARK_*).
   */
  cachedEntry(row: number, seq: number, ancestor: ProcessEntry | undefined, marks: number): ProcessEntry | undefined {
    const slot = row & this.rowMask;
    const e = this.cached[slot];
    if (
      e === undefined ||
      this.cachedRow[slot] !== row ||
      this.cachedSeq[slot] !== seq ||
      this.cachedMarks[slot] !== marks ||
      this.cachedFork[slot] !== this.table.forkTimeW[2 * row] ||
      e.ancestor !== ancestor
    ) {
      return undefined;
    }
    return e;
  }

  /**
   * The entry of `row` for a lookup by the thread that writes the table
   * (ProcessResolver.resolve): kept, and returned as it is while the table
   * has not been written since (its write epoch stands still) — the same
   * object, for the cost of a pid lookup.
   */
  resolveRow(row: number): ProcessEntry {
    const t = this.table;
    const slot = row & this.rowMask;
    const epoch = t.writeEpoch();
    let e = this.keptEpoch[slot] === epoch ? this.keptEntry(row, t.seq[row]!) : undefined;
    if (e === undefined) {
      e = this.read(row, true);
      this.keptEpoch[slot] = epoch;
    }
    const pid = t.pid[row]!;
    const p = pid & (PID_SLOTS - 1);
    this.pidKey[2 * p] = pid;
    this.pidKey[2 * p + 1] = t.pidnsOf(row);
    this.pidEpoch[p] = epoch;
    this.pidIndexVersion[p] = t.indexVersion();
    this.pidSource[p] = t.sourceOf(row);
    this.pidEntry[p] = e;
    return e;
  }

  /**
   * The entry resolveRow last gave for (pid, pidns) if the table has not
   * been written since, rows or index (then it is still the current entry,
   * chain and all),
   * else undefined. `keptSource` is then its row's source.
   */
  keptForPid(pid: number, pidns: number): ProcessEntry | undefined {
    const p = pid & (PID_SLOTS - 1);
    const t = this.table;
    if (
      this.pidKey[2 * p] !== pid ||
      this.pidKey[2 * p + 1] !== (pidns | 0) ||
      this.pidEpoch[p] !== t.writeEpoch() ||
      this.pidIndexVersion[p] !== t.indexVersion()
    ) {
      return undefined;
    }
    this.keptSource = this.pidSource[p]!;
    return this.pidEntry[p];
  }

  /** The source of the row of the entry keptForPid returned last. */
  keptSource = 0;

  /** Slots of the per-row cache. */
  get slots(): number {
    return this.rowMask + 1;
  }

  /** The slot of a row in the per-row cache. */
  slotOf(row: number): number {
    return row & this.rowMask;
  }

  /** The kept entry of `row` made at `seq`, whatever its chain: for a caller that knows nothing changed since. */
  keptEntry(row: number, seq: number): ProcessEntry | undefined {
    const slot = row & this.rowMask;
    return this.cachedRow[slot] === row && this.cachedSeq[slot] === seq ? this.cached[slot] : undefined;
  }

  /** Keeps `entry`, made from `row` at `seq` with `marks`, for cachedEntry. */
  remember(row: number, seq: number, entry: ProcessEntry, marks: number): void {
    const slot = row & this.rowMask;
    this.cached[slot] = entry;
    this.cachedRow[slot] = row;
    this.cachedSeq[slot] = seq;
    this.cachedMarks[slot] = marks;
    this.cachedFork[slot] = this.table.forkTimeW[2 * row]!;
  }

  /**
   * The entry of `row` and its ancestor chain, for the thread that writes
   * the table. Entries are kept per row and reused while the row and its
   * whole chain are unchanged. `keep`: keep the entry asked for as well
   * (resolve; an add's entry is not kept, so memory grows with the
   * ancestors, not with every process).
   */
  read(row: number, keep = false): ProcessEntry {
    const t = this.table;
    const seq = t.seq;
    let chain = this.chain;
    let n = 0;
    for (let at = t.ancestor[row]!; at >= 0 && n <= t.capacity; at = t.ancestor[at]!) {
      if (n === chain.length) chain = this.growChain();
      chain[n++] = at;
    }
    // from the top down: reuse cached entries while each is current and links to the one above it
    let i = n - 1;
    let up: ProcessEntry | undefined;
    for (; i >= 0; i--) {
      const r = chain[i]!;
      const e = this.cachedEntry(r, seq[r]!, up, 0);
      if (e === undefined) break;
      up = e;
    }
    for (; i >= 0; i--) {
      const r = chain[i]!;
      up = this.readOne(r, up);
      this.remember(r, seq[r]!, up, 0);
    }
    // the row itself may be cached already (as the ancestor of another entry): the same object, so that a
    // walk shares one entry per row
    const cached = this.cachedEntry(row, seq[row]!, up, 0);
    if (cached !== undefined) return cached;
    const e = this.readOne(row, up);
    if (keep) this.remember(row, seq[row]!, e, 0);
    return e;
  }

  private growChain(): Int32Array {
    const bigger = new Int32Array(this.chain.length * 2);
    bigger.set(this.chain);
    this.chain = bigger;
    return bigger;
  }

  /**
   * One entry from one row, linked to `ancestor`. `marks` (ENTRY_MARK_*):
   * what readers of a sharded pipeline derive for a row whose parent lives
   * in another shard, over the stored flags.
   */
  readOne(row: number, ancestor: ProcessEntry | undefined, marks = 0): ProcessEntry {
    this.checkUsers();
    const t = this.table;
    const flags = t.flags[row]!;
    const pathId = t.pathId[row]!;
    const ctx = this.ctx.get(t.ctxId[row]!);
    const exitW = t.exitTimeW;
    // times: an exec keeps its ancestor's fork time (same instance), a running process exits at 0n
    const forkTime =
      ancestor !== undefined && ancestor.pid === t.pid[row] && isTime(ancestor.forkTime, t.forkTimeW[2 * row]!, t.forkTimeW[2 * row + 1]!)
        ? ancestor.forkTime
        : t.forkTime[row]!;
    const pidns = t.pidnsOf(row);
    const forkW = t.forkTimeW;
    const execW = t.execTimeW;
    const boot = this.bootTimeMs;
    const interp = this.interps.get(t.interpId[row]!);
    const entry: ProcessEntry = Object.freeze({
      pid: t.pid[row]!,
      ppid: t.ppid[row]!,
      forkTime,
      execTime: t.execTime[row]!,
      exitTime: (exitW[2 * row]! | exitW[2 * row + 1]!) === 0 ? 0n : t.exitTime[row]!,
      exitCode: t.exitCode[row]!,
      forkTimeWall: wallMs(forkW[2 * row]!, forkW[2 * row + 1]!, boot),
      execTimeWall: wallMs(execW[2 * row]!, execW[2 * row + 1]!, boot),
      exitTimeWall: wallMs(exitW[2 * row]!, exitW[2 * row + 1]!, boot),
      path: this.text.get(pathId),
      pathTruncated: (flags & F_PATH_TRUNCATED) !== 0,
      basename: this.basenames.get(pathId),
      inode: t.inode[row]!,
      comm: this.text.get(t.commId[row]!),
      argv: this.lists.get(t.argvId[row]!),
      argsTruncated: (flags & F_ARGS_TRUNCATED) !== 0,
      envsTruncated: (flags & F_ENVS_TRUNCATED) !== 0,
      credentials: this.nsCreds === undefined ? this.creds.get(t.credsId[row]!) : this.credsOf(t.credsId[row]!, pidns),
      tty: ctx[0]!,
      containerId: ctx[1]!,
      cgroup: ctx[2]!,
      interpreter: interp[0],
      symlinkPath: interp[1],
      isExec: (flags & F_IS_EXEC) !== 0,
      isExecExec: (flags & F_IS_EXEC_EXEC) !== 0,
      isParentMissing: (marks & ENTRY_MARK_DERIVED) !== 0 ? (marks & ENTRY_MARK_MISSING) !== 0 : (flags & F_PARENT_MISSING) !== 0,
      lineageIncomplete: (marks & ENTRY_MARK_INCOMPLETE) !== 0,
      source: SOURCES[t.sourceOf(row)] ?? 'event',
      pidns,
      namespaces:
        (flags & F_NSPID_IS_PID) === 0 ? this.namespaces.get(t.nsId[row]!) : withNsPid(this.namespaces.get(t.nsId[row]!), t.pid[row]!),
      ancestor,
    });
    if (this.withEnvs) envpOf.set(entry, this.lists.get(t.envpId[row]!));
    return entry;
  }
}

/** A row flagged F_NSPID_IS_PID: its tuple with its pid as nsPid. */
function withNsPid(tuple: Readonly<EntryNamespaces>, pid: number): Readonly<EntryNamespaces> {
  return Object.freeze({ pidnsInode: tuple.pidnsInode, nsPid: pid, mountId: tuple.mountId, cgroupId: tuple.cgroupId });
}

/** A boot-clock time (its two int32 words, as the table keeps it) as wall-clock ms; 0 for 0. No bigint on this path. */
function wallMs(lo: number, hi: number, bootTimeMs: number): number {
  return (lo | hi) === 0 ? 0 : bootTimeMs + (hi * 4294967296 + (lo >>> 0)) / 1e6;
}

