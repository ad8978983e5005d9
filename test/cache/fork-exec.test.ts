// Fork and exec: docs/cache.md "Fork" and "Exec" (issue points 1-4).

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { bootInit, chainOf, creds, idOf } from './helpers.js';

/** A parent (pid 100) with a full image: path, argv, envp, credentials, context, interpreter. */
function withParent(options: ConstructorParameters<typeof ProcessResolver>[0] = {}) {
  const r = new ProcessResolver({ envsResolution: true, ...options });
  bootInit(r, 1n);
  r.addForkEntry({ pid: 100, ppid: 1, time: 10n });
  const parent = r.addExecEntry({
    pid: 100,
    time: 20n,
    path: '/usr/bin/python3',
    inode: 4242,
    argv: ['python3', 'server.py', '--port', '80'],
    envp: ['PATH=/usr/bin', 'HOME=/root'],
    credentials: { ...creds(1000, 0x3n), auid: 500 },
    tty: 'pts/3',
    containerId: 'c0ffee',
    cgroup: '/system.slice/app.service',
    interpreter: '/usr/bin/python3.12',
  })!;
  return { r, parent };
}

describe('fork', () => {
  it('a child inherits path, inode, comm, argv, envs, credentials, tty, container, cgroup, interpreter and execTime from its parent', () => {
    const { r, parent } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n })!;
    expect(child.path).toBe('/usr/bin/python3');
    expect(child.basename).toBe('python3');
    expect(child.inode).toBe(4242);
    expect(child.comm).toBe('python3');
    expect(child.argv).toEqual(['python3', 'server.py', '--port', '80']);
    expect(r.getProcessEnvp(child).values).toEqual(['PATH=/usr/bin', 'HOME=/root']);
    expect(r.getProcessEnvs(child).values).toEqual(['PATH', 'HOME']);
    expect(child.credentials).toMatchObject({ ...creds(1000, 0x3n), auid: 500 });
    expect(child.tty).toBe('pts/3');
    expect(child.containerId).toBe('c0ffee');
    expect(child.cgroup).toBe('/system.slice/app.service');
    expect(child.interpreter).toBe('/usr/bin/python3.12');
    expect(child.execTime).toBe(parent.execTime);
    expect(child.execTime).toBe(20n);
    expect(child.forkTime).toBe(30n);
    expect(child.ppid).toBe(100);
    expect(child.exitTime).toBe(0n);
    expect(child.isExec).toBe(false);
    expect(child.isExecExec).toBe(false);
    expect(child.isParentMissing).toBe(false);
  });

  it("a child's ancestor is the parent entry current at fork time", () => {
    const { r, parent } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n })!;
    expect(idOf(child.ancestor)).toBe(idOf(parent));
    expect(child.ancestor?.path).toBe('/usr/bin/python3');
    expect(chainOf(child).map((e) => e.pid)).toEqual([101, 100, 100, 1, 1]);
    expect(idOf(r.resolve(101)?.ancestor)).toBe(idOf(parent));
  });

  it('comm, credentials, tty, container id and cgroup given in the fork event override the copied ones; path is not taken from the event', () => {
    const { r } = withParent();
    const child = r.addForkEntry({
      pid: 101,
      ppid: 100,
      time: 30n,
      path: '/bin/ignored',
      comm: 'worker-thread-pool',
      credentials: { uid: 0, euid: 0 },
      tty: 'pts/9',
      containerId: 'beef',
      cgroup: '/other',
    })!;
    expect(child.comm).toBe('worker-thread-p'); // the kernel's 15-byte comm
    expect(child.credentials.uid).toBe(0);
    expect(child.credentials.euid).toBe(0);
    // fields the event does not give stay the parent's
    expect(child.credentials.gid).toBe(1000);
    expect(child.credentials.fsuid).toBe(1000);
    expect(child.credentials.auid).toBe(500);
    expect(child.credentials.capEffective).toBe(0x3n);
    expect(child.tty).toBe('pts/9');
    expect(child.containerId).toBe('beef');
    expect(child.cgroup).toBe('/other');
    // the parent is known and its inode matches: the path stays the parent's
    expect(child.path).toBe('/usr/bin/python3');
    expect(child.isParentMissing).toBe(false);
    // the parent is untouched
    expect(r.resolve(100)?.tty).toBe('pts/3');
    expect(r.resolve(100)?.credentials.uid).toBe(1000);
  });

  it('a fork event that gives only the tty keeps the copied container id and cgroup', () => {
    const { r } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n, tty: '' })!;
    expect(child.tty).toBe('');
    expect(child.containerId).toBe('c0ffee');
    expect(child.cgroup).toBe('/system.slice/app.service');
  });

  it('an exited parent that is not yet flushed is still the parent of a fork', () => {
    const { r, parent } = withParent();
    expect(r.applyExitEntry({ pid: 100, time: 25n })).toBe(true);
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n })!;
    expect(child.isParentMissing).toBe(false);
    expect(idOf(child.ancestor)).toBe(idOf(parent));
    expect(child.path).toBe('/usr/bin/python3');
  });

  it('rejects pid 0 and counts it in stats().rejected.pid0', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const before = r.stats();
    expect(r.addForkEntry({ pid: 0, ppid: 1, time: 5n })).toBeUndefined();
    expect(r.resolve(0)).toBeUndefined();
    expect(r.size).toBe(before.cacheSize);
    expect(r.stats().rejected.pid0).toBe(before.rejected.pid0 + 1);
    expect(r.stats().rows).toBe(before.rows);
  });

  it('rejects kernel threads (pid 2, children of kthreadd, kernelThread: true) and counts them', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const before = r.stats();
    expect(r.addForkEntry({ pid: 2, ppid: 0, time: 5n })).toBeUndefined();
    expect(r.addForkEntry({ pid: 50, ppid: 2, time: 6n, path: '/kworker', comm: 'kworker/0:1' })).toBeUndefined();
    expect(r.addForkEntry({ pid: 51, ppid: 1, time: 7n, kernelThread: true, comm: 'kthread' })).toBeUndefined();
    for (const pid of [2, 50, 51]) expect(r.resolve(pid)).toBeUndefined();
    const after = r.stats();
    expect(after.rejected.kernelThread).toBe(before.rejected.kernelThread + 3);
    expect(after.cacheSize).toBe(before.cacheSize);
    expect(after.rows).toBe(before.rows);
    // nothing of the rejected events (path, comm) was kept
    expect(after.strings).toEqual(before.strings);
    // kernelThread: false is an ordinary process
    expect(r.addForkEntry({ pid: 52, ppid: 1, time: 8n, kernelThread: false })?.pid).toBe(52);
  });

  it('a fork onto a cached pid ends the old instance and both stay distinguishable by fork time', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const old = r.addForkEntry({ pid: 300, ppid: 1, time: 100n })!;
    // a child of the old instance keeps it reachable
    r.addForkEntry({ pid: 301, ppid: 300, time: 150n });
    const sizeBefore = r.size;
    // the exit of the old 300 was lost; the pid is reused
    const fresh = r.addForkEntry({ pid: 300, ppid: 1, time: 200n })!;
    expect(fresh.forkTime).toBe(200n);
    expect(fresh.exitTime).toBe(0n);
    expect(r.resolve(300)?.forkTime).toBe(200n);
    expect(r.size).toBe(sizeBefore); // replaced, not added
    expect(r.stats().pidReuse).toBe(1);

    const oldSeen = r.resolve(301)!.ancestor!;
    expect(oldSeen.pid).toBe(300);
    expect(oldSeen.forkTime).toBe(old.forkTime);
    expect(oldSeen.exitTime).toBe(200n); // ended by the reuse
    expect(idOf(oldSeen)).not.toBe(idOf(fresh));

    const keys = (JSON.parse(r.toJSON()) as { entries: { pid: number; forkTime: string }[] }).entries
      .filter((e) => e.pid === 300)
      .map((e) => e.forkTime)
      .sort();
    expect(keys).toEqual(['100', '200']);
  });

  it('pid reuse keeps the exit time of an instance that had already exited', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 300, ppid: 1, time: 100n });
    r.addForkEntry({ pid: 301, ppid: 300, time: 110n });
    r.applyExitEntry({ pid: 300, time: 120n, exitCode: 3 });
    r.addForkEntry({ pid: 300, ppid: 1, time: 200n });
    const old = r.resolve(301)!.ancestor!;
    expect(old.exitTime).toBe(120n);
    expect(old.exitCode).toBe(3);
    expect(r.resolve(300)?.exitTime).toBe(0n);
  });

  it('a fork with an unknown parent takes its image from the event and is marked parent-missing', () => {
    const r = new ProcessResolver({ envsResolution: true });
    const e = r.addForkEntry({
      pid: 500,
      ppid: 499,
      time: 7n,
      inode: 77,
      path: '/opt/app/bin/daemon',
      comm: 'daemon',
      credentials: { uid: 33, gid: 33 },
      tty: 'pts/1',
      containerId: 'ctr',
      cgroup: '/k8s',
    })!;
    expect(e.isParentMissing).toBe(true);
    expect(e.ancestor).toBeUndefined();
    expect(e.path).toBe('/opt/app/bin/daemon');
    expect(e.inode).toBe(77);
    expect(e.comm).toBe('daemon');
    expect(e.credentials.uid).toBe(33);
    expect(e.credentials.gid).toBe(33);
    expect(e.tty).toBe('pts/1');
    expect(e.containerId).toBe('ctr');
    expect(e.cgroup).toBe('/k8s');
    expect(e.argv).toEqual([]);
    expect(r.getProcessEnvp(e).values).toEqual([]);
    expect(e.execTime).toBe(0n);
    expect(e.forkTime).toBe(7n);
    expect(e.ppid).toBe(499);
  });

  it('a fork from ppid 0 (started by the kernel) is not parent-missing', () => {
    const r = new ProcessResolver();
    const init = r.addForkEntry({ pid: 1, ppid: 0, time: 1n })!;
    expect(init.isParentMissing).toBe(false);
    expect(init.ancestor).toBeUndefined();
    expect(r.addForkEntry({ pid: 700, ppid: 0, time: 2n })?.isParentMissing).toBe(false);
  });

  it("a fork whose inode differs from the parent's cached inode is parent-missing, takes the event's inode and path, keeps the link and is counted", () => {
    const { r, parent } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n, inode: 9999, path: '/usr/bin/node' })!;
    expect(child.isParentMissing).toBe(true);
    expect(child.inode).toBe(9999);
    expect(child.path).toBe('/usr/bin/node');
    expect(idOf(child.ancestor)).toBe(idOf(parent));
    expect(r.stats().inodeErrors.forkInodeMismatch).toBe(1);
  });

  it('a fork whose inode differs but gives no path has no path (the parent\'s is another image\'s) and the new inode', () => {
    const { r } = withParent();
    const child = r.addForkEntry({ pid: 101, ppid: 100, time: 30n, inode: 9999 })!;
    expect(child.isParentMissing).toBe(true);
    expect(child.inode).toBe(9999);
    expect(child.path).toBe('');
  });

  it('a fork whose inode matches, or is 0, is not an inode mismatch', () => {
    const { r } = withParent();
    expect(r.addForkEntry({ pid: 101, ppid: 100, time: 30n, inode: 4242 })?.isParentMissing).toBe(false);
    expect(r.addForkEntry({ pid: 102, ppid: 100, time: 31n, inode: 0 })?.isParentMissing).toBe(false);
    // a parent with inode 0 (unknown) cannot mismatch either
    r.addForkEntry({ pid: 200, ppid: 1, time: 32n });
    r.addExecEntry({ pid: 200, time: 33n, path: '/bin/unknown-inode', inode: 0 });
    expect(r.addForkEntry({ pid: 201, ppid: 200, time: 34n, inode: 55 })?.isParentMissing).toBe(false);
    expect(r.stats().inodeErrors.forkInodeMismatch).toBe(0);
  });
});

describe('exec', () => {
  it('chains images of a pid: ancestor is the previous entry, which ends at the exec time', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const forked = r.addForkEntry({ pid: 10, ppid: 1, time: 100n })!;
    const sh = r.addExecEntry({ pid: 10, time: 200n, path: '/bin/sh', inode: 5, argv: ['sh', '-c', 'ls'] })!;
    const ls = r.addExecEntry({ pid: 10, time: 300n, path: '/bin/ls', inode: 6, argv: ['ls'] })!;

    expect(idOf(sh.ancestor)).toBe(idOf(forked));
    expect(idOf(ls.ancestor)).toBe(idOf(sh));
    const current = r.resolve(10)!;
    expect(idOf(current)).toBe(idOf(ls));
    const [c, s, f] = chainOf(current);
    expect(c!.exitTime).toBe(0n);
    expect(s!.exitTime).toBe(300n);
    expect(f!.exitTime).toBe(200n);
    expect(s!.path).toBe('/bin/sh');
    expect(f!.isExec).toBe(false);

    expect(sh.isExec).toBe(true);
    expect(sh.isExecExec).toBe(false); // the previous entry was a fork
    expect(ls.isExec).toBe(true);
    expect(ls.isExecExec).toBe(true); // the previous entry was an exec
    expect(ls.isParentMissing).toBe(false);

    // forkTime and ppid come from the previous entry; execTime is the event's
    expect(ls.forkTime).toBe(100n);
    expect(ls.ppid).toBe(1);
    expect(ls.execTime).toBe(300n);
    expect(r.size).toBe(2);
  });

  it("takes ppid from the exec event when given", () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    expect(r.addExecEntry({ pid: 10, ppid: 77, time: 200n, path: '/bin/sh', inode: 5 })?.ppid).toBe(77);
  });

  it('comm is the basename of the path cut to 15 bytes unless the event gives one', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    const e = r.addExecEntry({ pid: 10, time: 200n, path: '/usr/local/bin/a-very-long-program-name', inode: 5 })!;
    expect(e.comm).toBe('a-very-long-pro');
    expect(Buffer.byteLength(e.comm)).toBe(15);
    expect(e.basename).toBe('a-very-long-program-name');
    expect(r.addExecEntry({ pid: 10, time: 300n, path: '/bin/bash', inode: 6 })?.comm).toBe('bash');
    expect(r.addExecEntry({ pid: 10, time: 400n, path: '/bin/bash', inode: 6, argv: ['x'], comm: 'custom' })?.comm).toBe('custom');
  });

  it('credentials are the event\'s, with the fields it does not give kept from the previous entry, the login uid included', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n, credentials: { ...creds(1000, 0x5n), auid: 1000 } });
    expect(r.updateLoginUid(10, 1234)).toBe(true);
    const e = r.addExecEntry({
      pid: 10,
      time: 200n,
      path: '/usr/bin/sudo',
      inode: 8,
      // setuid root: everything but the login uid
      credentials: { uid: 1000, gid: 1000, euid: 0, egid: 0, fsuid: 0, fsgid: 0, capEffective: 0x1ffn, capPermitted: 0x1ffn },
    })!;
    expect(e.credentials).toMatchObject({ uid: 1000, euid: 0, egid: 0, fsuid: 0, fsgid: 0, capEffective: 0x1ffn });
    expect(e.credentials.auid).toBe(1234);
    // partial credentials: the rest is kept
    const e2 = r.addExecEntry({ pid: 10, time: 300n, path: '/bin/id', inode: 9, credentials: { euid: 1000 } })!;
    expect(e2.credentials).toMatchObject({ uid: 1000, gid: 1000, euid: 1000, egid: 0, auid: 1234, capEffective: 0x1ffn });
    // the login uid is replaced only when given
    const e3 = r.addExecEntry({ pid: 10, time: 400n, path: '/bin/true', inode: 10, credentials: { auid: 42 } })!;
    expect(e3.credentials.auid).toBe(42);
  });

  it('tty, container id and cgroup are kept from the previous entry unless the exec gives them', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n, tty: 'pts/0', containerId: 'abc', cgroup: '/a' });
    const kept = r.addExecEntry({ pid: 10, time: 200n, path: '/bin/sh', inode: 5 })!;
    expect([kept.tty, kept.containerId, kept.cgroup]).toEqual(['pts/0', 'abc', '/a']);
    const changed = r.addExecEntry({ pid: 10, time: 300n, path: '/bin/ls', inode: 6, containerId: 'def' })!;
    expect([changed.tty, changed.containerId, changed.cgroup]).toEqual(['pts/0', 'def', '/a']);
  });

  it('an exec with no previous entry is parent-missing, forkTime is the exec time and ppid the event\'s or 0', () => {
    const r = new ProcessResolver();
    const a = r.addExecEntry({ pid: 60, ppid: 59, time: 500n, path: '/bin/cat', inode: 3, argv: ['cat'] })!;
    expect(a.isParentMissing).toBe(true);
    expect(a.ancestor).toBeUndefined();
    expect(a.forkTime).toBe(500n);
    expect(a.execTime).toBe(500n);
    expect(a.ppid).toBe(59);
    expect(a.isExec).toBe(true);
    expect(a.isExecExec).toBe(false);
    const b = r.addExecEntry({ pid: 61, time: 600n, path: '/bin/cat', inode: 3 })!;
    expect(b.ppid).toBe(0);
    expect(b.isParentMissing).toBe(true);
  });

  it("a non-zero prevInode that differs from the previous entry's inode marks a lost exec, keeps the link and is counted", () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    const sh = r.addExecEntry({ pid: 10, time: 200n, path: '/bin/sh', inode: 5 })!;
    // the kernel says the image before this exec had inode 77, not 5: an exec was lost
    const e = r.addExecEntry({ pid: 10, time: 300n, path: '/bin/ls', inode: 6, prevInode: 77 })!;
    expect(e.isParentMissing).toBe(true);
    expect(idOf(e.ancestor)).toBe(idOf(sh));
    expect(r.stats().inodeErrors.execPrevInodeMismatch).toBe(1);
    // a matching prevInode or 0 is fine
    expect(r.addExecEntry({ pid: 10, time: 400n, path: '/bin/cat', inode: 7, prevInode: 6 })?.isParentMissing).toBe(false);
    expect(r.addExecEntry({ pid: 10, time: 500n, path: '/bin/echo', inode: 8, prevInode: 0 })?.isParentMissing).toBe(false);
    expect(r.stats().inodeErrors.execPrevInodeMismatch).toBe(1);
  });

  it('an exec identical to the current exec image is an exec bomb: the entry stays, only its execTime is refreshed', () => {
    const r = new ProcessResolver({ envsResolution: true });
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    const ev = {
      pid: 10,
      path: '/bin/sh',
      inode: 5,
      argv: ['sh', '-c', 'exec sh -c ...'],
      envp: ['A=1'],
      credentials: { uid: 1000 },
    };
    const first = r.addExecEntry({ ...ev, time: 200n })!;
    const statsBefore = r.stats();
    const again = r.addExecEntry({ ...ev, time: 300n })!;
    expect(again.execTime).toBe(300n);
    expect(again.forkTime).toBe(first.forkTime);
    expect(idOf(again.ancestor)).toBe(idOf(first.ancestor)); // no new link
    expect(again.ancestor?.isExec).toBe(false); // still the fork image
    const cur = r.resolve(10)!;
    expect(cur.execTime).toBe(300n);
    expect(chainOf(cur)).toHaveLength(chainOf(first).length);
    const s = r.stats();
    expect(s.execBombs).toBe(1);
    expect(s.rows).toBe(statsBefore.rows);
    expect(s.added.event).toBe(statsBefore.added.event);
  });

  it('an identical exec whose prevInode says another image ran in between is a lost exec, not an exec bomb', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    const ev = { pid: 10, path: '/bin/sh', inode: 5, argv: ['sh'] };
    r.addExecEntry({ ...ev, time: 200n });
    const next = r.addExecEntry({ ...ev, time: 300n, prevInode: 99 })!;
    expect(next.execTime).toBe(300n);
    expect(next.isParentMissing).toBe(true);
    expect(next.ancestor?.execTime).toBe(200n);
    expect(next.ancestor?.exitTime).toBe(300n);
    const s = r.stats();
    expect(s.execBombs).toBe(0);
    expect(s.inodeErrors.execPrevInodeMismatch).toBe(1);
  });

  it('an exec differing in path, inode, argv, envp or credentials is not an exec bomb', () => {
    const r = new ProcessResolver({ envsResolution: true });
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    const base = { pid: 10, path: '/bin/sh', inode: 5, argv: ['sh'], envp: ['A=1'], credentials: { uid: 1000 } };
    let t = 200n;
    r.addExecEntry({ ...base, time: t++ });
    const variants = [
      { ...base, path: '/bin/dash' },
      { ...base, inode: 6 },
      { ...base, argv: ['sh', '-x'] },
      { ...base, envp: ['A=2'] },
      { ...base, credentials: { uid: 0 } },
    ];
    let prev = r.resolve(10)!;
    for (const v of variants) {
      const e = r.addExecEntry({ ...v, time: t++ })!;
      expect(idOf(e.ancestor)).toBe(idOf(prev));
      prev = e;
      // go back to the base image (itself a new entry) so the next variant differs in one field only
      const back = r.addExecEntry({ ...base, time: t++ })!;
      expect(idOf(back.ancestor)).toBe(idOf(e));
      prev = back;
    }
    expect(r.stats().execBombs).toBe(0);
  });

  it('a forked child execing the same image as its parent is not an exec bomb (the previous entry is not an exec)', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.addExecEntry({ pid: 10, time: 200n, path: '/bin/sh', inode: 5, argv: ['sh'] });
    const child = r.addForkEntry({ pid: 11, ppid: 10, time: 300n })!;
    const e = r.addExecEntry({ pid: 11, time: 400n, path: '/bin/sh', inode: 5, argv: ['sh'] })!;
    expect(e.isExec).toBe(true);
    expect(idOf(e.ancestor)).toBe(idOf(child));
    expect(r.stats().execBombs).toBe(0);
  });

  it('rejects an exec of pid 0', () => {
    const r = new ProcessResolver();
    const before = r.stats();
    expect(r.addExecEntry({ pid: 0, time: 1n, path: '/bin/sh', inode: 1, argv: ['sh'] })).toBeUndefined();
    const after = r.stats();
    expect(after.rejected.pid0).toBe(before.rejected.pid0 + 1);
    expect(after.rows).toBe(0);
    expect(after.strings).toEqual(before.strings);
  });

  it("a later exec of a parent does not change an existing child's ancestor", () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    const shell = r.addExecEntry({ pid: 10, time: 200n, path: '/bin/bash', inode: 5, argv: ['bash'] })!;
    r.addForkEntry({ pid: 11, ppid: 10, time: 300n });
    r.addExecEntry({ pid: 10, time: 400n, path: '/usr/bin/vim', inode: 6, argv: ['vim'] });

    const child = r.resolve(11)!;
    expect(idOf(child.ancestor)).toBe(idOf(shell));
    expect(child.ancestor?.path).toBe('/bin/bash');
    expect(child.ancestor?.exitTime).toBe(400n); // the bash image ended with the exec
    expect(child.path).toBe('/bin/bash');
    // a child forked after the exec hangs off the new image
    const later = r.addForkEntry({ pid: 12, ppid: 10, time: 500n })!;
    expect(later.ancestor?.path).toBe('/usr/bin/vim');
    expect(later.path).toBe('/usr/bin/vim');
  });
});
