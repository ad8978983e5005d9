// Small shared helpers of the unit tests of docs/cache.md.

import type { ProcessEntry, ProcessResolver } from '../../src/index.js';

/** Seconds as bigint nanoseconds. */
export function sec(s: number): bigint {
  return BigInt(Math.round(s * 1e9));
}

/** `entry` and its ancestors, nearest first. */
export function chainOf(entry: ProcessEntry | undefined): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (let e = entry; e; e = e.ancestor) out.push(e);
  return out;
}

/** The identity of an entry instance (docs/cache.md: pid, forkTime, execTime). */
export function idOf(e: ProcessEntry | undefined): string | undefined {
  return e && `${e.pid}:${e.forkTime}:${e.execTime}`;
}

/** Forks pid 1 from the kernel (ppid 0) and execs /sbin/init in it. */
export function bootInit(r: ProcessResolver, time = 1n): ProcessEntry {
  r.addForkEntry({ pid: 1, ppid: 0, time });
  return r.addExecEntry({ pid: 1, time: time + 1n, path: '/sbin/init', inode: 1, argv: ['/sbin/init'] })!;
}

/** Full credentials with every id set to `id`. */
export function creds(id: number, caps = 0n) {
  return {
    uid: id,
    gid: id,
    euid: id,
    egid: id,
    fsuid: id,
    fsgid: id,
    auid: id,
    capEffective: caps,
    capPermitted: caps,
  };
}
