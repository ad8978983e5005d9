// The apply args: what the apply functions (apply.ts) take for a fork or an
// exec, filled by the record applier (from record bytes) or by the input
// encoder (from ForkInput/ExecInput). One struct of each is reused per
// caller, so applying allocates nothing.
//
// Ownership: every id >= 0 in an args struct carries one reference, which the
// apply function either stores in a row or releases. -1 means "not given".

import { CRED_WORD_COUNT } from '../record/constants.js';
import { SOURCE_EVENT } from './table.js';

/** Bits of ctxMask: which parts of the context blob (tty \0 containerId \0 cgroup) are given. */
export const CTX_TTY = 1;
export const CTX_CONTAINER = 2;
export const CTX_CGROUP = 4;
export const CTX_ALL = 7;

export interface ForkArgs {
  pid: number;
  ppid: number;
  pidns: number;
  /** Fork time as int32 words (time-words.ts). */
  timeLo: number;
  timeHi: number;
  inode: number;
  /** Exec time of the inherited image, words; used when the parent is not in this table (0: unknown). */
  execTimeLo: number;
  execTimeHi: number;
  pathId: number;
  commId: number;
  argvId: number;
  envpId: number;
  interpId: number;
  argsTruncated: boolean;
  envsTruncated: boolean;
  /** The given path was cut by its source (goes with pathId). */
  pathTruncated: boolean;
  /** Credential words (see creds.ts) and the mask of the fields given. */
  creds: Uint32Array;
  credsMask: number;
  ctxId: number;
  ctxMask: number;
  /** Interned namespace tuple (namespaces.ts), -1 when not given. */
  nsId: number;
  /** The given tuple's nsPid was the pid, stored as 0 (F_NSPID_IS_PID). */
  nsPidIsPid: boolean;
  source: number;
  kernelThread: boolean;
  /** The parent lives in another shard: link by key, take the image from the args. */
  parentRemote: boolean;
  /** The gseq of the fork record (the LINK to a remote parent goes with it); -1 outside a pipeline. */
  gseq: number;
}

export interface ExecArgs {
  pid: number;
  /** -1 when unknown. */
  ppid: number;
  pidns: number;
  /** Exec time (for a /proc entry: its start time) as int32 words (time-words.ts). */
  timeLo: number;
  timeHi: number;
  inode: number;
  prevInode: number;
  pathId: number;
  commId: number;
  argvId: number;
  envpId: number;
  argsTruncated: boolean;
  envsTruncated: boolean;
  pathTruncated: boolean;
  creds: Uint32Array;
  credsMask: number;
  ctxId: number;
  ctxMask: number;
  interpId: number;
  /** Interned namespace tuple (namespaces.ts), -1 when not given. */
  nsId: number;
  /** The given tuple's nsPid was the pid, stored as 0 (F_NSPID_IS_PID). */
  nsPidIsPid: boolean;
  source: number;
}

export function newForkArgs(): ForkArgs {
  return {
    pid: 0, ppid: 0, pidns: 0, timeLo: 0, timeHi: 0, inode: 0, execTimeLo: 0, execTimeHi: 0, pathId: -1, commId: -1, argvId: -1,
    envpId: -1, interpId: -1, argsTruncated: false, envsTruncated: false, pathTruncated: false,
    creds: new Uint32Array(CRED_WORD_COUNT), credsMask: 0, ctxId: -1, ctxMask: 0, nsId: -1, nsPidIsPid: false,
    source: SOURCE_EVENT, kernelThread: false, parentRemote: false, gseq: -1,
  };
}

export function newExecArgs(): ExecArgs {
  return {
    pid: 0, ppid: -1, pidns: 0, timeLo: 0, timeHi: 0, inode: 0, prevInode: 0, pathId: -1, commId: -1,
    argvId: -1, envpId: -1, argsTruncated: false, envsTruncated: false, pathTruncated: false,
    creds: new Uint32Array(CRED_WORD_COUNT), credsMask: 0, ctxId: -1, ctxMask: 0, interpId: -1, nsId: -1, nsPidIsPid: false,
    source: SOURCE_EVENT,
  };
}

/** A string id of the args as a row stores it: -1 ("not given") is 0, the empty string. */
export function normalId(id: number): number {
  return id < 0 ? 0 : id;
}
