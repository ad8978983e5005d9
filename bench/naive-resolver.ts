// The naive baseline: the process cache anyone would write first. One Map
// from pid to a plain object; a fork copies the parent object and points at
// it, an exec makes a new object that points at the previous image, an exit
// deletes the pid (ancestor objects stay alive through the references of
// their descendants, and the garbage collector frees the rest).
//
// It does the same work per event as ProcessResolver at the level that
// matters for a throughput comparison — copy the parent, chain execs, drop
// on exit, answer resolve() with the ancestor chain — and none of what the
// real cache adds: input validation, bounded memory, interning, sharing with
// other threads, exited-entry retention, counters. Every benchmark quotes
// forkline as a ratio to this class, measured in the same run, so a figure
// means the same on a fast and a slow machine.
//
// Written plainly on purpose (object literals with a fixed shape, shared
// argv arrays): a baseline made slow by careless code would flatter forkline.

import type { ByteString, Credentials, ExecInput, ExitInput, ForkInput } from '../src/index.js';

export interface NaiveProcess {
  pid: number;
  ppid: number;
  forkTime: bigint;
  execTime: bigint;
  exitTime: bigint;
  exitCode: number;
  path: ByteString;
  inode: number;
  comm: ByteString;
  argv: readonly ByteString[];
  envp: readonly ByteString[];
  credentials: Credentials;
  tty: string;
  containerId: string;
  cgroup: string;
  isExec: boolean;
  isParentMissing: boolean;
  ancestor: NaiveProcess | undefined;
}

const NO_ARGS: readonly ByteString[] = [];

const ROOT_CREDENTIALS: Credentials = {
  uid: 0,
  gid: 0,
  euid: 0,
  egid: 0,
  fsuid: 0,
  fsgid: 0,
  auid: 4294967295,
  capEffective: 0n,
  capPermitted: 0n,
};

function withCredentials(base: Credentials, c: Partial<Credentials> | undefined): Credentials {
  if (c === undefined) return base;
  return {
    uid: c.uid === undefined || c.uid === -1 ? base.uid : c.uid,
    gid: c.gid === undefined || c.gid === -1 ? base.gid : c.gid,
    euid: c.euid === undefined || c.euid === -1 ? base.euid : c.euid,
    egid: c.egid === undefined || c.egid === -1 ? base.egid : c.egid,
    fsuid: c.fsuid === undefined || c.fsuid === -1 ? base.fsuid : c.fsuid,
    fsgid: c.fsgid === undefined || c.fsgid === -1 ? base.fsgid : c.fsgid,
    auid: c.auid === undefined || c.auid === -1 ? base.auid : c.auid,
    capEffective: c.capEffective === undefined || c.capEffective === -1n ? base.capEffective : c.capEffective,
    capPermitted: c.capPermitted === undefined || c.capPermitted === -1n ? base.capPermitted : c.capPermitted,
  };
}

function basename(path: ByteString): ByteString {
  if (typeof path !== 'string') return path.subarray(path.lastIndexOf(47) + 1).subarray(0, 15);
  return path.slice(path.lastIndexOf('/') + 1, path.lastIndexOf('/') + 16);
}

export class NaiveResolver {
  readonly processes = new Map<number, NaiveProcess>();

  get size(): number {
    return this.processes.size;
  }

  addForkEntry(ev: ForkInput): NaiveProcess | undefined {
    if (ev.pid === 0 || ev.pid === 2 || ev.ppid === 2 || ev.kernelThread === true) return undefined;
    const parent = this.processes.get(ev.ppid);
    let child: NaiveProcess;
    if (parent !== undefined) {
      child = {
        pid: ev.pid,
        ppid: ev.ppid,
        forkTime: ev.time,
        execTime: parent.execTime,
        exitTime: 0n,
        exitCode: 0,
        path: parent.path,
        inode: parent.inode,
        comm: ev.comm ?? parent.comm,
        argv: parent.argv,
        envp: parent.envp,
        credentials: withCredentials(parent.credentials, ev.credentials),
        tty: ev.tty ?? parent.tty,
        containerId: ev.containerId ?? parent.containerId,
        cgroup: ev.cgroup ?? parent.cgroup,
        isExec: false,
        isParentMissing: ev.inode !== undefined && ev.inode !== 0 && parent.inode !== 0 && ev.inode !== parent.inode,
        ancestor: parent,
      };
    } else {
      child = {
        pid: ev.pid,
        ppid: ev.ppid,
        forkTime: ev.time,
        execTime: 0n,
        exitTime: 0n,
        exitCode: 0,
        path: ev.path ?? '',
        inode: ev.inode ?? 0,
        comm: ev.comm ?? '',
        argv: NO_ARGS,
        envp: NO_ARGS,
        credentials: withCredentials(ROOT_CREDENTIALS, ev.credentials),
        tty: ev.tty ?? '',
        containerId: ev.containerId ?? '',
        cgroup: ev.cgroup ?? '',
        isExec: false,
        isParentMissing: ev.ppid !== 0,
        ancestor: undefined,
      };
    }
    const old = this.processes.get(ev.pid);
    if (old !== undefined && old.exitTime === 0n) old.exitTime = ev.time; // pid reuse
    this.processes.set(ev.pid, child);
    return child;
  }

  addExecEntry(ev: ExecInput): NaiveProcess | undefined {
    if (ev.pid === 0) return undefined;
    const prev = this.processes.get(ev.pid);
    const entry: NaiveProcess = {
      pid: ev.pid,
      ppid: ev.ppid ?? prev?.ppid ?? 0,
      forkTime: prev?.forkTime ?? ev.time,
      execTime: ev.time,
      exitTime: 0n,
      exitCode: 0,
      path: ev.path,
      inode: ev.inode,
      comm: ev.comm ?? basename(ev.path),
      argv: ev.argv ?? NO_ARGS,
      envp: ev.envp ?? NO_ARGS,
      credentials: withCredentials(prev?.credentials ?? ROOT_CREDENTIALS, ev.credentials),
      tty: ev.tty ?? prev?.tty ?? '',
      containerId: ev.containerId ?? prev?.containerId ?? '',
      cgroup: ev.cgroup ?? prev?.cgroup ?? '',
      isExec: true,
      isParentMissing: prev === undefined,
      ancestor: prev,
    };
    if (prev !== undefined) prev.exitTime = ev.time;
    this.processes.set(ev.pid, entry);
    return entry;
  }

  /** Marks the process exited and forgets the pid (its object lives on while a descendant points at it). */
  applyExitEntry(ev: ExitInput): boolean {
    const e = this.processes.get(ev.pid);
    if (e === undefined) return false;
    e.exitTime = ev.time;
    e.exitCode = ev.exitCode ?? 0;
    this.processes.delete(ev.pid);
    return true;
  }

  deleteEntry(pid: number, time: bigint): void {
    const e = this.processes.get(pid);
    if (e === undefined) return;
    if (e.exitTime === 0n) e.exitTime = time;
    this.processes.delete(pid);
  }

  /** Exits are dropped at once: nothing waits for a retention window. */
  dequeueExited(_now?: bigint): number {
    return 0;
  }

  resolve(pid: number): NaiveProcess | undefined {
    return this.processes.get(pid);
  }

  private updateCredentials(pid: number, c: Partial<Credentials>): boolean {
    const e = this.processes.get(pid);
    if (e === undefined) return false;
    e.credentials = withCredentials(e.credentials, c);
    return true;
  }

  updateUid(pid: number, c: { uid?: number; euid?: number; fsuid?: number }): boolean {
    return this.updateCredentials(pid, c);
  }

  updateGid(pid: number, c: { gid?: number; egid?: number; fsgid?: number }): boolean {
    return this.updateCredentials(pid, c);
  }

  updateCapset(pid: number, c: { effective?: bigint; permitted?: bigint }): boolean {
    return this.updateCredentials(pid, { capEffective: c.effective, capPermitted: c.permitted });
  }

  updateLoginUid(pid: number, auid: number): boolean {
    return this.updateCredentials(pid, { auid });
  }

  tryReparentFromKernelPPid(pid: number, kernelPPid: number): boolean {
    if (kernelPPid === 0 || pid <= 1) return false;
    const e = this.processes.get(pid);
    if (e === undefined || e.ppid === kernelPPid) return false;
    const parent = this.processes.get(kernelPPid);
    if (parent === undefined) return false;
    let oldest = e;
    for (let a: NaiveProcess | undefined = e; a !== undefined && a.pid === pid; a = a.ancestor) {
      a.ppid = kernelPPid;
      oldest = a;
    }
    oldest.ancestor = parent;
    oldest.isParentMissing = false;
    return true;
  }
}
