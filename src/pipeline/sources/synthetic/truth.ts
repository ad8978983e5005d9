// The truth of a synthetic stream: what the simulated host holds at the end
// and how many of each operation it did, for tests to compare a cache with.

import type { Proc } from './model.js';

export interface SyntheticTruth {
  /** Every live process at the end of the simulation (kernel threads excepted). */
  live: Map<number, { ppid: number; path: string; argv: string[]; nsPid: number; pidnsInode: number }>;
  /** Simulated operations, emitted or dropped (boot included, kernel threads excepted). */
  forks: number;
  execs: number;
  exits: number;
  /** Events dropped; equals the sum of the counts of the `lost` events. */
  lost: number;
  /** Orphans given a new parent (one `reparent` event each). */
  reparents: number;
  /** Execs that re-exec'd the current image. */
  execBombs: number;
  /** Kernel-thread forks (kthreadd included). */
  kernelThreads: number;
}

/** The truth of a host whose live processes are `live`, after `counts` operations and `lost` drops. */
export function truthOf(live: readonly Proc[], counts: Omit<SyntheticTruth, 'live' | 'lost'>, lost: number): SyntheticTruth {
  const byPid = new Map<number, { ppid: number; path: string; argv: string[]; nsPid: number; pidnsInode: number }>();
  const procs = [...live].sort((x, y) => x.pid - y.pid);
  for (const p of procs) {
    byPid.set(p.pid, { ppid: p.ppid, path: p.image.bin.path, argv: [...p.image.argv], nsPid: p.nsPid, pidnsInode: p.ns.inode });
  }
  return { live: byPid, ...counts, lost };
}
