// Live netlink (proc connector) capture of the known process tree: the
// fields the connector and /proc can know. Parents, exit status and
// credentials come with the events; paths and argv are read from /proc
// right after the event, so they are checked for the processes that live
// long enough to be read (the 0.3 s sleeps). As root; elsewhere skipped with
// the reason in the test name.

import { describe, expect, it } from 'vitest';
import { chain, eventually, liveSkipReason, liveTitle, ownAndParent } from './harness.js';
import { cgroupInode, mountIdOf, ownPidnsInode, real, captureKnownTree } from './known-tree.js';

const skip = liveSkipReason('netlink');

describe.skipIf(skip !== undefined)(liveTitle('live netlink capture: a known process tree', skip), () => {
  const c = captureKnownTree('netlink');
  const { resolve, nsCgroup } = c;

  it('links every process of the tree to the right parent', async () => {
    await eventually(() => {
      expect(ownAndParent(resolve('script')).parent?.pid).toBe(process.pid);
      for (const label of ['pipe-left', 'pipe-right', 'twice', 'setuid', 'exit3', 'subreaper']) {
        expect([label, ownAndParent(resolve(label)).parent?.pid]).toEqual([label, c.tree.pids.script]);
      }
      const orphan = ownAndParent(resolve('orphan'));
      expect(orphan.parent?.pid).toBe(c.tree.pids['orphan-parent']);
      expect(orphan.parent?.exitTime).toBeGreaterThan(0n);
      expect(chain(resolve('orphan')).map((a) => a.pid)).toContain(c.tree.pids.subreaper);
      expect(chain(resolve('nschild')).map((a) => a.pid)).toContain(c.tree.pids.script);
    });
  });

  it('has the path and argv of the processes that lived long enough to be read', async () => {
    await eventually(() => {
      for (const label of ['twice', 'setuid', 'orphan']) {
        const e = resolve(label);
        expect([label, e?.path]).toEqual([label, real('/bin/sleep')]);
        expect([label, e?.argv]).toEqual([label, ['/bin/sleep', '0.3']]);
      }
      expect(resolve('nschild')?.path).toBe(real('/bin/sleep'));
    });
  });

  it('has the credentials after a setuid change and the exit status', async () => {
    await eventually(() => {
      expect(resolve('setuid')?.credentials).toMatchObject({ uid: 65534, euid: 65534 });
      expect(resolve('exit3')?.exitCode).toBe(3 << 8);
      expect(resolve('script')?.exitCode).toBe(0);
    });
  });

  it('has, from /proc, the pid (1) and namespace of the child in a new pid namespace, its cgroup id and the mount of its image', async () => {
    expect(c.tree.nsPid).toBe(1);
    expect(c.tree.nsInode).not.toBe(ownPidnsInode());
    if (nsCgroup) expect(c.tree.nsCgroup).toBe(nsCgroup.path);
    const cgroupId = c.tree.nsCgroup === undefined ? undefined : cgroupInode(c.tree.nsCgroup);
    await eventually(() => {
      const { own, parent } = ownAndParent(resolve('nschild'));
      // the sleep lives long enough to be read: its EXEC has everything /proc shows
      const sleep = own[0]!;
      expect(sleep.path).toBe(real('/bin/sleep'));
      expect(sleep.namespaces.nsPid).toBe(1);
      expect(sleep.namespaces.pidnsInode).toBe(c.tree.nsInode);
      if (cgroupId !== undefined) expect(sleep.namespaces.cgroupId).toBe(cgroupId);
      expect(sleep.namespaces.mountId).toBe(mountIdOf(real('/bin/sleep')));
      expect(sleep.pathTruncated).toBe(false);
      // unshare, its parent, lives in this process's namespace, under its host pid
      expect(parent?.namespaces).toMatchObject({ pidnsInode: ownPidnsInode(), nsPid: parent?.pid });
    });
  });

  it('lost nothing and snapshotted what ran before', () => {
    const s = c.live.source.stats();
    expect(s.lost).toBe(0n);
    expect(s.ringFull).toBe(0n);
    expect(c.live.view.resolve(process.pid)?.source).toBe('snapshot');
  });
});
