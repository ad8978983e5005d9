// EbpflessResolver: the cache keyed by (pid, pid namespace id) (issue point 13).

import { describe, expect, it } from 'vitest';
import { EbpflessResolver } from '../../src/index.js';
import { chainOf } from './helpers.js';

const NS_A = 4026531836;
const NS_B = 4026532500;

describe('EbpflessResolver', () => {
  it('the same namespaced pid in two namespaces is two distinct processes', () => {
    const r = new EbpflessResolver();
    r.addForkEntry({ pid: 1, nsid: NS_A }, 0, 1n);
    r.addForkEntry({ pid: 1, nsid: NS_B }, 0, 2n);
    r.addExecEntry({ pid: 1, nsid: NS_A }, { ppid: 0, time: 3n, path: '/sbin/init', inode: 10, argv: ['init'] });
    r.addExecEntry({ pid: 1, nsid: NS_B }, { ppid: 0, time: 4n, path: '/usr/bin/tini', inode: 20, argv: ['tini'] });
    expect(r.size).toBe(2);
    const a = r.resolve({ pid: 1, nsid: NS_A })!;
    const b = r.resolve({ pid: 1, nsid: NS_B })!;
    expect(a.path).toBe('/sbin/init');
    expect(b.path).toBe('/usr/bin/tini');
    expect(a.pidns).toBe(NS_A);
    expect(b.pidns).toBe(NS_B);
    expect(a.forkTime).toBe(1n);
    expect(b.forkTime).toBe(2n);
    // an exec in one namespace did not chain onto the other's entry
    expect(a.ancestor?.pidns).toBe(NS_A);
    expect(b.ancestor?.pidns).toBe(NS_B);
    expect(r.resolve({ pid: 1, nsid: 999 })).toBeUndefined();
  });

  it('looks parents up in the child\'s namespace only', () => {
    const r = new EbpflessResolver();
    r.addForkEntry({ pid: 7, nsid: NS_A }, 0, 1n);
    r.addExecEntry({ pid: 7, nsid: NS_A }, { ppid: 0, time: 2n, path: '/bin/a', inode: 1 });
    // pid 7 exists only in NS_A: a child of "7" in NS_B has no known parent
    const orphan = r.addForkEntry({ pid: 8, nsid: NS_B }, 7, 3n)!;
    expect(orphan.isParentMissing).toBe(true);
    expect(orphan.ancestor).toBeUndefined();
    expect(orphan.path).toBe('');
    // the same fork in NS_A finds it and inherits its image
    const child = r.addForkEntry({ pid: 8, nsid: NS_A }, 7, 4n)!;
    expect(child.isParentMissing).toBe(false);
    expect(child.ancestor?.pid).toBe(7);
    expect(child.ancestor?.pidns).toBe(NS_A);
    expect(child.path).toBe('/bin/a');
    expect(chainOf(child).every((e) => e.pidns === NS_A)).toBe(true);
    expect(r.size).toBe(3);
  });

  it('updateUser and updateGroup change the credentials of one key only; -1 leaves a field', () => {
    const r = new EbpflessResolver();
    r.addForkEntry({ pid: 5, nsid: NS_A }, 0, 1n);
    r.addForkEntry({ pid: 5, nsid: NS_B }, 0, 2n);
    expect(r.updateUser({ pid: 5, nsid: NS_A }, { uid: 1000, euid: 1001, fsuid: 1002 })).toBe(true);
    expect(r.updateGroup({ pid: 5, nsid: NS_A }, { gid: 2000, egid: -1, fsgid: 2002 })).toBe(true);
    const a = r.resolve({ pid: 5, nsid: NS_A })!.credentials;
    expect([a.uid, a.euid, a.fsuid, a.gid, a.fsgid]).toEqual([1000, 1001, 1002, 2000, 2002]);
    const b = r.resolve({ pid: 5, nsid: NS_B })!.credentials;
    expect(b.uid).not.toBe(1000);
    expect(b.gid).not.toBe(2000);
    // egid was -1: unchanged from the fork
    expect(a.egid).toBe(b.egid);
    expect(r.updateUser({ pid: 6, nsid: NS_A }, { uid: 1 })).toBe(false);
    expect(r.updateGroup({ pid: 5, nsid: 1 }, { gid: 1 })).toBe(false);
  });

  it('deleteEntry removes one key and leaves the same pid of another namespace', () => {
    const r = new EbpflessResolver();
    r.addForkEntry({ pid: 5, nsid: NS_A }, 0, 1n);
    r.addForkEntry({ pid: 5, nsid: NS_B }, 0, 2n);
    r.addForkEntry({ pid: 6, nsid: NS_A }, 5, 3n);
    r.deleteEntry({ pid: 5, nsid: NS_A }, 10n);
    expect(r.resolve({ pid: 5, nsid: NS_A })).toBeUndefined();
    expect(r.resolve({ pid: 5, nsid: NS_B })?.exitTime).toBe(0n);
    expect(r.size).toBe(2);
    // its child still reaches it, ended at the delete time
    const gone = r.resolve({ pid: 6, nsid: NS_A })!.ancestor!;
    expect(gone.pid).toBe(5);
    expect(gone.exitTime).toBe(10n);
    expect(r.stats().flushed).toBe(1);
  });

  it('exec chains, argv scrubbing and envs work per key', () => {
    const r = new EbpflessResolver({ envsResolution: true });
    r.addForkEntry({ pid: 3, nsid: NS_A }, 0, 1n);
    const e = r.addExecEntry(
      { pid: 3, nsid: NS_A },
      { ppid: 0, time: 2n, path: '/bin/app', inode: 9, argv: ['app', '--token=t0k'], envp: ['A=1'], tty: 'pts/2', containerId: 'c1' },
    )!;
    expect(e.isExec).toBe(true);
    expect(e.ancestor?.pid).toBe(3);
    expect(e.tty).toBe('pts/2');
    expect(e.containerId).toBe('c1');
    expect(r.getProcessArgvScrubbed(e).values).toEqual(['app', '--token=********']);
    expect(r.getProcessEnvs(e).values).toEqual(['A']);
    expect(r.getProcessEnvp(e).values).toEqual(['A=1']);
  });

  it('addProcFSEntry inserts a missing key and keeps an already cached one', () => {
    const r = new EbpflessResolver();
    const inserted = r.addProcFSEntry({ pid: 40, nsid: NS_A }, { ppid: 0, time: 5n, path: '/bin/from-proc', inode: 3 })!;
    expect(inserted.path).toBe('/bin/from-proc');
    expect(inserted.source).toBe('procfs');
    r.addExecEntry({ pid: 41, nsid: NS_A }, { ppid: 0, time: 6n, path: '/bin/from-event', inode: 4 });
    const kept = r.addProcFSEntry({ pid: 41, nsid: NS_A }, { ppid: 0, time: 7n, path: '/bin/stale', inode: 5 })!;
    expect(kept.path).toBe('/bin/from-event');
    expect(r.resolve({ pid: 41, nsid: NS_A })?.path).toBe('/bin/from-event');
  });

  it('rejects a key without a valid nsid or pid', () => {
    const r = new EbpflessResolver();
    expect(() => r.addForkEntry({ pid: 1, nsid: -1 }, 0, 1n)).toThrow(/nsid/);
    expect(() => r.addForkEntry({ pid: 1, nsid: 2 ** 32 }, 0, 1n)).toThrow(/nsid/);
    expect(() => r.addForkEntry({ pid: -1, nsid: 1 }, 0, 1n)).toThrow(RangeError);
    expect(() => r.resolve(null as never)).toThrow(TypeError);
    expect(r.size).toBe(0);
    expect(r.stats().rows).toBe(0);
  });
});
