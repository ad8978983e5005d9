// An exec that reports a new parent (issue 13, point 2): the pid an entry's
// chain reaches first is its ppid, or the entry says it is broken.
// docs/cache.md, "Exec".

import { describe, expect, it } from 'vitest';
import { ProcessResolver, type ProcessEntry } from '../../src/index.js';
import { bootInit } from './helpers.js';

/** The first pid other than the entry's own that its chain reaches. */
function firstParentPid(e: ProcessEntry): number | undefined {
  for (let up = e.ancestor; up; up = up.ancestor) if (up.pid !== e.pid) return up.pid;
  return undefined;
}

/** The oldest entry of the exec chain of e (the one its fork made). */
function forkEnd(e: ProcessEntry): ProcessEntry {
  let at = e;
  while (at.ancestor && at.ancestor.pid === e.pid && at.ancestor.forkTime === e.forkTime) at = at.ancestor;
  return at;
}

function tree() {
  const r = new ProcessResolver({ capacity: 64 });
  bootInit(r);
  r.addForkEntry({ pid: 100, ppid: 1, time: 10n });
  r.addExecEntry({ pid: 100, time: 11n, path: '/bin/sh', inode: 5, argv: ['sh'] });
  r.addForkEntry({ pid: 300, ppid: 1, time: 15n }); // a subreaper, older than 200
  r.addExecEntry({ pid: 300, time: 16n, path: '/usr/bin/reaper', inode: 6, argv: ['reaper'] });
  r.addForkEntry({ pid: 200, ppid: 100, time: 20n });
  return r;
}

describe('exec carrying a new ppid', () => {
  it('relinks the chain to the new parent, counted as a reparent', () => {
    const r = tree();
    const e = r.addExecEntry({ pid: 200, ppid: 300, time: 40n, path: '/bin/true', inode: 7, argv: ['true'] })!;
    expect(e.ppid).toBe(300);
    expect(firstParentPid(e)).toBe(300);
    expect(forkEnd(e).ppid).toBe(300);
    expect(r.hasValidLineage(e)).toEqual({ ok: true });
    expect(r.stats().reparent).toEqual({ success: 1, failed: 0 });
    // the chain is consistent: a later reparent from the kernel works from there
    expect(r.tryReparentFromKernelPPid(200, 100)).toBe(true);
    expect(firstParentPid(r.resolve(200)!)).toBe(100);
  });

  it('an exec bomb with a new ppid follows it too', () => {
    const r = tree();
    r.addExecEntry({ pid: 200, time: 40n, path: '/bin/true', inode: 7, argv: ['true'] });
    const e = r.addExecEntry({ pid: 200, ppid: 300, time: 41n, path: '/bin/true', inode: 7, argv: ['true'] })!;
    expect(r.stats().execBombs).toBe(1);
    expect(r.resolve(200)!.ppid).toBe(300);
    expect(firstParentPid(r.resolve(200)!)).toBe(300);
    expect(e.execTime).toBe(41n);
  });

  it('a new parent the cache does not know: the entry says it is broken, and a later reparent repairs it', () => {
    const r = tree();
    const e = r.addExecEntry({ pid: 200, ppid: 999, time: 40n, path: '/bin/true', inode: 7, argv: ['true'] })!;
    expect(e.ppid).toBe(999);
    expect(firstParentPid(e)).toBeUndefined(); // not the old parent 100
    expect(forkEnd(e).isParentMissing).toBe(true);
    expect(r.hasValidLineage(e)).toMatchObject({ ok: false, reason: 'missing-parent-node', pid: 200, ppid: 999 });
    expect(r.stats().reparent).toEqual({ success: 0, failed: 1 });
    r.addForkEntry({ pid: 999, ppid: 1, time: 50n });
    expect(r.tryReparentFromKernelPPid(200, 999)).toBe(true);
    const now = r.resolve(200)!;
    expect(firstParentPid(now)).toBe(999);
    expect(r.hasValidLineage(now)).toEqual({ ok: true });
  });

  it('an exec with the cached ppid, or none, changes no link and counts nothing', () => {
    const r = tree();
    const a = r.addExecEntry({ pid: 200, ppid: 100, time: 40n, path: '/bin/a', inode: 8 })!;
    const b = r.addExecEntry({ pid: 200, time: 41n, path: '/bin/b', inode: 9 })!;
    expect(firstParentPid(a)).toBe(100);
    expect(b.ppid).toBe(100);
    expect(firstParentPid(b)).toBe(100);
    expect(r.stats().reparent).toEqual({ success: 0, failed: 0 });
  });

  it('refuses a relink that would make a cycle and marks the entry broken instead', () => {
    const r = tree();
    r.addForkEntry({ pid: 400, ppid: 200, time: 45n });
    // 200 claims its own child as parent
    const e = r.addExecEntry({ pid: 200, ppid: 400, time: 46n, path: '/bin/x', inode: 10 })!;
    expect(e.ppid).toBe(400);
    expect(forkEnd(e).isParentMissing).toBe(true);
    expect(r.stats().reparent).toEqual({ success: 1, failed: 0 }); // the link was made, to no parent at fork time
  });
});

describe('exec carrying a ppid younger than the process', () => {
  it('does not link to a parent that forked after the child: the cached instance is stale, the entry says it is broken', () => {
    const r = new ProcessResolver({ capacity: 64 });
    bootInit(r);
    r.addForkEntry({ pid: 200, ppid: 1, time: 20n });
    r.addForkEntry({ pid: 500, ppid: 1, time: 30n }); // younger than 200's fork
    const e = r.addExecEntry({ pid: 200, ppid: 500, time: 40n, path: '/bin/x', inode: 10 })!;
    expect(e.ppid).toBe(500);
    expect(firstParentPid(e)).toBeUndefined();
    expect(forkEnd(e).isParentMissing).toBe(true);
  });
});
