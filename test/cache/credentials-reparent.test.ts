// Credential updates and reparenting: docs/cache.md "Credentials" and
// "Reparenting" (issue points 6 and 7).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { makeTree } from '../fixtures/fake-proc.js';
import { bootInit, chainOf, creds, idOf } from './helpers.js';

function withProcess() {
  const r = new ProcessResolver();
  bootInit(r);
  r.addForkEntry({ pid: 10, ppid: 1, time: 100n, credentials: { ...creds(1000, 0xffn), auid: 1000 } });
  return r;
}

describe('credential updates', () => {
  it('updateUid sets uid, euid and fsuid; -1 or an absent field leaves a field as it is', () => {
    const r = withProcess();
    expect(r.updateUid(10, { uid: 0, euid: -1 })).toBe(true);
    let c = r.resolve(10)!.credentials;
    expect(c.uid).toBe(0);
    expect(c.euid).toBe(1000);
    expect(c.fsuid).toBe(1000);
    expect(r.updateUid(10, { uid: -1, euid: 5, fsuid: 6 })).toBe(true);
    c = r.resolve(10)!.credentials;
    expect([c.uid, c.euid, c.fsuid]).toEqual([0, 5, 6]);
    // group ids untouched by a uid update
    expect([c.gid, c.egid, c.fsgid]).toEqual([1000, 1000, 1000]);
  });

  it('updateGid sets gid, egid and fsgid; -1 leaves a field as it is', () => {
    const r = withProcess();
    expect(r.updateGid(10, { gid: 4, egid: -1, fsgid: 6 })).toBe(true);
    const c = r.resolve(10)!.credentials;
    expect([c.gid, c.egid, c.fsgid]).toEqual([4, 1000, 6]);
    expect([c.uid, c.euid, c.fsuid]).toEqual([1000, 1000, 1000]);
  });

  it('updateCapset sets the capability masks from bigints', () => {
    const r = withProcess();
    expect(r.updateCapset(10, { effective: 0n, permitted: 0x1_0000_0001n })).toBe(true);
    let c = r.resolve(10)!.credentials;
    expect(c.capEffective).toBe(0n);
    expect(c.capPermitted).toBe(0x1_0000_0001n);
    expect(r.updateCapset(10, { effective: (1n << 64n) - 1n })).toBe(true);
    c = r.resolve(10)!.credentials;
    expect(c.capEffective).toBe((1n << 64n) - 1n);
    expect(c.capPermitted).toBe(0x1_0000_0001n);
  });

  it('updateLoginUid sets the login uid', () => {
    const r = withProcess();
    expect(r.updateLoginUid(10, 4321)).toBe(true);
    expect(r.resolve(10)?.credentials.auid).toBe(4321);
    expect(r.resolve(10)?.credentials.uid).toBe(1000);
  });

  it('an update of an unknown pid returns false and is counted', () => {
    const r = withProcess();
    const rows = r.stats().rows;
    expect(r.updateUid(77, { uid: 0 })).toBe(false);
    expect(r.updateGid(77, { gid: 0 })).toBe(false);
    expect(r.updateCapset(77, { effective: 1n })).toBe(false);
    expect(r.updateLoginUid(77, 0)).toBe(false);
    expect(r.stats().updateMisses).toBe(4);
    expect(r.stats().rows).toBe(rows);
    expect(r.resolve(77)).toBeUndefined();
  });

  it('updates change the current entry in place: same instance, no new row, earlier children keep their credentials', () => {
    const r = withProcess();
    r.addForkEntry({ pid: 11, ppid: 10, time: 110n });
    const before = r.resolve(10)!;
    const rows = r.stats().rows;
    r.updateUid(10, { uid: 0, euid: 0, fsuid: 0 });
    const after = r.resolve(10)!;
    expect(idOf(after)).toBe(idOf(before));
    expect(r.stats().rows).toBe(rows);
    // the child copied the credentials at its fork
    expect(r.resolve(11)?.credentials.uid).toBe(1000);
    // a child forked after the update inherits the new ones
    expect(r.addForkEntry({ pid: 12, ppid: 10, time: 120n })?.credentials.uid).toBe(0);
  });

  it('an exec keeps the login uid set by updateLoginUid', () => {
    const r = withProcess();
    r.updateLoginUid(10, 2000);
    const e = r.addExecEntry({ pid: 10, time: 200n, path: '/bin/bash', inode: 3, credentials: { uid: 0, euid: 0 } })!;
    expect(e.credentials.auid).toBe(2000);
    expect(e.credentials.uid).toBe(0);
  });

  it('resolves user and group names at read time from <procRoot>/../etc/passwd and group', () => {
    const root = mkdtempSync(join(tmpdir(), 'forkline-users-'));
    try {
      mkdirSync(join(root, 'proc'));
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1234:1234::/home/alice:/bin/sh\n');
      writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:alice\n');
      const r = new ProcessResolver({ procRoot: join(root, 'proc') });
      r.addForkEntry({ pid: 10, ppid: 0, time: 1n, credentials: { uid: 1234, gid: 50 } });
      let c = r.resolve(10)!.credentials;
      expect(c.user).toBe('alice');
      expect(c.group).toBe('staff');
      r.updateUid(10, { uid: 0 });
      r.updateGid(10, { gid: 9999 });
      c = r.resolve(10)!.credentials;
      expect(c.user).toBe('root');
      expect(c.group).toBe(''); // no name
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('tryReparentFromKernelPPid', () => {
  function tree() {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n }); // old parent
    r.addExecEntry({ pid: 10, time: 105n, path: '/bin/bash', inode: 3 });
    r.addForkEntry({ pid: 20, ppid: 1, time: 110n }); // subreaper
    r.addExecEntry({ pid: 20, time: 115n, path: '/usr/lib/systemd/systemd', inode: 4 });
    r.addForkEntry({ pid: 30, ppid: 10, time: 120n }); // the process that gets reparented
    r.addExecEntry({ pid: 30, time: 130n, path: '/bin/sleep', inode: 5 });
    r.addExecEntry({ pid: 30, time: 140n, path: '/bin/true', inode: 6 });
    return r;
  }

  it('is a no-op for kernelPPid 0, pid 0 or 1, an unknown pid or an unchanged ppid, and counts nothing', () => {
    const r = tree();
    const before = r.resolve(30)!;
    expect(r.tryReparentFromKernelPPid(30, 0)).toBe(false);
    expect(r.tryReparentFromKernelPPid(1, 20)).toBe(false);
    expect(r.tryReparentFromKernelPPid(0, 20)).toBe(false);
    expect(r.tryReparentFromKernelPPid(999, 20)).toBe(false);
    expect(r.tryReparentFromKernelPPid(30, 10)).toBe(false);
    expect(r.stats().reparent).toEqual({ success: 0, failed: 0 });
    const after = r.resolve(30)!;
    expect(after.ppid).toBe(10);
    expect(chainOf(after).map(idOf)).toEqual(chainOf(before).map(idOf));
    expect(r.resolve(1)?.ancestor?.pid).toBe(1); // pid 1 untouched
  });

  it('relinks the fork end of the exec chain to the new parent and gives every entry of the chain the new ppid', () => {
    const r = tree();
    const newParent = r.resolve(20)!;
    expect(r.tryReparentFromKernelPPid(30, 20)).toBe(true);
    const chain = chainOf(r.resolve(30));
    expect(chain.map((e) => [e.pid, e.ppid])).toEqual([
      [30, 20],
      [30, 20],
      [30, 20],
      [20, 1],
      [20, 1],
      [1, 0],
      [1, 0],
    ]);
    expect(idOf(chain[3])).toBe(idOf(newParent));
    expect(r.stats().reparent).toEqual({ success: 1, failed: 0 });
    // a second call with the same parent is now a no-op
    expect(r.tryReparentFromKernelPPid(30, 20)).toBe(false);
    expect(r.stats().reparent).toEqual({ success: 1, failed: 0 });
  });

  it('after a reparent the old parent is no longer held by the reparented child', () => {
    const r = tree();
    r.tryReparentFromKernelPPid(30, 20);
    const rows = r.stats().rows;
    r.deleteEntry(10, 200n);
    // both images of pid 10 (fork and bash) are reclaimed: nothing links to them any more
    expect(r.stats().rows).toBe(rows - 2);
    expect(chainOf(r.resolve(30)).some((e) => e.pid === 10)).toBe(false);
  });

  it('reads an unknown new parent from /proc with procfsFallback and relinks to it', () => {
    const root = makeTree([{ pid: 77, ppid: 1, comm: 'subreaper', exeTarget: process.execPath }]);
    try {
      const r = new ProcessResolver({ procRoot: root, procfsFallback: true });
      bootInit(r);
      r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
      r.addForkEntry({ pid: 30, ppid: 10, time: 120n });
      expect(r.tryReparentFromKernelPPid(30, 77)).toBe(true);
      const chain = chainOf(r.resolve(30));
      expect(chain.map((e) => e.pid)).toEqual([30, 77, 1, 1]);
      expect(chain[0]!.ppid).toBe(77);
      expect(chain[1]!.source).toBe('procfs');
      expect(chain[1]!.comm).toBe('subreaper');
      expect(r.resolve(77)?.source).toBe('procfs');
      expect(r.stats().reparent).toEqual({ success: 1, failed: 0 });
      expect(r.stats().procfs.success).toBe(1);
      // a pid /proc does not have either: failed
      expect(r.tryReparentFromKernelPPid(30, 78)).toBe(false);
      expect(r.stats().reparent).toEqual({ success: 1, failed: 1 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('fails, counted, when the new parent is unknown and there is no /proc fallback', () => {
    const r = tree();
    expect(r.tryReparentFromKernelPPid(30, 4444)).toBe(false);
    expect(r.stats().reparent).toEqual({ success: 0, failed: 1 });
    const e = r.resolve(30)!;
    expect(e.ppid).toBe(10);
    expect(chainOf(e)[2]!.ancestor?.pid).toBe(10);
  });

  it('refuses, counted as a failure, a reparent that would make the lineage a cycle', () => {
    const r = tree();
    // 30 descends from 10: making 10 a child of 30 would loop
    expect(r.tryReparentFromKernelPPid(10, 30)).toBe(false);
    expect(r.stats().reparent).toEqual({ success: 0, failed: 1 });
    const e = r.resolve(10)!;
    expect(e.ppid).toBe(1);
    expect(chainOf(e).map((x) => x.pid)).toEqual([10, 10, 1, 1]);
    // its own pid as parent is a cycle too
    expect(r.tryReparentFromKernelPPid(30, 30)).toBe(false);
    expect(r.stats().reparent.failed).toBe(2);
    expect(chainOf(r.resolve(30)).map((x) => x.pid)).toEqual([30, 30, 30, 10, 10, 1, 1]);
  });
});
