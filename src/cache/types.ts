// Public output shapes of the process cache: what a reader gets back
// (ProcessEntry and the values it holds). One definition, used by the
// embedded ProcessResolver, the EbpflessResolver and ProcessView. The input
// shapes (ForkInput, ExecInput, ...) are events: src/record/events.ts.

import type { Credentials } from '../record/events.js';

/** Credentials of a ProcessEntry: the numbers, and the names resolved at read time. */
export interface EntryCredentials extends Credentials {
  /** Name of `uid`, '' when it has none. */
  user: string;
  /** Name of `gid`, '' when it has none. */
  group: string;
  /** Name of `euid`, '' when it has none. */
  euser: string;
  /** Name of `egid`, '' when it has none. */
  egroup: string;
  /** Name of `fsuid`, '' when it has none. */
  fsuser: string;
  /** Name of `fsgid`, '' when it has none. */
  fsgroup: string;
}

/**
 * Where a process lives: its pid namespace (by inode, as /proc/<pid>/ns/pid
 * shows it), its pid in that namespace, the mount its executable is on, and
 * its cgroup v2 id (the inode of its directory under /sys/fs/cgroup). 0 (0n)
 * is unknown.
 */
export interface EntryNamespaces {
  pidnsInode: number;
  nsPid: number;
  mountId: number;
  cgroupId: bigint;
}

export type EntrySource = 'event' | 'snapshot' | 'procfs';

/** One image of one process, as read from the cache: an immutable snapshot. */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly forkTime: bigint;
  readonly execTime: bigint;
  /** 0n while running. */
  readonly exitTime: bigint;
  /**
   * The three times as wall-clock ms since the Unix epoch (`new Date(ms)`):
   * the boot-clock ns plus the host's boot time, read once. 0 where the
   * boot-clock time is 0n.
   */
  readonly forkTimeWall: number;
  readonly execTimeWall: number;
  readonly exitTimeWall: number;
  readonly exitCode: number;
  readonly path: string;
  /** The path was cut (by the kernel's bounded walk, or by PATH_MAX here): not the whole path. */
  readonly pathTruncated: boolean;
  readonly basename: string;
  readonly inode: number;
  readonly comm: string;
  /** Raw argv: use getProcessArgvScrubbed() for anything shown to people. */
  readonly argv: readonly string[];
  readonly argsTruncated: boolean;
  readonly envsTruncated: boolean;
  readonly credentials: Readonly<EntryCredentials>;
  readonly tty: string;
  readonly containerId: string;
  readonly cgroup: string;
  readonly interpreter: string;
  /**
   * The path the image was started by when it is not `path`: a symlink to
   * the executable (/usr/bin/python3 for /usr/bin/python3.11, a busybox
   * applet); '' otherwise. isThroughSymlink(entry).
   */
  readonly symlinkPath: string;
  readonly isExec: boolean;
  readonly isExecExec: boolean;
  readonly isParentMissing: boolean;
  /**
   * A reader of a sharded pipeline read this entry before the shard of its
   * parent had applied the link to it (within the router-to-worker lag):
   * `ancestor` is undefined for now, not missing; resolve again for the
   * whole chain. Always false from ProcessResolver.
   */
  readonly lineageIncomplete: boolean;
  readonly source: EntrySource;
  /** Pid namespace id (EbpflessResolver keys); 0 in ProcessResolver. */
  readonly pidns: number;
  /** Pid namespace, pid in it, mount of the executable and cgroup id, as the events gave them (0 = unknown). */
  readonly namespaces: Readonly<EntryNamespaces>;
  /** The entry this one came from (fork parent or previous exec image), or undefined. */
  readonly ancestor: ProcessEntry | undefined;
}

export interface ValuesWithTruncation {
  values: string[];
  truncated: boolean;
}

export type LineageResult =
  | { ok: true }
  | {
      ok: false;
      reason: 'missing-parent-node' | 'wrong-parent-node' | 'incomplete-lineage';
      pid: number;
      ppid: number;
    };

/** A resolver's counters and levels (ProcessResolver.stats(), EbpflessResolver.stats()). */
export interface ResolverStats {
  cacheSize: number;
  rows: number;
  rowCapacity: number;
  bytesPerRow: number;
  strings: { count: number; bytes: number };
  hits: { event: number; snapshot: number; procfs: number };
  misses: number;
  added: { event: number; snapshot: number; procfs: number };
  flushed: number;
  evicted: number;
  pidReuse: number;
  execBombs: number;
  exitMisses: number;
  updateMisses: number;
  brokenLineage: number;
  reparent: { success: number; failed: number };
  inodeErrors: { forkInodeMismatch: number; execPrevInodeMismatch: number };
  argsTruncated: number;
  envsTruncated: number;
  pathTruncated: number;
  rejected: { pid0: number; kernelThread: number; tableFull: number; badPid: number };
  stringsFull: number;
  /** Exits refused for being earlier than the fork of the entry they name. */
  exitBeforeFork: number;
  /** Contexts (tty, container id, cgroup) cut to fit the string table: the cgroup path gives way. */
  ctxTruncated: number;
  procfs: { attempts: number; success: number; failed: number; rateLimited: number };
  snapshot: { processes: number; vanished: number; kernelThreads: number };
}
