// The events the simulated kernel emits for a process: a fork carries the
// image the child inherits, an exec the new one, each with the full state of
// the image (self-contained events, like the BPF programs' records).

import type { ExecEvent, ForkEvent } from '../../../record/events.js';
import { NO_STRINGS, ROOT, type Proc } from './model.js';

/** The fork of `p` (already created), at `time` on `cpu`; envp only when `envs`. */
export function forkEvent(time: bigint, cpu: number, p: Proc, cgroupId: bigint, envs: boolean): ForkEvent {
  const img = p.image;
  const bin = img.bin;
  const ns = p.ns;
  // the mount of the image it runs (pid 1's first image has no file)
  const mountId = bin.path === '' ? 0 : ns.mountId;
  if (envs) {
    return {
      type: 'fork', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, execTime: img.execTime, path: bin.path,
      inode: bin.inode, comm: p.comm, argv: img.argv, argsTruncated: false, envp: img.envp, envsTruncated: false,
      credentials: p.creds, tty: p.tty, containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
      mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
    };
  }
  return {
    type: 'fork', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, execTime: img.execTime, path: bin.path,
    inode: bin.inode, comm: p.comm, argv: img.argv, argsTruncated: false, credentials: p.creds, tty: p.tty,
    containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
    mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
  };
}

/** The exec of `p` (its new image already in place), which ran an image of `prevInode` before. */
export function execEvent(time: bigint, cpu: number, p: Proc, prevInode: number, cgroupId: bigint, envs: boolean): ExecEvent {
  const img = p.image;
  const bin = img.bin;
  const ns = p.ns;
  if (envs) {
    return {
      type: 'exec', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, prevInode, path: bin.path, inode: bin.inode,
      comm: p.comm, argv: img.argv, argsTruncated: false, envp: img.envp, envsTruncated: false, credentials: p.creds,
      tty: p.tty, containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
      mountId: ns.mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
    };
  }
  return {
    type: 'exec', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, prevInode, path: bin.path, inode: bin.inode,
    comm: p.comm, argv: img.argv, argsTruncated: false, credentials: p.creds, tty: p.tty,
    containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
    mountId: ns.mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
  };
}

/** A kernel thread's fork: no image, root's credentials; ppid is kthreadd (0 for kthreadd itself). */
export function kthreadEvent(time: bigint, cpu: number, pid: number, ppid: number, comm: string): ForkEvent {
  return {
    type: 'fork', time, cpu, pid, ppid, pidns: 0, execTime: 0n, path: '',
    inode: 0, comm, argv: NO_STRINGS, argsTruncated: false, credentials: ROOT, tty: '', containerId: '', cgroup: '/',
    interpreter: '', kernelThread: true,
  };
}
