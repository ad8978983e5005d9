// The simulated host's process model: binaries, images, pid namespaces,
// processes, and the kernel's credential rule at exec (execCredentials).

import type {
  Credentials,
  CredsEvent,
  ExecEvent,
  ExitEvent,
  ForkEvent,
  RenameEvent,
  ReparentEvent,
} from '../../../record/events.js';

/** Number of capabilities of this kernel (CAP_LAST_CAP 40): the full set. */
export const CAP_FULL = (1n << 41n) - 1n;
export const UNSET_ID = 4294967295;
export const NO_STRINGS: readonly string[] = Object.freeze([]);

export const ROOT: Readonly<Credentials> = Object.freeze({
  uid: 0, gid: 0, euid: 0, egid: 0, fsuid: 0, fsgid: 0, auid: UNSET_ID, capEffective: CAP_FULL, capPermitted: CAP_FULL,
});

/** A binary: fixed path and inode, and how exec'ing it changes the process. */
export interface Binary {
  readonly path: string;
  readonly inode: number;
  /** basename(path) cut to 15 bytes, as the kernel sets it. */
  readonly comm: string;
  /** Interpreter of a script ('' for a native binary). */
  readonly interpreter: string;
  readonly setuidRoot: boolean;
  /** Group of a setgid binary, else -1. */
  readonly setgid: number;
  /** The last argv built for it (reused now and then: builds repeat command lines). */
  lastArgv: readonly string[] | null;
}

/** One process image: shared by every process forked from it until one execs. */
export interface Image {
  readonly bin: Binary;
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  readonly execTime: bigint;
}

/** A pid namespace and the root mount of its processes' binaries (the host's, or a container's overlay). */
export interface PidNs {
  readonly inode: number;
  readonly mountId: number;
  /** The next pid a fork takes in it (containers only: the host's pids are the pids). */
  nextPid: number;
}

/** The host's pid namespace (the usual first namespace inode) and root mount. */
export const HOST_NS: Readonly<PidNs> = Object.freeze({ inode: 4026531836, mountId: 22, nextPid: 0 });

export interface Proc {
  pid: number;
  ppid: number;
  /** Its pid namespace, and its pid there. */
  ns: PidNs;
  nsPid: number;
  parent: Proc | null;
  depth: number;
  image: Image;
  comm: string;
  creds: Readonly<Credentials>;
  tty: string;
  containerId: string;
  cgroup: string;
  cpu: number;
  /** The process that adopts orphans of this one: its pid namespace's init. */
  reaper: Proc | null;
  kids: Proc[] | null;
  /** Position in the parent's kids. */
  kidAt: number;
  /** Position in the live list; -1 once exited. */
  liveAt: number;
  /** Exec'd since its fork. */
  execd: boolean;
  /** Boot process: never exits, never execs again. */
  daemon: boolean;
}

/** Events that concern processes (the ones that may be dropped or swapped). */
export type PidEvent = ForkEvent | ExecEvent | ExitEvent | CredsEvent | RenameEvent | ReparentEvent;

/** Credentials after exec'ing `bin`: set-id bits, fsuid = euid, root's capabilities. */
export function execCredentials(c: Readonly<Credentials>, bin: Binary): Readonly<Credentials> {
  const euid = bin.setuidRoot ? 0 : c.euid;
  const egid = bin.setgid >= 0 ? bin.setgid : c.egid;
  const capPermitted = c.uid === 0 || euid === 0 ? CAP_FULL : 0n;
  const capEffective = euid === 0 ? capPermitted : 0n;
  if (
    euid === c.euid && egid === c.egid && c.fsuid === euid && c.fsgid === egid &&
    capPermitted === c.capPermitted && capEffective === c.capEffective
  ) {
    return c;
  }
  return Object.freeze({ ...c, euid, egid, fsuid: euid, fsgid: egid, capEffective, capPermitted });
}
