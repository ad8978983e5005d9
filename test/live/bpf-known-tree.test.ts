// Live BPF capture of a known process tree (as root; elsewhere skipped with
// the reason in the test name). Exact paths, argv, credentials, exit status,
// parents and ancestor chains, as the kernel reported them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, eventually, liveSkipReason, liveTitle, ownAndParent, startLive, type Live } from './harness.js';
import { real, runKnownTree, type KnownTree } from './known-tree.js';

const skip = liveSkipReason('bpf');

describe.skipIf(skip !== undefined)(liveTitle('live BPF capture: a known process tree', skip), () => {
  let live: Live;
  let tree: KnownTree;

  beforeAll(async () => {
    live = startLive('bpf');
    tree = await runKnownTree();
    await live.caughtUp(live.now());
  }, 60_000);

  afterAll(async () => {
    await live?.stop();
  });

  const resolve = (label: string) => live.view.resolve(tree.pids[label]!);

  it('resolves the script with its path, interpreter and argv, child of this test process', async () => {
    await eventually(() => {
      const e = resolve('script');
      expect(e?.path).toBe(tree.script);
      expect(e?.interpreter).toBe(real('/bin/sh'));
      expect(e?.argv).toEqual(['/bin/sh', tree.script, tree.out]);
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
        [real('/bin/sh'), ['/bin/sh', '-c', 'echo "pipe-left $$" >> "$1"; exec /bin/echo piped-arg', 'pipe-left', tree.out]],
        [tree.script, ['/bin/sh', tree.script, tree.out]], // the fork: a copy of the script's image
      ]);
      expect(left.parent?.pid).toBe(tree.pids.script);
      const right = ownAndParent(resolve('pipe-right'));
      expect(right.own[0]?.path).toBe(real('/bin/cat'));
      expect(right.own[0]?.argv).toEqual(['/bin/cat']);
      expect(right.parent?.pid).toBe(tree.pids.script);
    });
  });

  it('chains a process that execs twice: sleep <- env <- sh', async () => {
    await eventually(() => {
      const { own } = ownAndParent(resolve('twice'));
      expect(own.map((a) => a.path)).toEqual([real('/bin/sleep'), real('/usr/bin/env'), real('/bin/sh'), tree.script]);
      expect(own[0]!.argv).toEqual(['/bin/sleep', '0.3']);
      expect(own[1]!.argv).toEqual(['/usr/bin/env', '/bin/sleep', '0.3']);
      expect(own[0]!.isExec && own[1]!.isExec && own[2]!.isExec).toBe(true);
    });
  });

  it('follows a setuid change: the credentials of setpriv change in place, its execs run as the new user', async () => {
    await eventually(() => {
      const { own } = ownAndParent(resolve('setuid'));
      expect(own.map((a) => a.path)).toEqual([real('/bin/sleep'), real('/bin/sh'), real('/usr/bin/setpriv'), tree.script]);
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
      expect(orphan.parent?.pid).toBe(tree.pids['orphan-parent']);
      expect(orphan.parent?.exitTime).toBeGreaterThan(0n);
      const pids = chain(resolve('orphan')).map((a) => a.pid);
      expect(pids).toContain(tree.pids.subreaper);
      expect(pids).toContain(tree.pids.script);
    });
  });

  it('resolves a child in a new pid namespace by its host pid', async () => {
    await eventually(() => {
      const ns = ownAndParent(resolve('nschild'));
      expect(ns.own.map((a) => a.path)).toEqual([real('/bin/sleep'), real('/usr/bin/python3'), real('/usr/bin/unshare')]);
      expect(ns.own[1]!.argv).toEqual(['/usr/bin/python3', `${tree.dir}/nschild.py`, tree.out]);
      expect(ns.parent?.pid).toBeGreaterThan(0); // the unshare that forked it
      expect(chain(resolve('nschild')).map((a) => a.pid)).toContain(tree.pids.script);
    });
  });

  it('lost nothing and found the processes running before it started in the /proc snapshot', async () => {
    const s = live.source.stats();
    expect(s.lost).toBe(0n);
    expect(s.ringFull).toBe(0n);
    expect(live.source.snapshotCounts.processes).toBeGreaterThan(0);
    // this test process was running before the capture: its entry comes from the snapshot
    expect(live.view.resolve(process.pid)?.source).toBe('snapshot');
    expect(live.view.resolve(1)?.source).toBe('snapshot');
  });
});
