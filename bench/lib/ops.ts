// Stream events turned, once, into the public-API calls that apply them, so a
// timed batch does nothing but make those calls. Both resolvers consume the
// same Op objects; each has its own copy of the dispatch loop so that every
// call site in it stays monomorphic (one shared loop would see two receiver
// classes and make both sides pay for it).

import type { Credentials, ExecInput, ExitInput, ForkInput, ProcessResolver } from '../../src/index.js';
import type { StreamEvent } from '../../src/record/events.js';
import type { NaiveResolver } from '../naive-resolver.js';

export const OP_FORK = 0;
export const OP_EXEC = 1;
export const OP_EXIT = 2;
export const OP_CREDS = 3;
export const OP_FLUSH = 4;
export const OP_DELETE = 5;
export const OP_REPARENT = 6;
/** Events neither resolver has a call for (rename, lost): counted, not applied. */
export const OP_NONE = 7;

export interface UidChange {
  uid?: number;
  euid?: number;
  fsuid?: number;
}
export interface GidChange {
  gid?: number;
  egid?: number;
  fsgid?: number;
}
export interface CapChange {
  effective?: bigint;
  permitted?: bigint;
}

/** One call (or, for a credential change, up to four calls) of the resolver API. */
export interface Op {
  k: number;
  pid: number;
  /** OP_REPARENT: the new parent. */
  ppid: number;
  /** OP_FLUSH, OP_DELETE. */
  time: bigint;
  fork: ForkInput | undefined;
  exec: ExecInput | undefined;
  exit: ExitInput | undefined;
  uid: UidChange | undefined;
  gid: GidChange | undefined;
  caps: CapChange | undefined;
  /** -1: unchanged. */
  auid: number;
}

function op(k: number, pid: number): Op {
  return {
    k,
    pid,
    ppid: 0,
    time: 0n,
    fork: undefined,
    exec: undefined,
    exit: undefined,
    uid: undefined,
    gid: undefined,
    caps: undefined,
    auid: -1,
  };
}

const set = (v: number | undefined): v is number => v !== undefined && v !== -1;
const setBig = (v: bigint | undefined): v is bigint => v !== undefined && v !== -1n;

/** Splits a credential change into the resolver's four update calls. */
export function credsOp(pid: number, c: Partial<Credentials>): Op {
  const o = op(OP_CREDS, pid);
  if (set(c.uid) || set(c.euid) || set(c.fsuid)) o.uid = { uid: c.uid, euid: c.euid, fsuid: c.fsuid };
  if (set(c.gid) || set(c.egid) || set(c.fsgid)) o.gid = { gid: c.gid, egid: c.egid, fsgid: c.fsgid };
  if (setBig(c.capEffective) || setBig(c.capPermitted)) {
    o.caps = { effective: c.capEffective, permitted: c.capPermitted };
  }
  if (set(c.auid)) o.auid = c.auid;
  return o;
}

/** The resolver call for one stream event. Fields the event does not carry are left out, as a source would. */
export function toOp(ev: StreamEvent): Op {
  switch (ev.type) {
    case 'fork': {
      const o = op(OP_FORK, ev.pid);
      const f: ForkInput = { pid: ev.pid, ppid: ev.ppid, time: ev.time, inode: ev.inode };
      if (ev.path !== undefined) f.path = ev.path;
      if (ev.comm !== undefined) f.comm = ev.comm;
      if (ev.credentials !== undefined) f.credentials = ev.credentials;
      if (ev.tty !== undefined) f.tty = ev.tty;
      if (ev.containerId !== undefined) f.containerId = ev.containerId;
      if (ev.cgroup !== undefined) f.cgroup = ev.cgroup;
      if (ev.kernelThread !== undefined) f.kernelThread = ev.kernelThread;
      o.fork = f;
      return o;
    }
    case 'exec': {
      const o = op(OP_EXEC, ev.pid);
      const x: ExecInput = { pid: ev.pid, time: ev.time, path: ev.path ?? '', inode: ev.inode };
      if (ev.ppid >= 0) x.ppid = ev.ppid;
      if (ev.prevInode !== 0) x.prevInode = ev.prevInode;
      if (ev.argv !== undefined) x.argv = ev.argv;
      if (ev.argsTruncated !== undefined) x.argsTruncated = ev.argsTruncated;
      if (ev.envp !== undefined) x.envp = ev.envp;
      if (ev.envsTruncated !== undefined) x.envsTruncated = ev.envsTruncated;
      if (ev.credentials !== undefined) x.credentials = ev.credentials;
      if (ev.tty !== undefined) x.tty = ev.tty;
      if (ev.containerId !== undefined) x.containerId = ev.containerId;
      if (ev.cgroup !== undefined) x.cgroup = ev.cgroup;
      if (ev.interpreter !== undefined) x.interpreter = ev.interpreter;
      if (ev.comm !== undefined) x.comm = ev.comm;
      o.exec = x;
      return o;
    }
    case 'exit': {
      const o = op(OP_EXIT, ev.pid);
      o.exit = { pid: ev.pid, time: ev.time, exitCode: ev.exitCode };
      return o;
    }
    case 'creds':
      return credsOp(ev.pid, ev.credentials);
    case 'flush': {
      const o = op(OP_FLUSH, 0);
      o.time = ev.time;
      return o;
    }
    case 'delete': {
      const o = op(OP_DELETE, ev.pid);
      o.time = ev.time;
      return o;
    }
    case 'reparent': {
      const o = op(OP_REPARENT, ev.pid);
      o.ppid = ev.ppid;
      return o;
    }
    default:
      // rename has no call in ProcessResolver's public API yet, and lost
      // carries nothing to apply: both sides skip them alike
      return op(OP_NONE, 0);
  }
}

export function toOps(events: readonly StreamEvent[]): Op[] {
  return events.map(toOp);
}

/** Applies ops[from, to) to a ProcessResolver; returns a checksum. */
export function applyOpsForkline(r: ProcessResolver, ops: readonly Op[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const o = ops[i]!;
    switch (o.k) {
      case OP_FORK:
        if (r.addForkEntry(o.fork!) !== undefined) n++;
        break;
      case OP_EXEC:
        if (r.addExecEntry(o.exec!) !== undefined) n++;
        break;
      case OP_EXIT:
        if (r.applyExitEntry(o.exit!)) n++;
        break;
      case OP_CREDS:
        if (o.uid !== undefined && r.updateUid(o.pid, o.uid)) n++;
        if (o.gid !== undefined && r.updateGid(o.pid, o.gid)) n++;
        if (o.caps !== undefined && r.updateCapset(o.pid, o.caps)) n++;
        if (o.auid !== -1 && r.updateLoginUid(o.pid, o.auid)) n++;
        break;
      case OP_FLUSH:
        n += r.dequeueExited(o.time);
        break;
      case OP_DELETE:
        r.deleteEntry(o.pid, o.time);
        break;
      case OP_REPARENT:
        if (r.tryReparentFromKernelPPid(o.pid, o.ppid)) n++;
        break;
      default:
        break;
    }
  }
  return n;
}

/** Applies ops[from, to) to the naive resolver; returns a checksum. Same loop as applyOpsForkline. */
export function applyOpsNaive(r: NaiveResolver, ops: readonly Op[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const o = ops[i]!;
    switch (o.k) {
      case OP_FORK:
        if (r.addForkEntry(o.fork!) !== undefined) n++;
        break;
      case OP_EXEC:
        if (r.addExecEntry(o.exec!) !== undefined) n++;
        break;
      case OP_EXIT:
        if (r.applyExitEntry(o.exit!)) n++;
        break;
      case OP_CREDS:
        if (o.uid !== undefined && r.updateUid(o.pid, o.uid)) n++;
        if (o.gid !== undefined && r.updateGid(o.pid, o.gid)) n++;
        if (o.caps !== undefined && r.updateCapset(o.pid, o.caps)) n++;
        if (o.auid !== -1 && r.updateLoginUid(o.pid, o.auid)) n++;
        break;
      case OP_FLUSH:
        n += r.dequeueExited(o.time);
        break;
      case OP_DELETE:
        r.deleteEntry(o.pid, o.time);
        break;
      case OP_REPARENT:
        if (r.tryReparentFromKernelPPid(o.pid, o.ppid)) n++;
        break;
      default:
        break;
    }
  }
  return n;
}
