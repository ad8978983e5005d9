// Hand-checked scenarios for the reference model, so that the property test
// does not trust it blindly. Every expected value here is written out from
// docs/cache.md, not computed.

import { describe, expect, it } from 'vitest';
import { boundArgs, ReferenceResolver, UNSET_ID } from './reference-resolver.js';

const creds = {
  uid: 1000,
  gid: 1000,
  euid: 1000,
  egid: 1000,
  fsuid: 1000,
  fsgid: 1000,
  auid: 1000,
  capEffective: 0n,
  capPermitted: 0n,
};

describe('reference model', () => {
  it('fork from an unknown parent, exec, fork a child, exit and flush after retention', () => {
    const r = new ReferenceResolver();
    // A shell whose parent we never saw.
    const sh = r.addForkEntry({ pid: 10, ppid: 1, time: 100n, inode: 7, path: '/bin/sh', comm: 'sh', credentials: creds, tty: 'pts0' })!;
    expect(sh).toMatchObject({
      pid: 10, ppid: 1, forkTime: 100n, execTime: 0n, exitTime: 0n, path: '/bin/sh', basename: 'sh',
      inode: 7, comm: 'sh', argv: [], isExec: false, isExecExec: false, isParentMissing: true, tty: 'pts0',
      ancestor: undefined,
    });
    expect(sh.credentials.uid).toBe(1000);

    // The shell forks 11, which execs a long-named binary.
    const child = r.addForkEntry({ pid: 11, ppid: 10, time: 200n, inode: 7 })!;
    expect(child).toMatchObject({ pid: 11, ppid: 10, forkTime: 200n, execTime: 0n, path: '/bin/sh', comm: 'sh', tty: 'pts0', isParentMissing: false, isExec: false });
    expect(child.ancestor).toBe(sh);

    const ex = r.addExecEntry({ pid: 11, time: 300n, path: '/usr/bin/a-very-long-binary-name', inode: 9, prevInode: 7, argv: ['a-very-long-binary-name', '-x'], credentials: { euid: 0 } })!;
    expect(ex).toMatchObject({
      pid: 11, ppid: 10, forkTime: 200n, execTime: 300n, exitTime: 0n, inode: 9,
      comm: 'a-very-long-bin', basename: 'a-very-long-binary-name', argv: ['a-very-long-binary-name', '-x'],
      isExec: true, isExecExec: false, isParentMissing: false, tty: 'pts0',
    });
    expect(ex.credentials).toMatchObject({ uid: 1000, euid: 0, auid: 1000 });
    expect(ex.ancestor).toBe(child);
    expect(child.exitTime).toBe(300n);
    expect(ex.ancestor!.ancestor).toBe(sh);

    // 11 exits: still resolvable until 5 s have passed since its exit.
    expect(r.applyExitEntry({ pid: 11, time: 1_000n, exitCode: 3 })).toBe(true);
    expect(r.resolve(11)).toMatchObject({ exitTime: 1_000n, exitCode: 3 });
    r.addForkEntry({ pid: 12, ppid: 10, time: 5_000_000_999n });
    expect(r.dequeueExited()).toBe(0);
    expect(r.resolve(11)).toBe(ex);
    r.addForkEntry({ pid: 13, ppid: 10, time: 5_000_001_000n });
    expect(r.dequeueExited()).toBe(1);
    expect(r.resolve(11)).toBeUndefined();
    expect(r.size).toBe(3); // 10, 12, 13
    expect(r.applyExitEntry({ pid: 11, time: 5_000_001_001n })).toBe(false);
    expect(r.stats.exitMisses).toBe(1);
  });

  it('fork with an inode mismatch keeps the link, takes the event inode and path, and none of the parent\'s image', () => {
    const r = new ReferenceResolver();
    const p = r.addForkEntry({ pid: 5, ppid: 1, time: 1n, inode: 7, path: '/bin/sh' })!;
    const c = r.addForkEntry({ pid: 6, ppid: 5, time: 2n, inode: 8, path: '/bin/bash', comm: 'bash' })!;
    expect(c).toMatchObject({ inode: 8, path: '/bin/bash', basename: 'bash', comm: 'bash', isParentMissing: true });
    expect(c.ancestor).toBe(p);
    const d = r.addForkEntry({ pid: 7, ppid: 5, time: 3n, inode: 8 })!;
    expect(d).toMatchObject({ inode: 8, path: '', comm: '', argv: [], isParentMissing: true });
    expect(r.stats.forkInodeMismatch).toBe(2);
  });

  it('a fork with ppid 0 (started by the kernel) has no parent to miss', () => {
    const r = new ReferenceResolver();
    expect(r.addForkEntry({ pid: 1, ppid: 0, time: 1n, path: '/sbin/init' })).toMatchObject({ isParentMissing: false, ancestor: undefined, comm: '', basename: 'init' });
  });

  it('pid reuse ends the old instance at the fork time', () => {
    const r = new ReferenceResolver();
    const old = r.addForkEntry({ pid: 5, ppid: 1, time: 1n })!;
    const fresh = r.addForkEntry({ pid: 5, ppid: 1, time: 9n })!;
    expect(old.exitTime).toBe(9n);
    expect(r.resolve(5)).toBe(fresh);
    expect(fresh.ancestor).toBeUndefined();
    expect(r.stats.pidReuse).toBe(1);
    expect(r.size).toBe(1);
  });

  it('rejects pid 0 and kernel threads', () => {
    const r = new ReferenceResolver();
    expect(r.addForkEntry({ pid: 0, ppid: 1, time: 1n })).toBeUndefined();
    expect(r.addForkEntry({ pid: 2, ppid: 0, time: 1n })).toBeUndefined();
    expect(r.addForkEntry({ pid: 30, ppid: 2, time: 1n })).toBeUndefined();
    expect(r.addForkEntry({ pid: 31, ppid: 1, time: 1n, kernelThread: true })).toBeUndefined();
    expect(r.addExecEntry({ pid: 0, time: 1n, path: '/x', inode: 1 })).toBeUndefined();
    expect(r.size).toBe(0);
    expect(r.stats.rejected).toBe(5);
  });

  it('exec bomb only moves execTime; exec-of-exec chains', () => {
    const r = new ReferenceResolver();
    const f = r.addForkEntry({ pid: 5, ppid: 1, time: 1n })!;
    const e1 = r.addExecEntry({ pid: 5, time: 2n, path: '/bin/x', inode: 3, argv: ['x'] })!;
    expect(e1).toMatchObject({ isExec: true, isExecExec: false, forkTime: 1n, ppid: 1, isParentMissing: false });
    expect(e1.credentials.uid).toBe(UNSET_ID);
    expect(e1.credentials.capEffective).toBe(0n);
    expect(r.addExecEntry({ pid: 5, time: 4n, path: '/bin/x', inode: 3, argv: ['x'] })).toBe(e1);
    expect(e1.execTime).toBe(4n);
    expect(e1.exitTime).toBe(0n);
    expect(r.stats.execBombs).toBe(1);
    // Different argv: a new image, exec of an exec.
    const e2 = r.addExecEntry({ pid: 5, ppid: 77, time: 5n, path: '/bin/x', inode: 3, argv: ['x', 'y'] })!;
    expect(e2).toMatchObject({ isExecExec: true, ppid: 77, forkTime: 1n, execTime: 5n });
    expect(e2.ancestor).toBe(e1);
    expect(e1.exitTime).toBe(5n);
    expect(e1.ancestor).toBe(f);
    // Different credentials: not a bomb either.
    const e3 = r.addExecEntry({ pid: 5, time: 6n, path: '/bin/x', inode: 3, argv: ['x', 'y'], credentials: { uid: 0 } })!;
    expect(e3).not.toBe(e2);
    expect(e3.credentials.uid).toBe(0);
    expect(e3.ppid).toBe(77);
  });

  it('an exec of an exited pid is a new instance (lost fork), not an image of the exited one', () => {
    const r = new ReferenceResolver();
    const old = r.addForkEntry({ pid: 5, ppid: 1, time: 1n })!;
    expect(r.applyExitEntry({ pid: 5, time: 2n, exitCode: 1 })).toBe(true);
    expect(r.applyExitEntry({ pid: 5, time: 3n, exitCode: 2 })).toBe(true);
    expect(old).toMatchObject({ exitTime: 2n, exitCode: 1 });
    const e = r.addExecEntry({ pid: 5, time: 4n, path: '/bin/ls', inode: 4 })!;
    expect(e).toMatchObject({ forkTime: 4n, ppid: 0, isParentMissing: true, isExecExec: false, ancestor: undefined, exitTime: 0n });
    expect(old.exitTime).toBe(2n);
    expect(r.stats.pidReuse).toBe(1);
    expect(r.size).toBe(1);
  });

  it('exec with no previous entry, and a prevInode mismatch', () => {
    const r = new ReferenceResolver();
    const e = r.addExecEntry({ pid: 8, time: 10n, path: '/bin/ls', inode: 4 })!;
    expect(e).toMatchObject({ ppid: 0, forkTime: 10n, execTime: 10n, isParentMissing: true, isExec: true, ancestor: undefined, comm: 'ls' });
    const e2 = r.addExecEntry({ pid: 8, time: 11n, path: '/bin/cat', inode: 5, prevInode: 99 })!;
    expect(e2).toMatchObject({ isParentMissing: true, forkTime: 10n });
    expect(e2.ancestor).toBe(e);
    expect(r.stats.execPrevInodeMismatch).toBe(1);
    // Looks like an exec bomb of e2, but the kernel ran another image in between.
    const e3 = r.addExecEntry({ pid: 8, time: 12n, path: '/bin/cat', inode: 5, prevInode: 6 })!;
    expect(e3).not.toBe(e2);
    expect(e3).toMatchObject({ isParentMissing: true, isExecExec: true, execTime: 12n });
    expect(e2.execTime).toBe(11n);
    expect(r.stats.execBombs).toBe(0);
  });

  it('fork copies the parent and lets the event override comm, credentials, tty, container and cgroup', () => {
    const r = new ReferenceResolver();
    r.addForkEntry({ pid: 5, ppid: 1, time: 1n, cgroup: '/a', containerId: 'c1', tty: 't' });
    r.addExecEntry({ pid: 5, time: 2n, path: '/bin/x', inode: 3, argv: ['x', '1'], credentials: creds, interpreter: '/bin/sh' });
    const c = r.addForkEntry({ pid: 6, ppid: 5, time: 3n, comm: 'worker', credentials: { uid: 0 }, cgroup: '/b' })!;
    expect(c).toMatchObject({
      path: '/bin/x', inode: 3, argv: ['x', '1'], execTime: 2n, comm: 'worker', cgroup: '/b', containerId: 'c1', tty: 't',
      interpreter: '/bin/sh', isExec: false, isParentMissing: false,
    });
    expect(c.credentials).toMatchObject({ uid: 0, euid: 1000, auid: 1000 });
  });

  it('credential updates change the current entry in place; -1 keeps a field', () => {
    const r = new ReferenceResolver();
    expect(r.updateUid(5, { uid: 1 })).toBe(false);
    r.addForkEntry({ pid: 5, ppid: 1, time: 1n, credentials: creds });
    expect(r.updateUid(5, { uid: 0, euid: -1 })).toBe(true);
    expect(r.updateGid(5, { gid: -1, egid: 5 })).toBe(true);
    expect(r.updateCapset(5, { effective: 3n, permitted: 7n })).toBe(true);
    expect(r.updateLoginUid(5, 42)).toBe(true);
    expect(r.resolve(5)!.credentials).toEqual({ ...creds, uid: 0, egid: 5, capEffective: 3n, capPermitted: 7n, auid: 42 });
  });

  it('deleteEntry flushes at once; the flushed entry stays reachable as an ancestor', () => {
    const r = new ReferenceResolver();
    const p = r.addForkEntry({ pid: 5, ppid: 1, time: 1n })!;
    const c = r.addForkEntry({ pid: 6, ppid: 5, time: 2n })!;
    expect(r.deleteEntry(5, 3n)).toBe(true);
    expect(r.resolve(5)).toBeUndefined();
    expect(p.exitTime).toBe(3n);
    expect(r.resolve(6)!.ancestor).toBe(p);
    expect(c.ancestor).toBe(p);
    expect(r.stats.flushed).toBe(1);
  });

  it('argv is bounded to maxArgvBytes counting one NUL per argument', () => {
    expect(boundArgs(['abc', 'de'], 7, false)).toEqual({ values: ['abc', 'de'], truncated: false });
    expect(boundArgs(['abc', 'def'], 7, false)).toEqual({ values: ['abc', 'de'], truncated: true });
    expect(boundArgs(['abc', 'd', 'e'], 6, false)).toEqual({ values: ['abc', 'd'], truncated: true });
    expect(boundArgs(['abc', 'd'], 5, false)).toEqual({ values: ['abc'], truncated: true });
    expect(boundArgs(['abc'], 100, true)).toEqual({ values: ['abc'], truncated: true });
    const r = new ReferenceResolver();
    const e = r.addExecEntry({ pid: 5, time: 1n, path: '/x', inode: 1, argv: ['a'.repeat(3000), 'b'.repeat(2000)] })!;
    expect(e.argsTruncated).toBe(true);
    expect(e.argv.map((a) => a.length)).toEqual([3000, 4096 - 3001 - 1]);
  });
});
