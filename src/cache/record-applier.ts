// The record applier: the cache's one write entry for records. Decodes
// records (docs/record-format.md) straight from the bytes they sit in — a
// shard ring, a replay buffer — into apply args, interning strings from those
// bytes, and applies them to one table. The shard workers and
// ProcessResolver.applyRecords use this one path, so a stream gives the same
// cache either way (docs/architecture.md, invariant 6).

import {
  applyCredentials,
  applyDelete,
  applyExec,
  applyExit,
  applyFork,
  applyLink,
  applyRename,
  applyUnlink,
  relinkParent,
  relinkParentRemote,
} from './apply.js';
import { newExecArgs, newForkArgs, type ExecArgs, type ForkArgs } from './args.js';
import { C } from './counters.js';
import { internNamespaces } from './namespaces.js';
import { shardOf } from './shards.js';
import { F_USED, SOURCE_EVENT, SOURCE_SNAPSHOT, type ProcessTable } from './table.js';
import {
  CRED_WORD_COUNT,
  CREDS_CREDS,
  CREDS_CREDS_MASK,
  CREDS_PID,
  DELETE_PID,
  EXEC_CREDS,
  EXEC_CREDS_MASK,
  EXEC_GIVEN,
  EXEC_INODE,
  EXEC_PID,
  EXEC_PPID,
  EXEC_PREV_INODE,
  EXIT_EXIT_CODE,
  EXIT_PID,
  FLAG_ARGS_TRUNCATED,
  FLAG_ENVS_TRUNCATED,
  FLAG_KERNEL_THREAD,
  FLAG_PATH_TRUNCATED,
  FLAG_SNAPSHOT,
  FORK_CGROUP_ID,
  FORK_CREDS,
  FORK_CREDS_MASK,
  FORK_EXEC_TIME,
  FORK_GIVEN,
  FORK_INODE,
  FORK_LENS,
  FORK_MOUNT_ID,
  FORK_NS_PID,
  FORK_PID,
  FORK_PIDNS_INODE,
  FORK_PPID,
  FORK_VAR,
  GIVEN_ARGV,
  GIVEN_COMM,
  GIVEN_ENVP,
  GIVEN_INTERP,
  GIVEN_PATH,
  H_CPU,
  H_FLAGS,
  H_GSEQ,
  H_PIDNS,
  H_TIME,
  H_TYPE,
  LINK_FORK_TIME,
  LINK_INODE,
  LINK_PPID,
  LOST_COUNT,
  REC_CLOCK,
  REC_CREDS,
  REC_DELETE,
  REC_EXEC,
  REC_EXIT,
  REC_FLUSH,
  REC_FORK,
  REC_LINK,
  REC_LOST,
  REC_PAD,
  REC_RENAME,
  REC_REPARENT,
  REC_UNLINK,
  RENAME_LENS,
  RENAME_PID,
  RENAME_VAR,
  REPARENT_PID,
  REPARENT_PPID,
  UNLINK_FORK_TIME,
  UNLINK_PPID,
  VAR_ARGV,
  VAR_COMM,
  VAR_COUNT,
  VAR_CTX,
  VAR_ENVP,
  VAR_INTERP,
  VAR_PATH,
} from '../record/constants.js';
import { ctxMaskOfGiven, ctxPartsError, recordError } from '../record/decode.js';
import { MAX_PID } from './input.js';

/**
 * Why the applier refuses a FORK or EXEC record that validateRecord accepts
 * (a pid or ppid over MAX_PID), for tools that look for the first bad record
 * of a stream; undefined for any other record. The applier itself checks the
 * fields it has read (RecordApplier.fork, exec).
 */
export function refusedPidError(dv: DataView, off: number): string | undefined {
  const type = dv.getUint16(off + H_TYPE, true);
  if (type !== REC_FORK && type !== REC_EXEC) return undefined;
  const pid = dv.getUint32(off + FORK_PID, true);
  const ppid = type === REC_FORK ? dv.getUint32(off + FORK_PPID, true) : dv.getInt32(off + EXEC_PPID, true);
  return pid > MAX_PID || ppid > MAX_PID ? badPidMessage(type === REC_FORK ? 'FORK' : 'EXEC', pid, ppid) : undefined;
}

function badPidMessage(type: string, pid: number, ppid: number): string {
  return `${type} pid ${pid} or ppid ${ppid} is over ${MAX_PID}, the largest pid a kernel hands out`;
}

/** The cpu field of the LINK/UNLINK messages a shard worker sends (the router's LINKs carry the fork's cpu). */
export const FROM_WORKER_CPU = 0xffffffff;

export interface RecordApplierOptions {
  /** This table's shard and the number of shards (1 for ProcessResolver). */
  shard: number;
  shards: number;
  /** Exited-pid retention applied at FLUSH records, ns. */
  retention: bigint;
  /** Store envp (envsResolution). */
  withEnvs: boolean;
  /**
   * A row of this shard now links to a parent in another shard (a
   * reparent): the pipeline sends that shard a LINK.
   */
  onRemoteLink?: (ppid: number, pidns: number, forkLo: number, forkHi: number, inode: number) => void;
}

export class RecordApplier {
  /** The last decode error, for logs (counts are in the table's counters). */
  lastError = '';
  /** Global sequence number of the last record applied (a number: exact below 2^53). */
  lastGseq = 0;
  private readonly forkArgs: ForkArgs = newForkArgs();
  private readonly execArgs: ExecArgs = newExecArgs();
  private readonly words = new Uint32Array(CRED_WORD_COUNT);
  /** The last child of each remote parent (by ppid, direct-mapped): its strings are what the next sibling's record repeats. */
  private readonly siblingRow = new Int32Array(SIBLING_SLOTS).fill(-1);
  private readonly siblingPpid = new Int32Array(SIBLING_SLOTS);
  private bytes: Uint8Array = new Uint8Array(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    readonly table: ProcessTable,
    private readonly opts: RecordApplierOptions,
  ) {}

  /** Validates and applies the record at bytes[off]; a malformed one is counted and skipped. */
  apply(bytes: Uint8Array, off: number, available: number): void {
    const error = recordError(bytes, off, available, false);
    if (error !== undefined) {
      // a broadcast record reaches every shard: its error is counted once, by shard 0
      const type = bytes[off]! | (bytes[off + 1]! << 8);
      if (this.opts.shard === 0 || (type !== REC_FLUSH && type !== REC_CLOCK)) this.table.counters[C.decodeErrors]!++;
      this.lastError = error;
      return;
    }
    this.applyValid(bytes, off);
  }

  /** Applies a record already validated. */
  applyValid(bytes: Uint8Array, off: number): void {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const dv = this.dv;
    const t = this.table;
    const type = dv.getUint16(off + H_TYPE, true);
    if (type === REC_PAD) return;
    t.counters[C.records]!++;
    this.lastGseq = u64(dv, off + H_GSEQ);
    const pidns = dv.getUint32(off + H_PIDNS, true);
    if (pidns !== 0 && !t.keyedByNamespace) {
      // a namespaced record for a table keyed by host pids: counted, never a crash
      t.counters[C.decodeErrors]!++;
      this.lastError = `record for pid namespace ${pidns} in a table keyed by host pids`;
      return;
    }
    switch (type) {
      case REC_FORK:
        this.fork(off, pidns);
        break;
      case REC_EXEC:
        this.exec(off, pidns);
        break;
      case REC_EXIT:
        applyExit(
          t, dv.getUint32(off + EXIT_PID, true), pidns, dv.getInt32(off + H_TIME, true), dv.getInt32(off + H_TIME + 4, true),
          dv.getUint32(off + EXIT_EXIT_CODE, true) & 0xffff,
        );
        break;
      case REC_CREDS:
        this.creds(off, pidns);
        break;
      case REC_RENAME: {
        const len = dv.getUint16(off + RENAME_LENS, true);
        applyRename(t, dv.getUint32(off + RENAME_PID, true), pidns, t.intern(bytes, dv, off + RENAME_VAR, len));
        break;
      }
      case REC_LOST:
        t.counters[C.lostEvents]! += dv.getUint32(off + LOST_COUNT, true);
        break;
      case REC_FLUSH:
        t.flushExited(dv.getBigUint64(off + H_TIME, true), this.opts.retention);
        break;
      case REC_DELETE:
        applyDelete(t, dv.getUint32(off + DELETE_PID, true), pidns, dv.getInt32(off + H_TIME, true), dv.getInt32(off + H_TIME + 4, true));
        break;
      case REC_REPARENT:
        this.reparent(dv.getUint32(off + REPARENT_PID, true), dv.getUint32(off + REPARENT_PPID, true), pidns);
        break;
      case REC_LINK:
        // the router's LINK of a fork carries the fork's cpu; a worker's (reparent) carries FROM_WORKER_CPU
        applyLink(
          t, dv.getUint32(off + LINK_PPID, true), pidns, dv.getInt32(off + LINK_FORK_TIME, true), dv.getInt32(off + LINK_FORK_TIME + 4, true),
          u64(dv, off + LINK_INODE),
          dv.getUint32(off + H_CPU, true) !== FROM_WORKER_CPU,
        );
        break;
      case REC_UNLINK:
        applyUnlink(
          t, dv.getUint32(off + UNLINK_PPID, true), pidns, dv.getInt32(off + UNLINK_FORK_TIME, true), dv.getInt32(off + UNLINK_FORK_TIME + 4, true),
        );
        break;
      case REC_CLOCK:
        break; // wall-clock mapping: read by the reader thread, nothing to apply
    }
  }

  private fork(off: number, pidns: number): void {
    const dv = this.dv;
    const a = this.forkArgs;
    const t = this.table;
    const flags = dv.getUint16(off + H_FLAGS, true);
    a.pid = dv.getUint32(off + FORK_PID, true);
    a.ppid = dv.getUint32(off + FORK_PPID, true);
    a.pidns = pidns;
    a.timeLo = dv.getInt32(off + H_TIME, true);
    a.timeHi = dv.getInt32(off + H_TIME + 4, true);
    if (a.pid > MAX_PID || a.ppid > MAX_PID) {
      // the router sent the parent's shard a LINK for this child: release it, as a rejected fork does
      if (this.opts.shards > 1 && a.ppid > 0 && shardOf(a.ppid, pidns, this.opts.shards) !== this.opts.shard) {
        t.onRemoteParentReleased?.(a.ppid, pidns, a.timeLo, a.timeHi);
      }
      return this.refuseBadPid('FORK', a.pid, a.ppid);
    }
    a.inode = u64(dv, off + FORK_INODE);
    a.execTimeLo = dv.getInt32(off + FORK_EXEC_TIME, true);
    a.execTimeHi = dv.getInt32(off + FORK_EXEC_TIME + 4, true);
    a.kernelThread = (flags & FLAG_KERNEL_THREAD) !== 0;
    a.source = (flags & FLAG_SNAPSHOT) !== 0 ? SOURCE_SNAPSHOT : SOURCE_EVENT;
    a.argsTruncated = (flags & FLAG_ARGS_TRUNCATED) !== 0;
    a.envsTruncated = (flags & FLAG_ENVS_TRUNCATED) !== 0;
    a.pathTruncated = (flags & FLAG_PATH_TRUNCATED) !== 0;
    a.parentRemote = this.opts.shards > 1 && shardOf(a.ppid, pidns, this.opts.shards) !== this.opts.shard;
    a.gseq = this.lastGseq;
    a.credsMask = this.readCreds(off + FORK_CREDS, dv.getUint16(off + FORK_CREDS_MASK, true), a.creds);
    const given = dv.getUint16(off + FORK_GIVEN, true);
    const parent = a.parentRemote || a.ppid === 0 ? -1 : this.table.lookup(a.ppid, pidns);
    // the strings of a child of a parent in another shard are compared with its last sibling here
    const like = parent >= 0 ? parent : a.parentRemote ? this.lastSibling(a.ppid, pidns) : -1;
    // A parent here running the same image (or an unknown one, inode 0): the
    // child inherits its path and applyFork leaves the given one unused (for
    // a script, the kernel's exe_file at fork even names the interpreter,
    // where the parent's entry names the script). No need to read it.
    const samePath = parent >= 0 && (a.inode === 0 || t.inode[parent] === a.inode);
    if (!this.readVars(off, given & (samePath ? ~GIVEN_PATH : -1), like, a)) return;
    if (samePath && (given & GIVEN_PATH) !== 0 && t.lookup(a.ppid, pidns) !== parent) {
      // interning made room by flushing that very parent: the child's image is the event's after all
      a.pathId = this.varId(off + FORK_VAR, dv.getUint16(off + FORK_LENS, true), 0);
    }
    const row = applyFork(this.table, a);
    if (a.parentRemote && row >= 0) {
      const slot = a.ppid & (SIBLING_SLOTS - 1);
      this.siblingRow[slot] = row;
      this.siblingPpid[slot] = a.ppid;
    }
  }

  private exec(off: number, pidns: number): void {
    const dv = this.dv;
    const a = this.execArgs;
    const flags = dv.getUint16(off + H_FLAGS, true);
    a.pid = dv.getUint32(off + EXEC_PID, true);
    a.ppid = dv.getInt32(off + EXEC_PPID, true);
    if (a.pid > MAX_PID || a.ppid > MAX_PID) return this.refuseBadPid('EXEC', a.pid, a.ppid);
    a.pidns = pidns;
    a.timeLo = dv.getInt32(off + H_TIME, true);
    a.timeHi = dv.getInt32(off + H_TIME + 4, true);
    a.inode = u64(dv, off + EXEC_INODE);
    a.prevInode = u64(dv, off + EXEC_PREV_INODE);
    a.argsTruncated = (flags & FLAG_ARGS_TRUNCATED) !== 0;
    a.envsTruncated = (flags & FLAG_ENVS_TRUNCATED) !== 0;
    a.pathTruncated = (flags & FLAG_PATH_TRUNCATED) !== 0;
    a.credsMask = this.readCreds(off + EXEC_CREDS, dv.getUint16(off + EXEC_CREDS_MASK, true), a.creds);
    const given = dv.getUint16(off + EXEC_GIVEN, true);
    if (!this.readVars(off, given, this.table.lookup(a.pid, pidns), a)) return;
    a.pathId = Math.max(0, a.pathId); // an exec always has a path, empty when not given
    a.source = 0;
    applyExec(this.table, a);
  }

  private creds(off: number, pidns: number): void {
    const dv = this.dv;
    const mask = this.readCreds(off + CREDS_CREDS, dv.getUint32(off + CREDS_CREDS_MASK, true), this.words);
    applyCredentials(this.table, dv.getUint32(off + CREDS_PID, true), pidns, this.words, mask);
  }

  private readCreds(at: number, mask: number, out: Uint32Array): number {
    const dv = this.dv;
    for (let w = 0; w < CRED_WORD_COUNT; w++) out[w] = dv.getUint32(at + 4 * w, true);
    return mask;
  }

  /**
   * Interns the variable fields of a FORK or EXEC record (same layout) into
   * the args `a`: one reference per id, -1 where not given. `like` is a row
   * whose strings the record probably repeats (the parent of a fork, the
   * previous image of an exec): equal bytes take that row's id without
   * hashing them. The context blob's separators are checked only when it
   * must be interned (recordError left that check to here); a bad one
   * releases what was taken and returns false.
   */
  private readVars(off: number, given: number, like: number, a: ForkArgs | ExecArgs): boolean {
    const dv = this.dv;
    const t = this.table;
    const lens = off + FORK_LENS;
    let at = off + FORK_VAR;
    let n = dv.getUint16(lens, true);
    a.pathId = (given & GIVEN_PATH) === 0 ? -1 : this.varId(at, n, like >= 0 ? t.pathId[like]! : 0);
    at += n;
    n = dv.getUint16(lens + 2, true);
    a.commId = (given & GIVEN_COMM) === 0 ? -1 : this.varId(at, n, like >= 0 ? t.commId[like]! : 0);
    at += n;
    n = dv.getUint16(lens + 4, true);
    a.argvId = (given & GIVEN_ARGV) === 0 ? -1 : this.varId(at, n, like >= 0 ? t.argvId[like]! : 0);
    at += n;
    n = dv.getUint16(lens + 6, true);
    a.envpId = (given & GIVEN_ENVP) === 0 || !this.opts.withEnvs ? -1 : this.varId(at, n, like >= 0 ? t.envpId[like]! : 0);
    at += n;
    n = dv.getUint16(lens + 8, true);
    a.ctxId = -1;
    a.ctxMask = ctxMaskOfGiven(given);
    if (a.ctxMask !== 0) {
      const same = like >= 0 ? t.ctxId[like]! : 0;
      if (n === 0) a.ctxId = 0;
      else if (same > 0 && t.strings.equals(same, this.bytes, this.dv, at, n)) {
        t.strings.incref(same);
        a.ctxId = same;
      } else {
        const error = ctxPartsError(this.bytes, at, n);
        if (error !== undefined) {
          this.releaseVars(a);
          this.decodeError(`${dv.getUint16(off + H_TYPE, true) === REC_FORK ? 'FORK' : 'EXEC'} ${error}`);
          return false;
        }
        a.ctxId = t.intern(this.bytes, this.dv, at, n);
        if (a.ctxId === 0) a.ctxId = this.internCutCtx(at, n);
      }
    }
    at += n;
    n = dv.getUint16(lens + 10, true);
    a.interpId = (given & GIVEN_INTERP) === 0 ? -1 : this.varId(at, n, like >= 0 ? t.interpId[like]! : 0);
    // the namespace fields (FORK and EXEC share their offsets): -1 when all are 0; an nsPid equal to the
    // pid is kept as a row flag (F_NSPID_IS_PID), so the processes of a namespace share their tuple
    const nsPid = dv.getUint32(off + FORK_NS_PID, true);
    a.nsPidIsPid = nsPid !== 0 && nsPid === a.pid;
    a.nsId = internNamespaces(
      t, dv.getUint32(off + FORK_PIDNS_INODE, true), a.nsPidIsPid ? 0 : nsPid, dv.getUint32(off + FORK_MOUNT_ID, true),
      dv.getUint32(off + FORK_CGROUP_ID, true), dv.getUint32(off + FORK_CGROUP_ID + 4, true), like >= 0 ? t.nsId[like]! : 0,
      a.nsPidIsPid,
    );
    return true;
  }

  /**
   * The string table could not hold the context blob at [at, at + n) (counted
   * in stringsFull): keeps what fits, as the native capture does when the
   * three overflow a record ("the cgroup path gives way"): tty and
   * containerId whole, the cgroup path cut (halved until it fits, at a UTF-8
   * boundary, down to nothing). Counted in ctxTruncated; 0 when even tty and
   * containerId do not fit. Only on that failure path.
   */
  private internCutCtx(at: number, n: number): number {
    const bytes = this.bytes;
    const cgroup = bytes.indexOf(0, bytes.indexOf(0, at) + 1) + 1; // after the second separator
    let keep = at + n - cgroup;
    for (;;) {
      keep >>= 1;
      while (keep > 0 && (bytes[cgroup + keep]! & 0xc0) === 0x80) keep--; // do not split a UTF-8 sequence
      const id = this.table.strings.internBytes(bytes, this.dv, at, cgroup + keep - at);
      if (id > 0) {
        this.table.counters[C.ctxTruncated]!++;
        return id;
      }
      if (keep === 0) return 0;
    }
  }

  /**
   * A row of this shard whose strings a child of remote parent `ppid` likely
   * repeats: its last child here, if that row is still in use and still a
   * child of ppid (a hint only: readVars compares the bytes).
   */
  private lastSibling(ppid: number, pidns: number): number {
    const slot = ppid & (SIBLING_SLOTS - 1);
    const row = this.siblingRow[slot]!;
    if (row < 0 || this.siblingPpid[slot] !== ppid) return -1;
    const t = this.table;
    return (t.flags[row]! & F_USED) !== 0 && t.ppid[row] === ppid && t.pidnsOf(row) === pidns ? row : -1;
  }

  /** The id of bytes [at, at + len) of the record: `same` when they equal that string, else interned. */
  private varId(at: number, len: number, same: number): number {
    if (len === 0) return 0;
    const strings = this.table.strings;
    if (same > 0 && strings.equals(same, this.bytes, this.dv, at, len)) {
      strings.incref(same);
      return same;
    }
    return this.table.intern(this.bytes, this.dv, at, len);
  }

  private releaseVars(a: ForkArgs | ExecArgs): void {
    const s = this.table.strings;
    s.decref(a.pathId);
    s.decref(a.commId);
    s.decref(a.argvId);
    s.decref(a.envpId);
    s.decref(a.ctxId);
    s.decref(a.interpId);
    a.pathId = a.commId = a.argvId = a.envpId = a.ctxId = a.interpId = -1;
  }

  /** Counts a FORK or EXEC whose pid or ppid no kernel hands out (a damaged record, e.g. 0xffffffff). */
  private refuseBadPid(type: string, pid: number, ppid: number): void {
    this.table.counters[C.rejectedBadPid]!++;
    this.decodeError(badPidMessage(type, pid, ppid));
  }

  /** Counts a record that cannot be applied. */
  private decodeError(error: string): void {
    this.table.counters[C.decodeErrors]!++;
    this.lastError = error;
  }

  private reparent(pid: number, ppid: number, pidns: number): void {
    const t = this.table;
    if (ppid === 0 || pid <= 1) return;
    const row = t.lookup(pid, pidns);
    if (row < 0 || t.ppid[row] === ppid) return;
    const shards = this.opts.shards;
    if (shards === 1 || shardOf(ppid, pidns, shards) === this.opts.shard) {
      const parent = t.lookup(ppid, pidns);
      const ok = parent >= 0 && relinkParent(t, row, parent, ppid);
      t.counters[ok ? C.reparentSuccess : C.reparentFailed]!++;
      return;
    }
    // the new parent lives in another shard: link by key, and tell that shard
    const forkEnd = relinkParentRemote(t, row, ppid, this.lastGseq);
    // inode 0: no fork-time image check for a reparent
    this.opts.onRemoteLink?.(ppid, pidns, t.forkTimeW[2 * forkEnd]!, t.forkTimeW[2 * forkEnd + 1]!, 0);
    t.counters[C.reparentSuccess]!++;
  }
}

/** Slots of the last-sibling hints (a power of two). */
const SIBLING_SLOTS = 1024;

/** u64 field as a number (inodes: exact below 2^53). */
function u64(dv: DataView, at: number): number {
  return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 4294967296;
}
