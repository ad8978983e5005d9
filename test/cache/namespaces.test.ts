// Namespaces, cgroup id and the path-truncated flag: docs/cache.md
// "Namespaces and cgroup" — given as a whole, inherited at fork without the
// pid, kept at exec without the mount, reference-counted with the rows.

import { describe, expect, it } from 'vitest';
import { ProcessResolver, ProcessView } from '../../src/index.js';
import { readNamespaces } from '../../src/cache/namespaces.js';
import type { ForkEvent, ExecEvent } from '../../src/record/events.js';
import { F_PATH_TRUNCATED, F_PARENT_MISSING, F_REPARENTED } from '../../src/cache/table.js';
import { bootInit } from './helpers.js';

const HOST = 4026531836;
const CHILD_NS = 4026532600;
const CG = 0x1_0000_0a0bn;

/** Pid 100 running /usr/bin/app on mount 29, pid 1 of pid namespace CHILD_NS, in cgroup CG. */
function withParent() {
  const r = new ProcessResolver();
  bootInit(r);
  r.addForkEntry({ pid: 100, ppid: 1, time: 10n });
  const parent = r.addExecEntry({
    pid: 100, time: 20n, path: '/usr/bin/app', inode: 7, argv: ['app'],
    pidnsInode: CHILD_NS, nsPid: 1, mountId: 29, cgroupId: CG,
  })!;
  return { r, parent };
}

const ns = (pidnsInode: number, nsPid: number, mountId: number, cgroupId: bigint) => ({ pidnsInode, nsPid, mountId, cgroupId });

describe('namespaces and cgroup of an entry', () => {
  it('an exec that gives them sets all four; an entry that never got them has all four 0', () => {
    const { r, parent } = withParent();
    expect(parent.namespaces).toEqual(ns(CHILD_NS, 1, 29, CG));
    expect(r.resolve(1)!.namespaces).toEqual(ns(0, 0, 0, 0n));
    expect(Object.isFrozen(parent.namespaces)).toBe(true);
  });

  it('a fork that does not give them inherits the parent\'s namespace, mount and cgroup, but not its pid (0: unknown)', () => {
    const { r } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n })!;
    expect(child.namespaces).toEqual(ns(CHILD_NS, 0, 29, CG));
    // and a grandchild inherits the same
    expect(r.addForkEntry({ pid: 102, ppid: 101, time: 31n })!.namespaces).toEqual(ns(CHILD_NS, 0, 29, CG));
  });

  it('a fork that gives any of them takes the four as a whole (a 0 it gives stays unknown)', () => {
    const { r } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n, nsPid: 2 })!;
    expect(child.namespaces).toEqual(ns(0, 2, 0, 0n));
    const other = r.addForkEntry({ pid: 103, ppid: 100, time: 32n, pidnsInode: HOST, nsPid: 103, mountId: 22, cgroupId: 5n })!;
    expect(other.namespaces).toEqual(ns(HOST, 103, 22, 5n));
    // zeros are "not given": inherited
    expect(r.addForkEntry({ pid: 104, ppid: 100, time: 33n, nsPid: 0, cgroupId: 0n })!.namespaces).toEqual(ns(CHILD_NS, 0, 29, CG));
  });

  it('processes of one namespace, mount and cgroup whose nsPid is their pid share one interned tuple, and read their own nsPid', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const strings = () => r.table.strings.count;
    r.addForkEntry({ pid: 200, ppid: 1, time: 10n, pidnsInode: HOST, nsPid: 200, mountId: 22, cgroupId: 5n });
    const before = strings();
    for (let pid = 201; pid < 1201; pid++) {
      // API and records alike
      if (pid % 2 === 0) r.addForkEntry({ pid, ppid: 200, time: BigInt(pid), pidnsInode: HOST, nsPid: pid, mountId: 22, cgroupId: 5n });
      else r.applyEvent({ type: 'fork', time: BigInt(pid), cpu: 0, pid, ppid: 200, pidns: 0, execTime: 0n, inode: 0, pidnsInode: HOST, nsPid: pid, mountId: 22, cgroupId: 5n });
    }
    expect(strings()).toBe(before); // no tuple per process
    for (const pid of [201, 700, 1200]) expect(r.resolve(pid)!.namespaces).toEqual(ns(HOST, pid, 22, 5n));
    // an exec that gives nothing keeps the process's own nsPid (and drops the mount, as always)
    r.applyEvent({ type: 'exec', time: 5000n, cpu: 0, pid: 700, ppid: -1, pidns: 0, inode: 4, prevInode: 0, path: '/bin/true' });
    expect(r.resolve(700)!.namespaces).toEqual(ns(HOST, 700, 0, 5n));
    expect(r.addExecEntry({ pid: 702, time: 5001n, path: '/bin/true', inode: 4 })!.namespaces).toEqual(ns(HOST, 702, 0, 5n));
    // also when the nsPid was all it gave
    r.addExecEntry({ pid: 703, time: 5002n, path: '/bin/sh', inode: 5, nsPid: 703 });
    expect(r.addExecEntry({ pid: 703, time: 5003n, path: '/bin/true', inode: 4 })!.namespaces).toEqual(ns(0, 703, 0, 0n));
    // a child that does not give them inherits the namespace but not the pid
    expect(r.addForkEntry({ pid: 2000, ppid: 700, time: 6000n })!.namespaces).toEqual(ns(HOST, 0, 0, 5n));
    // only the nsPid given: still given (not inherited), read back as the pid
    expect(r.addForkEntry({ pid: 2001, ppid: 700, time: 6001n, nsPid: 2001 })!.namespaces).toEqual(ns(0, 2001, 0, 0n));
  });

  it('a fork with an unknown parent has them only when it gives them', () => {
    const r = new ProcessResolver();
    expect(r.addForkEntry({ pid: 50, ppid: 40, time: 1n })!.namespaces).toEqual(ns(0, 0, 0, 0n));
    expect(r.addForkEntry({ pid: 51, ppid: 40, time: 2n, cgroupId: 9n })!.namespaces).toEqual(ns(0, 0, 0, 9n));
  });

  it('an exec that does not give them keeps the namespace, pid and cgroup of the previous image, not its mount', () => {
    const { r } = withParent();
    const next = r.addExecEntry({ pid: 100, time: 40n, path: '/bin/sh', inode: 8, argv: ['sh'] })!;
    expect(next.namespaces).toEqual(ns(CHILD_NS, 1, 0, CG));
    expect(next.ancestor!.namespaces).toEqual(ns(CHILD_NS, 1, 29, CG)); // the previous image keeps its own
    // an exec that gives them replaces them, whatever the previous image had
    const third = r.addExecEntry({ pid: 100, time: 50n, path: '/bin/true', inode: 9, mountId: 31 })!;
    expect(third.namespaces).toEqual(ns(0, 0, 31, 0n));
    // no previous entry: nothing to keep
    expect(r.addExecEntry({ pid: 300, time: 60n, path: '/bin/true', inode: 9 })!.namespaces).toEqual(ns(0, 0, 0, 0n));
  });

  it('the /proc fallback and snapshot path store what they are given', () => {
    const r = new ProcessResolver();
    const table = r.table;
    // through the record path (a snapshot FORK), as the live sources send them
    r.applyEvent({
      type: 'fork', snapshot: true, time: 5n, cpu: 0, pid: 70, ppid: 0, pidns: 0, execTime: 5n, inode: 3, path: '/sbin/x',
      pidnsInode: HOST, nsPid: 70, cgroupId: 77n,
    });
    const e = r.resolve(70)!;
    expect(e.source).toBe('snapshot');
    expect(e.namespaces).toEqual(ns(HOST, 70, 0, 77n));
    expect(table.nsId[table.lookup(70, 0)]).toBeGreaterThan(0);
  });

  it('records and the JS API give the same entries (one apply code)', () => {
    const fork: ForkEvent = {
      type: 'fork', time: 30n, cpu: 0, pid: 101, ppid: 100, pidns: 0, execTime: 0n, inode: 7,
    };
    const exec: ExecEvent = {
      type: 'exec', time: 40n, cpu: 1, pid: 101, ppid: -1, pidns: 0, inode: 8, prevInode: 7, path: 'lib/deep/x', pathTruncated: true,
      argv: ['x'], pidnsInode: CHILD_NS, nsPid: 2, mountId: 30, cgroupId: CG,
    };
    const viaApi = withParent().r;
    viaApi.addForkEntry({ pid: 101, ppid: 100, time: 30n, inode: 7 });
    viaApi.addExecEntry({ pid: 101, time: 40n, path: 'lib/deep/x', pathTruncated: true, inode: 8, prevInode: 7, argv: ['x'],
      pidnsInode: CHILD_NS, nsPid: 2, mountId: 30, cgroupId: CG });
    const viaRecords = withParent().r;
    viaRecords.applyEvent(fork);
    viaRecords.applyEvent(exec);
    const a = viaApi.resolve(101)!;
    const b = viaRecords.resolve(101)!;
    expect(b.namespaces).toEqual(ns(CHILD_NS, 2, 30, CG));
    expect(b.pathTruncated).toBe(true);
    expect(b.ancestor!.namespaces).toEqual(ns(CHILD_NS, 0, 29, CG));
    expect({ ns: a.namespaces, cut: a.pathTruncated, up: a.ancestor!.namespaces }).toEqual({ ns: b.namespaces, cut: b.pathTruncated, up: b.ancestor!.namespaces });
  });

  it('are in toJSON (cgroupId as a decimal string) and on the cursor', () => {
    const { r } = withParent();
    const json = JSON.parse(r.toJSON()) as { entries: { pid: number; namespaces: unknown; pathTruncated: boolean }[] };
    const app = json.entries.filter((e) => e.pid === 100).pop()!;
    expect(app.namespaces).toEqual({ pidnsInode: CHILD_NS, nsPid: 1, mountId: 29, cgroupId: CG.toString() });
    expect(app.pathTruncated).toBe(false);
    const c = ProcessView.attach(r.table.handles).cursor();
    expect(c.seek(100)).toBe(true);
    expect(readNamespaces(r.table.strings, c.nsId)).toEqual(ns(CHILD_NS, 1, 29, CG));
  });

  it('reject bad values naming the field, and change nothing', () => {
    const { r } = withParent();
    const before = r.stats();
    expect(() => r.addForkEntry({ pid: 101, ppid: 100, time: 30n, nsPid: -1 })).toThrow(/fork\.nsPid must be in 0\.\.4294967295/);
    expect(() => r.addForkEntry({ pid: 101, ppid: 100, time: 30n, pidnsInode: 1.5 })).toThrow(TypeError);
    expect(() => r.addExecEntry({ pid: 100, time: 40n, path: '/x', inode: 1, cgroupId: 5 as unknown as bigint })).toThrow(/exec\.cgroupId must be a bigint/);
    expect(() => r.addExecEntry({ pid: 100, time: 40n, path: '/x', inode: 1, cgroupId: 1n << 64n })).toThrow(RangeError);
    expect(() => r.addExecEntry({ pid: 100, time: 40n, path: '/x', inode: 1, pathTruncated: 1 as unknown as boolean })).toThrow(/pathTruncated must be a boolean/);
    expect(r.stats()).toEqual(before);
  });
});

describe('pathTruncated', () => {
  it('is the exec\'s flag, is inherited at fork with the path, and follows the path a fork gives on an inode mismatch', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 100, ppid: 1, time: 10n });
    const cut = r.addExecEntry({ pid: 100, time: 20n, path: 'c/d/app', pathTruncated: true, inode: 7 })!;
    expect(cut.pathTruncated).toBe(true);
    expect(r.table.flags[r.table.lookup(100, 0)]! & F_PATH_TRUNCATED).toBe(F_PATH_TRUNCATED);
    expect(r.addForkEntry({ pid: 101, ppid: 100, time: 30n })!.pathTruncated).toBe(true);
    // a path given with a matching inode is not used: the parent's (cut) path and flag stay
    expect(r.addForkEntry({ pid: 102, ppid: 100, time: 31n, inode: 7, path: '/full/c/d/app' })!.pathTruncated).toBe(true);
    // another inode: the event's path, and its flag
    const mismatch = r.addForkEntry({ pid: 103, ppid: 100, time: 32n, inode: 8, path: '/usr/bin/other' })!;
    expect(mismatch.path).toBe('/usr/bin/other');
    expect(mismatch.pathTruncated).toBe(false);
    expect(r.table.flags[r.table.lookup(103, 0)]! & (F_PARENT_MISSING | F_REPARENTED)).toBe(F_PARENT_MISSING);
    // an exec without the flag clears it
    expect(r.addExecEntry({ pid: 101, time: 40n, path: '/bin/sh', inode: 9 })!.pathTruncated).toBe(false);
    // a fork with an unknown parent: the flag goes with the path it gives
    expect(r.addForkEntry({ pid: 200, ppid: 150, time: 50n, path: 'x/y', pathTruncated: true })!.pathTruncated).toBe(true);
    expect(r.addForkEntry({ pid: 201, ppid: 150, time: 51n, pathTruncated: true })!.pathTruncated).toBe(false);
  });

  it('is set when the cache itself cuts a path at PATH_MAX', () => {
    const r = new ProcessResolver();
    const e = r.addExecEntry({ pid: 5, time: 1n, path: '/' + 'a'.repeat(5000), inode: 1 })!;
    expect(e.path.length).toBe(4096);
    expect(e.pathTruncated).toBe(true);
    expect(r.stats().pathTruncated).toBe(1);
  });
});

describe('reference counts of the namespace tuples', () => {
  /** Occupancy figures that must come back to their starting values. */
  const occupancy = (r: ProcessResolver) => {
    const s = r.stats();
    return { live: s.cacheSize, rows: s.rows, strings: s.strings.count, stringBytes: s.strings.bytes };
  };

  it('after 200k short-lived processes with their own pid, namespace and cgroup (API and records), the tables are back where they started', () => {
    const r = new ProcessResolver({ capacity: 4096, exitedRetention: 1000n });
    let t = 1n;
    r.addForkEntry({ pid: 1, ppid: 0, time: t++, path: '/sbin/init', inode: 1, pidnsInode: HOST, nsPid: 1, mountId: 20, cgroupId: 1n });
    r.addForkEntry({ pid: 50, ppid: 1, time: t++ });
    r.addExecEntry({ pid: 50, time: t++, path: '/bin/bash', inode: 2, argv: ['bash'], pidnsInode: HOST, nsPid: 50, mountId: 20, cgroupId: 2n });
    const start = occupancy(r);
    const unique = new Set<number>();
    for (let n = 0; n < 100_000; n++) {
      const worker = 100 + (n % 20000) * 2;
      const child = worker + 1;
      // API: a fork that inherits (a derived tuple is interned: pid cleared), an exec that gives its own
      r.addForkEntry({ pid: worker, ppid: 50, time: t++ });
      r.addExecEntry({
        pid: worker, time: t++, path: '/usr/bin/make', inode: 3, argv: ['make'],
        pidnsInode: CHILD_NS + (n % 3), nsPid: n + 2, mountId: 21, cgroupId: BigInt(1000 + n),
      });
      // records: a fork that gives all four, an exec that gives none (kept without the mount)
      r.applyEvent({
        type: 'fork', time: t++, cpu: 0, pid: child, ppid: worker, pidns: 0, execTime: 0n, inode: 3,
        pidnsInode: CHILD_NS, nsPid: n + 3, mountId: 21, cgroupId: BigInt(1000 + n),
      });
      r.applyEvent({ type: 'exec', time: t++, cpu: 0, pid: child, ppid: -1, pidns: 0, inode: 4, prevInode: 3, path: '/usr/bin/cc' });
      if (n % 1000 === 0) unique.add(r.table.nsId[r.table.lookup(child, 0)]!);
      r.applyExitEntry({ pid: worker, time: t++ });
      if (n % 3 === 0) r.deleteEntry(worker, t++);
      r.applyEvent({ type: 'exit', time: t++, cpu: 0, pid: child, pidns: 0, exitCode: 0 });
      r.dequeueExited();
    }
    t += 10_000n;
    r.dequeueExited(t);
    expect(unique.size).toBeGreaterThan(50); // the tuples really were distinct strings
    expect(r.stats().rejected.tableFull).toBe(0);
    expect(r.stats().stringsFull).toBe(0);
    expect(occupancy(r)).toEqual(start);
    expect(r.resolve(50)!.namespaces).toEqual(ns(HOST, 50, 20, 2n));
  }, 60_000);

  it('a reset (crashed writer rebuild) drops every tuple', () => {
    const { r } = withParent();
    expect(r.table.strings.count).toBeGreaterThan(1);
    r.table.reset();
    expect(r.table.strings.count).toBe(1);
    expect(r.table.nsId.every((id) => id === 0)).toBe(true);
  });
});
