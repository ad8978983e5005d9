// Live BPF capture of a known process tree (as root; elsewhere skipped with
// the reason in the test name). Exact paths, argv, credentials, exit status,
// parents and ancestor chains, as the kernel reported them.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chain, eventually, liveSkipReason, liveTitle, ownAndParent } from './harness.js';
import { cgroupInode, mountIdOf, ownCgroup, ownPidnsInode, real, captureKnownTree } from './known-tree.js';

const skip = liveSkipReason('bpf');

describe.skipIf(skip !== undefined)(liveTitle('live BPF capture: a known process tree', skip), () => {
  const c = captureKnownTree('bpf');
  const { resolve, nsCgroup } = c;

  it('resolves the script with its path, interpreter and argv, child of this test process', async () => {
    await eventually(() => {
      const e = resolve('script');
      expect(e?.path).toBe(c.tree.script);
      expect(e?.interpreter).toBe(real('/bin/sh'));
      expect(e?.argv).toEqual(['/bin/sh', c.tree.script, c.tree.out]);
      const { parent } = ownAndParent(e);
      expect(parent?.pid).toBe(process.pid);
      expect(e?.exitTime).toBeGreaterThan(0n);
      expect(e?.exitCode).toBe(0);
    });
  });

  it('resolves both ends of a shell pipeline: exec chain and parent', async () => {
    await eventually(() => {
      const left = ownAndParent(resolve('pipe-left'));
      expect(left.own.map((a) => [a.path, a.argv])).toEqual([
        [real('/bin/echo'), ['/bin/echo', 'piped-arg']],
        [real('/bin/sh'), ['/bin/sh', '-c', 'echo "pipe-left $$" >> "$1"; exec /bin/echo piped-arg', 'pipe-left', c.tree.out]],
        [c.tree.script, ['/bin/sh', c.tree.script, c.tree.out]], // the fork: a copy of the script's image
      ]);
      expect(left.parent?.pid).toBe(c.tree.pids.script);
      const right = ownAndParent(resolve('pipe-right'));
      expect(right.own[0]?.path).toBe(real('/bin/cat'));
      expect(right.own[0]?.argv).toEqual(['/bin/cat']);
      expect(right.parent?.pid).toBe(c.tree.pids.script);
    });
  });

  it('chains a process that execs twice: sleep <- env <- sh', async () => {
    await eventually(() => {
      const { own } = ownAndParent(resolve('twice'));
      expect(own.map((a) => a.path)).toEqual([real('/bin/sleep'), real('/usr/bin/env'), real('/bin/sh'), c.tree.script]);
      expect(own[0]!.argv).toEqual(['/bin/sleep', '0.3']);
      expect(own[1]!.argv).toEqual(['/usr/bin/env', '/bin/sleep', '0.3']);
      expect(own[0]!.isExec && own[1]!.isExec && own[2]!.isExec).toBe(true);
    });
  });

  it('follows a setuid change: the credentials of setpriv change in place, its execs run as the new user', async () => {
    await eventually(() => {
      const { own } = ownAndParent(resolve('setuid'));
      expect(own.map((a) => a.path)).toEqual([real('/bin/sleep'), real('/bin/sh'), real('/usr/bin/setpriv'), c.tree.script]);
      for (const e of own.slice(0, 3)) {
        expect(e.credentials).toMatchObject({ uid: 65534, euid: 65534, fsuid: 65534, gid: 65534, egid: 65534 });
      }
      expect(own[3]!.credentials).toMatchObject({ uid: 0, euid: 0 });
    });
  });

  it('keeps the exit status (wait status) of a process that exited', async () => {
    await eventually(() => {
      const e = resolve('exit3');
      expect(e?.exitTime).toBeGreaterThan(0n);
      expect(e?.exitCode).toBe(3 << 8);
    });
  });

  it('keeps the exited parent of an orphan reparented to a subreaper in its chain', async () => {
    await eventually(() => {
      const orphan = ownAndParent(resolve('orphan'));
      expect(orphan.own[0]?.path).toBe(real('/bin/sleep'));
      expect(orphan.parent?.pid).toBe(c.tree.pids['orphan-parent']);
      expect(orphan.parent?.exitTime).toBeGreaterThan(0n);
      const pids = chain(resolve('orphan')).map((a) => a.pid);
      expect(pids).toContain(c.tree.pids.subreaper);
      expect(pids).toContain(c.tree.pids.script);
    });
  });

  it('resolves a child in a new pid namespace by its host pid', async () => {
    await eventually(() => {
      const ns = ownAndParent(resolve('nschild'));
      expect(ns.own.map((a) => a.path)).toEqual([real('/bin/sleep'), real('/usr/bin/python3'), real('/usr/bin/unshare')]);
      expect(ns.own[1]!.argv).toEqual(['/usr/bin/python3', `${c.tree.dir}/nschild.py`, c.tree.out]);
      expect(ns.parent?.pid).toBeGreaterThan(0); // the unshare that forked it
      expect(chain(resolve('nschild')).map((a) => a.pid)).toContain(c.tree.pids.script);
    });
  });

  it('gives the child in a new pid namespace its pid there (1), that namespace, its cgroup id and the mount of its image', async () => {
    expect(c.tree.nsPid).toBe(1);
    expect(c.tree.nsInode).not.toBe(ownPidnsInode());
    // the nschild moved itself into a cgroup of its own (when one could be made) before it exec'd sleep
    if (nsCgroup) expect(c.tree.nsCgroup).toBe(nsCgroup.path);
    const sleepCgroup = c.tree.nsCgroup === undefined ? undefined : cgroupInode(c.tree.nsCgroup);
    const ownCgroupId = cgroupInode(ownCgroup() ?? '/');
    await eventually(() => {
      const ns = ownAndParent(resolve('nschild'));
      // every image of it (the fork, the python3 exec, the sleep exec) is pid 1 of the new namespace
      for (const e of ns.own) {
        expect([e.path, e.namespaces.nsPid, e.namespaces.pidnsInode]).toEqual([e.path, 1, c.tree.nsInode]);
        expect(e.namespaces.cgroupId).toBeGreaterThan(0n);
        expect(e.pathTruncated).toBe(false);
      }
      // cgroup ids as `stat` gives them: sleep's in the cgroup it moved to, the images before it in this process's
      if (sleepCgroup !== undefined) expect(ns.own[0]!.namespaces.cgroupId).toBe(sleepCgroup);
      if (ownCgroupId !== undefined) expect(ns.own.slice(1).map((e) => e.namespaces.cgroupId)).toEqual([ownCgroupId, ownCgroupId]);
      expect(ns.own[0]!.namespaces.mountId).toBe(mountIdOf(real('/bin/sleep')));
      // its parent, unshare, lives in this process's namespace, under its host pid
      expect(ns.parent?.namespaces).toMatchObject({ pidnsInode: ownPidnsInode(), nsPid: ns.parent?.pid });
      // and so does this process: its snapshot entry has its /proc view
      expect(c.live.view.resolve(process.pid)?.namespaces).toMatchObject({ pidnsInode: ownPidnsInode(), nsPid: process.pid });
    });
  });

  it('flags a path the kernel had to cut (deeper than its 64-component walk): the deepest part, not absolute', async () => {
    const depth = 70;
    const dir = join(c.tree.dir, ...Array<string>(depth).fill('d'));
    mkdirSync(dir, { recursive: true });
    const bin = join(dir, 'deep-true');
    copyFileSync(real('/bin/true'), bin);
    try {
      const r = spawnSync(bin, [], { stdio: 'ignore' });
      expect(r.status).toBe(0);
      await c.live.caughtUp(c.live.now());
      await eventually(() => {
        const e = c.live.view.resolve(r.pid!);
        expect(e?.pathTruncated).toBe(true);
        expect(e?.path.startsWith('/')).toBe(false);
        expect(e?.path.endsWith('/d/d/deep-true')).toBe(true);
        // its fork (a copy of this node process) had the whole path
        expect(ownAndParent(e).own.at(-1)?.pathTruncated).toBe(false);
      });
    } finally {
      rmSync(join(c.tree.dir, 'd'), { recursive: true, force: true });
    }
  });

  it('lost nothing and found the processes running before it started in the /proc snapshot', async () => {
    const s = c.live.source.stats();
    expect(s.lost).toBe(0n);
    expect(s.ringFull).toBe(0n);
    expect(c.live.source.snapshotCounts.processes).toBeGreaterThan(0);
    // this test process was running before the capture: its entry comes from the snapshot
    expect(c.live.view.resolve(process.pid)?.source).toBe('snapshot');
    expect(c.live.view.resolve(1)?.source).toBe('snapshot');
  });
});
