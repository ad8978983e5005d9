// pid 1 added by an exec with ppid 0 (issue 13, point 3): a child of the
// kernel misses no parent, as for a fork. docs/cache.md, "Exec".

import { describe, expect, it } from 'vitest';
import { EbpflessResolver, ProcessResolver } from '../../src/index.js';

describe('an exec with no previous entry and ppid 0', () => {
  it('pid 1 from addExecEntry is not parent-missing and lineages through it are valid', () => {
    const r = new ProcessResolver({ capacity: 64 });
    const init = r.addExecEntry({ pid: 1, ppid: 0, time: 1n, path: '/sbin/init', inode: 1, argv: ['/sbin/init'] })!;
    expect(init.isParentMissing).toBe(false);
    expect(r.hasValidLineage(init)).toEqual({ ok: true });
    r.addForkEntry({ pid: 50, ppid: 1, time: 2n });
    const sh = r.addExecEntry({ pid: 50, time: 3n, path: '/bin/sh', inode: 2 })!;
    expect(r.hasValidLineage(sh)).toEqual({ ok: true });
    expect(r.stats().brokenLineage).toBe(0);
  });

  it('an exec that does not give its ppid still misses its parent', () => {
    const r = new ProcessResolver({ capacity: 64 });
    const e = r.addExecEntry({ pid: 70, time: 1n, path: '/bin/x', inode: 3 })!;
    expect(e.isParentMissing).toBe(true);
    expect(e.ppid).toBe(0);
    expect(r.hasValidLineage(e)).toMatchObject({ ok: false, reason: 'missing-parent-node' });
  });

  it('an exec with a ppid the cache does not know misses its parent', () => {
    const r = new ProcessResolver({ capacity: 64 });
    expect(r.addExecEntry({ pid: 70, ppid: 9, time: 1n, path: '/bin/x', inode: 3 })!.isParentMissing).toBe(true);
  });

  it('the same for EbpflessResolver (the init of a namespace)', () => {
    const r = new EbpflessResolver({ capacity: 64 });
    const init = r.addExecEntry({ pid: 1, nsid: 4026531836 }, { ppid: 0, time: 1n, path: '/sbin/init', argv: ['init'] })!;
    expect(init.isParentMissing).toBe(false);
  });
});
