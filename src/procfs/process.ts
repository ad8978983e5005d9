// A process as read from /proc (ProcfsProcess), what the cache makes of it
// (procfsExecInput), and the order a snapshot inserts processes in
// (orderParentsFirst: parents before children).

import type { Credentials, ExecInput } from '../record/events.js';

export interface ProcfsProcess {
  /** Host-view pid: the /proc/<pid> directory name. */
  pid: number;
  /** stat field 4. */
  ppid: number;
  /** The pid as seen in its own pid namespace (last value of NSpid:); = pid when absent. */
  nspid: number;
  /** Inode number of the pid namespace (ns/pid -> "pid:[N]"); 0 when unreadable. */
  pidns: number;
  /** stat field 22 (starttime) in nanoseconds since boot. */
  startTime: bigint;
  /** Raw bytes of the exe link, " (deleted)" removed; empty when unreadable. */
  path: Uint8Array;
  /** The exe link ended in " (deleted)". */
  pathDeleted: boolean;
  /** st_ino of the executable (through the exe link, works for deleted files); 0 when unreadable. */
  inode: number;
  /** /proc/<pid>/comm without its newline (the comm of stat when comm cannot be read). */
  comm: string;
  /** cmdline split on NUL, raw bytes; [] when unreadable or empty (zombies). */
  argv: Uint8Array[];
  /** environ split on NUL, only when `envs` was asked; [] when unreadable. */
  envp?: Uint8Array[];
  /** uid/gid fields are UNSET_ID and capabilities 0n when status cannot be read; auid is UNSET_ID when unset or unreadable. */
  credentials: Credentials;
  /** Controlling terminal ('pts/3', 'ttyS0', ...); '' for none. */
  tty: string;
  /** cgroup v2 path ("0::<path>"), else the first line's path; '' when unreadable. */
  cgroup: string;
  /**
   * cgroup v2 id: the inode of the cgroup's directory under the cgroup2
   * mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid layout):
   * the kernfs node id, what bpf_get_current_cgroup_id() gives; 0n when
   * unknown (no "0::" line, no cgroup v2 mount there, a path outside our
   * cgroup namespace, or gone).
   */
  cgroupId: bigint;
  /** 64-hex container id found in the cgroup path; '' when none. */
  containerId: string;
  /** PF_KTHREAD, or kthreadd (pid 2), or a child of kthreadd. */
  kernelThread: boolean;
  /** The path it was started by, when that is a symlink to its executable (argv[0] resolved, read.ts); '' otherwise. */
  symlinkPath?: string;
}

/**
 * A process read from /proc as an exec input of the cache: its image, argv,
 * credentials and context at `time` (its start time unless given). `pid` and
 * `ppid` may be replaced by namespaced ones.
 */
export function procfsExecInput(p: ProcfsProcess, time = p.startTime, pid = p.pid, ppid = p.ppid): ExecInput {
  return {
    pid,
    ppid,
    time,
    path: p.path,
    inode: p.inode,
    argv: p.argv,
    envp: p.envp,
    comm: p.comm,
    credentials: p.credentials,
    tty: p.tty,
    containerId: p.containerId,
    cgroup: p.cgroup,
    pidnsInode: p.pidns,
    nsPid: p.pidns === 0 ? 0 : p.nspid, // a pid in an unknown namespace says nothing
    cgroupId: p.cgroupId,
    symlinkPath: p.symlinkPath || undefined,
  };
}

export interface ProcfsScan {
  /** User processes, parents before children; siblings (and roots) by startTime then pid. */
  processes: ProcfsProcess[];
  /** Pids listed but gone before they could be read. */
  vanished: number;
  /** Kernel threads, skipped. */
  kernelThreads: number;
}

/**
 * Orders processes parents before children: roots (parent not in the list)
 * first, each followed by its subtree; siblings by startTime then pid.
 * A "parent" that started after its child holds a reused pid (the real
 * parent is gone): the child counts as a root.
 */
export function orderParentsFirst(processes: readonly ProcfsProcess[]): ProcfsProcess[] {
  const byPid = new Map<number, ProcfsProcess>();
  for (const p of processes) byPid.set(p.pid, p);
  const sorted = [...processes].sort(byStartThenPid);
  const roots: ProcfsProcess[] = [];
  const children = new Map<number, ProcfsProcess[]>();
  for (const p of sorted) {
    const parent = byPid.get(p.ppid);
    if (parent === undefined || parent === p || parent.startTime > p.startTime) {
      roots.push(p);
      continue;
    }
    const list = children.get(p.ppid);
    if (list === undefined) children.set(p.ppid, [p]);
    else list.push(p);
  }
  const out: ProcfsProcess[] = [];
  const seen = new Set<number>();
  const stack: ProcfsProcess[] = [];
  const visit = (root: ProcfsProcess): void => {
    stack.push(root);
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      out.push(p);
      const kids = children.get(p.pid);
      // Pushed in reverse so the earliest sibling is visited first.
      if (kids !== undefined) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
  };
  for (const r of roots) visit(r);
  // A ppid cycle (pid reuse within one clock tick during the scan) has no root: break it in start order.
  if (out.length < byPid.size) for (const p of sorted) if (!seen.has(p.pid)) visit(p);
  return out;
}

function byStartThenPid(a: ProcfsProcess, b: ProcfsProcess): number {
  if (a.startTime !== b.startTime) return a.startTime < b.startTime ? -1 : 1;
  return a.pid - b.pid;
}
