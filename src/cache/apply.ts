// The apply functions: the semantics of docs/cache.md over a ProcessTable.
// The embedded ProcessResolver and the shard workers both call these, with
// strings already interned by their caller (from JS strings or straight from
// record bytes), so there is one semantic core. No allocation on the paths a
// kernel record takes (full credentials, full context).
//
// Ownership: every id >= 0 in an args struct carries one reference, which the
// apply function either stores in a row or releases. -1 means "not given".

import { normalId, type ExecArgs, type ForkArgs } from './args.js';
import { mergeCtx } from './context.js';
import { C } from './counters.js';
import { deriveNamespaces, internNamespaces, NS_MOUNT_ID, NS_NS_PID, readNamespaces } from './namespaces.js';
import { APPLY_DELAY_ITERATIONS, applyDelay } from './test-hooks.js';
import {
  F_ARGS_TRUNCATED,
  F_CURRENT,
  F_ENVS_TRUNCATED,
  F_EXIT_QUEUED,
  F_IS_EXEC,
  F_IS_EXEC_EXEC,
  F_PARENT_MISSING,
  F_PATH_TRUNCATED,
  F_REMOTE_PARENT,
  F_REPARENTED,
  F_NSPID_IS_PID,
  F_TOMBSTONE,
  F_USED,
  ProcessTable,
  remoteLinkMark,
} from './table.js';

/** Kernel comm length without the terminating NUL (TASK_COMM_LEN - 1). */
export const COMM_MAX = 15;

export const REJECTED_PID0 = -1;
export const REJECTED_KERNEL_THREAD = -2;
export const REJECTED_TABLE_FULL = -3;

/** Counter of rows added, by SOURCE_* value. */
const ADDED = [C.addedEvent, C.addedSnapshot, C.addedProcfs];

/** Applies a fork. Returns the child's row, or a negative REJECTED_* code. */
export function applyFork(t: ProcessTable, a: ForkArgs): number {
  if (APPLY_DELAY_ITERATIONS > 0) applyDelay();
  const reject = forkRejection(a);
  if (reject < 0) {
    t.counters[reject === REJECTED_PID0 ? C.rejectedPid0 : C.rejectedKernelThread]!++;
    return rejectFork(t, a, reject);
  }
  t.noteTime(a.timeLo, a.timeHi);
  const remote = a.parentRemote && a.ppid > 0;
  const parent = a.ppid > 0 && !remote ? t.lookup(a.ppid, a.pidns) : -1;
  if (parent >= 0) t.pin(parent);
  const row = t.allocRow();
  if (row < 0) {
    t.counters[C.rejectedTableFull]!++;
    if (parent >= 0) t.release(parent);
    return rejectFork(t, a, REJECTED_TABLE_FULL);
  }
  const prev = t.lookup(a.pid, a.pidns);
  if (prev >= 0) {
    // pid reuse: the cached instance ends here
    endAt(t, prev, a.timeLo, a.timeHi);
    t.counters[C.pidReuse]!++;
    t.indexRemove(prev);
  }

  const strings = t.strings;
  t.pid[row] = a.pid; // allocRow left the row's write window open
  t.ppid[row] = a.ppid;
  t.setPidns(row, a.pidns);
  t.forkTimeW[2 * row] = a.timeLo;
  t.forkTimeW[2 * row + 1] = a.timeHi;
  let flags = F_USED | ProcessTable.sourceFlags(a.source);
  let baseCreds = t.creds.unknownId;
  let baseCtx = 0;
  const pathGiven = a.pathId >= 0;
  if (a.nsId >= 0) {
    t.nsId[row] = a.nsId;
    a.nsId = -1; // consumed
    if (a.nsPidIsPid) flags |= F_NSPID_IS_PID;
  } else {
    // the child lives where its parent does and runs its image, but is not its parent: no nsPid
    t.nsId[row] = parent >= 0 ? deriveNamespaces(t, t.nsId[parent]!, NS_NS_PID) : 0;
  }
  if (parent >= 0) {
    const parentInode = t.inode[parent]!;
    if (a.inode === 0 || parentInode === 0 || a.inode === parentInode) {
      strings.incref((t.pathId[row] = t.pathId[parent]!));
      strings.incref((t.commId[row] = t.commId[parent]!));
      strings.incref((t.argvId[row] = t.argvId[parent]!));
      strings.incref((t.envpId[row] = t.envpId[parent]!));
      strings.incref((t.interpId[row] = t.interpId[parent]!));
      flags |= t.flags[parent]! & (F_ARGS_TRUNCATED | F_ENVS_TRUNCATED | F_PATH_TRUNCATED);
    } else {
      // an exec of the parent was never seen: the parent's image is not the child's, none of it is
      // inherited (path, comm, argv, envp, interpreter: the event's, else unknown)
      t.pathId[row] = t.commId[row] = t.argvId[row] = t.envpId[row] = t.interpId[row] = 0;
      flags |= F_PARENT_MISSING;
      t.counters[C.forkInodeMismatch]!++;
    }
    t.inode[row] = parentInode;
    t.execTimeW[2 * row] = t.execTimeW[2 * parent]!;
    t.execTimeW[2 * row + 1] = t.execTimeW[2 * parent + 1]!;
    baseCreds = t.credsId[parent]!;
    baseCtx = t.ctxId[parent]!;
    if (a.inode !== 0 && a.inode !== parentInode) {
      // the kernel's view wins, also over a parent whose image was never known (inode 0)
      t.inode[row] = a.inode;
      a.pathId = take(t, row, t.pathId, a.pathId);
      // the truncation flag goes with the path
      if (pathGiven) flags = (flags & ~F_PATH_TRUNCATED) | (a.pathTruncated ? F_PATH_TRUNCATED : 0);
    }
    t.setAncestor(row, parent);
    t.release(parent); // unpin: the ancestor link now holds it
  } else {
    // no parent here: the image is the event's
    if (remote) {
      flags |= F_REMOTE_PARENT; // missing or not is decided by readers, from the parent's shard
      if (a.gseq >= 0) t.ancestor[row] = remoteLinkMark(a.gseq); // how far that shard must be for readers
    }
    else if (a.ppid !== 0) flags |= F_PARENT_MISSING; // ppid 0: a child of the kernel, nothing is missing
    t.inode[row] = a.inode;
    t.execTimeW[2 * row] = a.execTimeLo;
    t.execTimeW[2 * row + 1] = a.execTimeHi;
    a.pathId = take(t, row, t.pathId, a.pathId);
    if (pathGiven && a.pathTruncated) flags |= F_PATH_TRUNCATED;
  }
  // given image fields override the inherited ones
  a.commId = take(t, row, t.commId, a.commId);
  if (a.argvId >= 0) {
    a.argvId = take(t, row, t.argvId, a.argvId);
    flags = (flags & ~F_ARGS_TRUNCATED) | (a.argsTruncated ? F_ARGS_TRUNCATED : 0);
  }
  if (a.envpId >= 0) {
    a.envpId = take(t, row, t.envpId, a.envpId);
    flags = (flags & ~F_ENVS_TRUNCATED) | (a.envsTruncated ? F_ENVS_TRUNCATED : 0);
  }
  a.interpId = take(t, row, t.interpId, a.interpId);
  if (parent >= 0 && (a.execTimeLo | a.execTimeHi) !== 0) {
    t.execTimeW[2 * row] = a.execTimeLo;
    t.execTimeW[2 * row + 1] = a.execTimeHi;
  }
  t.credsId[row] = a.credsMask === 0 ? increfCreds(t, baseCreds) : t.mergeCreds(baseCreds, a.creds, a.credsMask);
  t.ctxId[row] = mergeCtx(t, baseCtx, a.ctxId, a.ctxMask);
  a.ctxId = -1; // consumed by mergeCtx
  t.flags[row] = flags;
  t.endWrite(row);
  releaseForkArgs(t, a); // what was given but not used (path with a matching parent)
  t.indexInsert(row);
  t.counters[ADDED[a.source]!]!++;
  return row;
}

/**
 * A fork that makes no row: its strings are released, and a parent in
 * another shard, which the router told to hold its entry for this child
 * (LINK), is told to let it go.
 */
function rejectFork(t: ProcessTable, a: ForkArgs, code: number): number {
  releaseForkArgs(t, a);
  if (a.parentRemote && a.ppid > 0) t.onRemoteParentReleased?.(a.ppid, a.pidns, a.timeLo, a.timeHi);
  return code;
}

function forkRejection(a: ForkArgs): number {
  if (a.pid === 0) return REJECTED_PID0;
  if (a.kernelThread || a.pid === 2 || a.ppid === 2) return REJECTED_KERNEL_THREAD;
  return 0;
}

/** Stores a given string id in column[row] in place of the inherited one; returns -1 (consumed) or the untouched -1. */
function take(t: ProcessTable, row: number, column: Int32Array, given: number): number {
  if (given < 0) return -1;
  t.strings.decref(column[row]!);
  column[row] = given;
  return -1;
}

/** Sets the exit time of an entry that ends now (pid reuse, exec), unless it already exited. */
function endAt(t: ProcessTable, row: number, timeLo: number, timeHi: number): void {
  const exitW = t.exitTimeW;
  if ((exitW[2 * row]! | exitW[2 * row + 1]!) !== 0) return;
  t.beginWrite(row);
  exitW[2 * row] = timeLo;
  exitW[2 * row + 1] = timeHi;
  t.endWrite(row);
}

/**
 * Applies an exec. Returns the new row, the current row for an exec bomb, or
 * a negative REJECTED_* code.
 */
export function applyExec(t: ProcessTable, a: ExecArgs): number {
  if (APPLY_DELAY_ITERATIONS > 0) applyDelay();
  if (a.pid === 0) {
    releaseExecArgs(t, a);
    t.counters[C.rejectedPid0]!++;
    return REJECTED_PID0;
  }
  t.noteTime(a.timeLo, a.timeHi);
  let prev = t.lookup(a.pid, a.pidns);
  if (prev >= 0 && (t.exitTimeW[2 * prev]! | t.exitTimeW[2 * prev + 1]!) !== 0) {
    // The cached instance already exited: this exec belongs to a new
    // instance whose fork we lost. It is not an ancestor.
    t.counters[C.pidReuse]!++;
    t.indexRemove(prev);
    prev = -1;
  }
  if (prev >= 0) t.pin(prev);
  const credsId = t.mergeCreds(prev >= 0 ? t.credsId[prev]! : t.creds.unknownId, a.creds, a.credsMask);
  if (a.commId < 0) a.commId = internBasenameComm(t, a.pathId);
  // the kernel ran another image before this exec than the one cached: an exec was lost
  const lostExec = prev >= 0 && a.prevInode !== 0 && t.inode[prev] !== 0 && a.prevInode !== t.inode[prev];

  if (
    prev >= 0 &&
    !lostExec &&
    (t.flags[prev]! & F_IS_EXEC) !== 0 &&
    t.pathId[prev] === normalId(a.pathId) &&
    t.inode[prev] === a.inode &&
    t.argvId[prev] === normalId(a.argvId) &&
    t.envpId[prev] === normalId(a.envpId) &&
    t.credsId[prev] === credsId
  ) {
    // exec bomb: the same image again; keep the entry, refresh its exec time
    t.beginWrite(prev);
    t.execTimeW[2 * prev] = a.timeLo;
    t.execTimeW[2 * prev + 1] = a.timeHi;
    t.endWrite(prev);
    t.counters[C.execBombs]!++;
    t.creds.decref(credsId);
    releaseExecArgs(t, a);
    t.release(prev);
    return prev;
  }

  const row = t.allocRow();
  if (row < 0) {
    t.counters[C.rejectedTableFull]!++;
    t.creds.decref(credsId);
    releaseExecArgs(t, a);
    if (prev >= 0) t.release(prev);
    return REJECTED_TABLE_FULL;
  }
  t.pid[row] = a.pid; // allocRow left the row's write window open
  t.setPidns(row, a.pidns);
  t.execTimeW[2 * row] = a.timeLo;
  t.execTimeW[2 * row + 1] = a.timeHi;
  t.inode[row] = a.inode;
  t.pathId[row] = normalId(a.pathId);
  t.commId[row] = a.commId;
  t.argvId[row] = normalId(a.argvId);
  t.envpId[row] = normalId(a.envpId);
  t.interpId[row] = normalId(a.interpId);
  t.credsId[row] = credsId;
  // not given: the process is where it was and who it was, but runs another image (no mountId)
  let flags = F_USED | F_IS_EXEC | ProcessTable.sourceFlags(a.source);
  if (a.nsId >= 0) {
    t.nsId[row] = a.nsId;
    if (a.nsPidIsPid) flags |= F_NSPID_IS_PID;
  } else if (prev >= 0) {
    t.nsId[row] = deriveNamespaces(t, t.nsId[prev]!, NS_MOUNT_ID);
    flags |= t.flags[prev]! & F_NSPID_IS_PID; // same process: same nsPid
  } else {
    t.nsId[row] = 0;
  }
  a.nsId = -1; // consumed
  if (a.argsTruncated) flags |= F_ARGS_TRUNCATED;
  if (a.envsTruncated) flags |= F_ENVS_TRUNCATED;
  if (a.pathTruncated) flags |= F_PATH_TRUNCATED;
  if (prev >= 0) {
    t.ppid[row] = a.ppid >= 0 ? a.ppid : t.ppid[prev]!;
    t.forkTimeW[2 * row] = t.forkTimeW[2 * prev]!;
    t.forkTimeW[2 * row + 1] = t.forkTimeW[2 * prev + 1]!;
    t.ctxId[row] = mergeCtx(t, t.ctxId[prev]!, a.ctxId, a.ctxMask);
    if (t.flags[prev]! & F_IS_EXEC) flags |= F_IS_EXEC_EXEC;
    if (lostExec) {
      flags |= F_PARENT_MISSING;
      t.counters[C.execPrevInodeMismatch]!++;
    }
    t.flags[row] = flags;
    t.setAncestor(row, prev);
    t.endWrite(row);
    endAt(t, prev, a.timeLo, a.timeHi);
    t.indexReplace(prev, row);
    t.release(prev); // unpin
  } else {
    t.ppid[row] = a.ppid >= 0 ? a.ppid : 0;
    t.forkTimeW[2 * row] = a.timeLo;
    t.forkTimeW[2 * row + 1] = a.timeHi;
    t.ctxId[row] = mergeCtx(t, 0, a.ctxId, a.ctxMask);
    // ppid 0 given: a child of the kernel (pid 1), no parent to miss, as for a fork; not given (-1): missed
    t.flags[row] = a.ppid === 0 ? flags : flags | F_PARENT_MISSING;
    t.endWrite(row);
    t.indexInsert(row);
  }
  t.counters[ADDED[a.source]!]!++;
  return row;
}

/** Marks the current entry of pid exited and queues it for flushing; refuses (and counts) an exit earlier than its fork. */
export function applyExit(t: ProcessTable, pid: number, pidns: number, timeLo: number, timeHi: number, exitCode: number): boolean {
  const row = t.lookup(pid, pidns);
  if (row < 0) {
    t.counters[C.exitMisses]!++;
    return false;
  }
  const forkHi = t.forkTimeW[2 * row + 1]!;
  if (timeHi < forkHi || (timeHi === forkHi && timeLo >>> 0 < t.forkTimeW[2 * row]! >>> 0)) {
    t.counters[C.exitBeforeFork]!++; // an exit cannot precede its fork: a damaged record, refused
    return false;
  }
  t.noteTime(timeLo, timeHi);
  const exitW = t.exitTimeW;
  if ((exitW[2 * row]! | exitW[2 * row + 1]!) === 0) {
    t.beginWrite(row);
    exitW[2 * row] = timeLo;
    exitW[2 * row + 1] = timeHi;
    t.exitCode[row] = exitCode;
    t.endWrite(row);
  }
  if ((t.flags[row]! & F_EXIT_QUEUED) === 0) t.queueExited(row);
  return true;
}

/** Flushes pid from the live cache now. */
export function applyDelete(t: ProcessTable, pid: number, pidns: number, timeLo: number, timeHi: number): boolean {
  const row = t.lookup(pid, pidns);
  if (row < 0) return false;
  t.noteTime(timeLo, timeHi);
  endAt(t, row, timeLo, timeHi);
  t.indexRemove(row);
  t.counters[C.flushed]!++;
  return true;
}

/** Changes the credential fields of `mask` of the current entry of pid. */
export function applyCredentials(t: ProcessTable, pid: number, pidns: number, values: Uint32Array, mask: number): boolean {
  const row = t.lookup(pid, pidns);
  if (row < 0) {
    t.counters[C.updateMisses]!++;
    return false;
  }
  if (mask === 0) return true;
  t.pin(row);
  const id = t.mergeCreds(t.credsId[row]!, values, mask);
  const old = t.credsId[row]!;
  t.beginWrite(row);
  t.credsId[row] = id;
  t.endWrite(row);
  t.creds.decref(old);
  t.release(row);
  return true;
}

/**
 * Changes the container and cgroup context of the current entry of pid in
 * place (the seed's UpdateProcessContexts; a process moved to another
 * cgroup): the context parts of `ctxMask` from `ctxId` (consumed), and the
 * cgroup id of its namespace tuple when `setCgroupId`.
 */
export function applyContexts(
  t: ProcessTable, pid: number, pidns: number, ctxId: number, ctxMask: number, setCgroupId: boolean, cgroupLo: number, cgroupHi: number,
): boolean {
  const row = t.lookup(pid, pidns);
  if (row < 0) {
    t.counters[C.updateMisses]!++;
    t.strings.decref(ctxId);
    return false;
  }
  t.pin(row);
  const oldCtx = t.ctxId[row]!;
  const oldNs = t.nsId[row]!;
  const ctx = mergeCtx(t, oldCtx, ctxId, ctxMask);
  let ns = oldNs;
  if (setCgroupId) {
    const n = readNamespaces(t.strings, oldNs);
    // a tuple flagged F_NSPID_IS_PID holds nsPid 0 and stays given
    ns = normalId(internNamespaces(t, n.pidnsInode, n.nsPid, n.mountId, cgroupLo, cgroupHi, 0, (t.flags[row]! & F_NSPID_IS_PID) !== 0));
  } else {
    t.strings.incref(ns);
  }
  t.beginWrite(row);
  t.ctxId[row] = ctx;
  t.nsId[row] = ns;
  t.endWrite(row);
  t.strings.decref(oldCtx);
  t.strings.decref(oldNs);
  t.release(row);
  return true;
}

/** Sets the comm of the current entry of pid (prctl PR_SET_NAME); consumes commId. */
export function applyRename(t: ProcessTable, pid: number, pidns: number, commId: number): boolean {
  const row = t.lookup(pid, pidns);
  if (row < 0) {
    t.counters[C.updateMisses]!++;
    t.strings.decref(commId);
    return false;
  }
  const old = t.commId[row]!;
  t.beginWrite(row);
  t.commId[row] = normalId(commId);
  t.endWrite(row);
  t.strings.decref(old);
  return true;
}

/**
 * A child in another shard forked from (ppid, pidns) at `forkTime` (LINK):
 * hold the parent entry of that time for it. `inode` is the child's image
 * at fork: a difference with the parent's is a lost exec of the parent.
 *
 * `atFork`: the LINK the router sent with the fork itself, applied at the
 * fork's place in the stream, so this table is as it was at the fork. The
 * parent is then what ProcessResolver takes: the current entry of ppid.
 * When there is none but findAt finds a retired instance (flushed or
 * replaced, held for children that forked before), that instance was not
 * the parent: a tombstone at forkTime (F_TOMBSTONE) makes this child, and
 * any later one, resolve no parent. Counted as a link miss; the tombstone
 * is held by this link like a parent (true), and the child's UNLINK frees it.
 */
export function applyLink(
  t: ProcessTable, ppid: number, pidns: number, forkLo: number, forkHi: number, inode: number, atFork = false,
): boolean {
  const row = t.findAt(ppid, pidns, forkLo, forkHi);
  if (row >= 0 && atFork && (t.flags[row]! & (F_CURRENT | F_TOMBSTONE)) === 0 && t.lookup(ppid, pidns) < 0) {
    t.counters[C.linkMisses]!++;
    return t.addTombstone(ppid, pidns, forkLo, forkHi) >= 0;
  }
  if (row >= 0 && (t.flags[row]! & F_TOMBSTONE) !== 0) {
    t.counters[C.linkMisses]!++;
    if (!atFork) return false;
    t.addRemoteRef(row);
    return true;
  }
  if (row < 0) {
    t.counters[C.linkMisses]!++;
    return false;
  }
  if (inode !== 0 && t.inode[row] !== 0 && inode !== t.inode[row]) t.counters[C.forkInodeMismatch]!++;
  t.addRemoteRef(row);
  return true;
}

/** The remote child linked by (ppid, pidns, forkTime) is gone (UNLINK). */
export function applyUnlink(t: ProcessTable, ppid: number, pidns: number, forkLo: number, forkHi: number): boolean {
  const row = t.findAt(ppid, pidns, forkLo, forkHi);
  if (row < 0 || !t.dropRemoteRef(row)) {
    t.counters[C.unlinkMisses]!++;
    return false;
  }
  return true;
}

/** The oldest entry of `row`'s exec chain: the one made by the fork. */
function forkEndOf(t: ProcessTable, row: number): number {
  const pid = t.pid[row]!;
  const forkW = t.forkTimeW;
  const forkLo = forkW[2 * row]!;
  const forkHi = forkW[2 * row + 1]!;
  let forkEnd = row;
  for (
    let up = t.ancestor[forkEnd]!;
    up >= 0 && t.pid[up] === pid && forkW[2 * up] === forkLo && forkW[2 * up + 1] === forkHi;
    up = t.ancestor[up]!
  ) {
    forkEnd = up;
  }
  return forkEnd;
}

/**
 * Gives every entry of `row`'s exec chain the new ppid and makes its fork
 * end point at `parentRow` (a row of this table, or -1 for a parent in
 * another shard, linked by key). Tells the old remote parent's shard when
 * that link goes away.
 */
function setChainParent(t: ProcessTable, row: number, forkEnd: number, parentRow: number, ppid: number, remote: boolean): void {
  const hadRemoteParent = (t.flags[forkEnd]! & F_REMOTE_PARENT) !== 0;
  const oldPpid = t.ppid[forkEnd]!;
  for (let r = row; r !== forkEnd; r = t.ancestor[r]!) {
    t.beginWrite(r);
    t.ppid[r] = ppid;
    t.endWrite(r);
  }
  // the fork end's ppid, link and flags change in one write: no reader sees the new ppid with the old parent
  t.beginWrite(forkEnd);
  t.ppid[forkEnd] = ppid;
  t.flags[forkEnd] = (t.flags[forkEnd]! & ~(F_PARENT_MISSING | F_REMOTE_PARENT)) | F_REPARENTED | (remote ? F_REMOTE_PARENT : 0);
  t.setAncestor(forkEnd, parentRow);
  t.endWrite(forkEnd);
  if (hadRemoteParent) t.onRemoteParentReleased?.(oldPpid, t.pidnsOf(forkEnd), t.forkTimeW[2 * forkEnd]!, t.forkTimeW[2 * forkEnd + 1]!);
}

/**
 * Relinks the fork end of `row`'s exec chain to `parentRow` and gives every
 * entry of the chain the new ppid. Refuses (false) a link that would make
 * the lineage a cycle.
 */
export function relinkParent(t: ProcessTable, row: number, parentRow: number, ppid: number): boolean {
  const forkEnd = forkEndOf(t, row);
  for (let up = parentRow, steps = 0; up >= 0 && steps <= t.capacity; up = t.ancestor[up]!, steps++) {
    if (up === forkEnd) return false;
  }
  setChainParent(t, row, forkEnd, parentRow, ppid, false);
  return true;
}

/**
 * Relinks the fork end of `row`'s exec chain to a parent in another shard
 * (by key: ppid and the fork time). Returns the fork-end row, whose fork
 * time and inode the pipeline sends that shard in a LINK.
 */
export function relinkParentRemote(t: ProcessTable, row: number, ppid: number, gseq = -1): number {
  const forkEnd = forkEndOf(t, row);
  // the new parent's shard had dispatched it before the reparent's record: readers
  // follow the link once that shard has applied what precedes `gseq`, as for a fork
  setChainParent(t, row, forkEnd, gseq >= 0 ? remoteLinkMark(gseq) : -1, ppid, true);
  return forkEnd;
}

function increfCreds(t: ProcessTable, id: number): number {
  t.creds.incref(id);
  return id;
}

function releaseForkArgs(t: ProcessTable, a: ForkArgs): void {
  const s = t.strings;
  s.decref(a.pathId);
  s.decref(a.commId);
  s.decref(a.argvId);
  s.decref(a.envpId);
  s.decref(a.ctxId);
  s.decref(a.interpId);
  s.decref(a.nsId);
  a.pathId = a.commId = a.argvId = a.envpId = a.ctxId = a.interpId = a.nsId = -1;
}

function releaseExecArgs(t: ProcessTable, a: ExecArgs): void {
  const s = t.strings;
  s.decref(a.pathId);
  s.decref(a.commId);
  s.decref(a.argvId);
  s.decref(a.envpId);
  s.decref(a.ctxId);
  s.decref(a.interpId);
  s.decref(a.nsId);
  a.nsId = -1;
}

/** Interns the kernel's comm for an exec of `pathId`: its basename cut to COMM_MAX bytes. */
function internBasenameComm(t: ProcessTable, pathId: number): number {
  if (pathId <= 0) return 0;
  const s = t.strings;
  const start = s.offset[pathId]!;
  const end = start + s.length[pathId]!;
  let base = start;
  for (let i = start; i < end; i++) if (s.arena[i] === 0x2f) base = i + 1;
  return t.intern(s.arena, s.arenaDv, base, Math.min(COMM_MAX, end - base));
}

/**
 * Inserts a process read from /proc (snapshot or cache-miss fallback) as one
 * complete entry, linked to the current entry of its parent. A pid already
 * cached keeps its entry (events are fresher than /proc): that row is
 * returned. `a.timeLo/timeHi` is the process start time.
 */
export function applyProcfsEntry(t: ProcessTable, a: ExecArgs): number {
  if (a.pid === 0) {
    releaseExecArgs(t, a);
    t.counters[C.rejectedPid0]!++;
    return REJECTED_PID0;
  }
  const existing = t.lookup(a.pid, a.pidns);
  if (existing >= 0) {
    releaseExecArgs(t, a);
    return existing;
  }
  const ppid = a.ppid >= 0 ? a.ppid : 0;
  const parent = ppid > 0 ? t.lookup(ppid, a.pidns) : -1;
  if (parent >= 0) t.pin(parent);
  const row = t.allocRow();
  if (row < 0) {
    t.counters[C.rejectedTableFull]!++;
    releaseExecArgs(t, a);
    if (parent >= 0) t.release(parent);
    return REJECTED_TABLE_FULL;
  }
  t.pid[row] = a.pid; // allocRow left the row's write window open
  t.ppid[row] = ppid;
  t.setPidns(row, a.pidns);
  t.forkTimeW[2 * row] = t.execTimeW[2 * row] = a.timeLo;
  t.forkTimeW[2 * row + 1] = t.execTimeW[2 * row + 1] = a.timeHi;
  t.inode[row] = a.inode;
  t.pathId[row] = normalId(a.pathId);
  t.commId[row] = a.commId < 0 ? internBasenameComm(t, a.pathId) : a.commId;
  t.argvId[row] = normalId(a.argvId);
  t.envpId[row] = normalId(a.envpId);
  t.interpId[row] = normalId(a.interpId);
  t.credsId[row] = t.mergeCreds(t.creds.unknownId, a.creds, a.credsMask);
  t.ctxId[row] = mergeCtx(t, 0, a.ctxId, a.ctxMask);
  t.nsId[row] = normalId(a.nsId);
  let flags = F_USED | ProcessTable.sourceFlags(a.source);
  if (a.nsId >= 0 && a.nsPidIsPid) flags |= F_NSPID_IS_PID;
  a.nsId = -1; // consumed
  if (a.argsTruncated) flags |= F_ARGS_TRUNCATED;
  if (a.envsTruncated) flags |= F_ENVS_TRUNCATED;
  if (a.pathTruncated) flags |= F_PATH_TRUNCATED;
  if (parent >= 0) {
    // a child running another image than its parent must have exec'd
    if (t.pathId[parent] !== t.pathId[row] || t.inode[parent] !== t.inode[row]) flags |= F_IS_EXEC;
    t.setAncestor(row, parent);
    t.release(parent);
  } else {
    flags |= F_IS_EXEC;
    if (ppid > 0) flags |= F_PARENT_MISSING;
  }
  t.flags[row] = flags;
  t.endWrite(row);
  t.indexInsert(row);
  t.counters[ADDED[a.source]!]!++;
  return row;
}
