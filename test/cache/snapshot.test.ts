import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessResolver } from '../../src/index.js';
import { PF_KTHREAD, nulJoin, writeFake, type FakeProc } from '../fixtures/fake-proc.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fake host: <base>/proc with the given processes and <base>/etc with passwd and group. */
function fakeHost(procs: FakeProc[]): { procRoot: string; base: string } {
  const base = mkdtempSync(join(tmpdir(), 'forkline-host-'));
  dirs.push(base);
  mkdirSync(join(base, 'etc'));
  writeFileSync(join(base, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
  writeFileSync(join(base, 'etc', 'group'), 'root:x:0:\nstaff:x:1000:\n');
  mkdirSync(join(base, 'bin'));
  for (const name of ['init', 'bash', 'sleep']) writeFileSync(join(base, 'bin', name), name);
  for (const p of procs) writeFake(join(base, 'proc'), p);
  return { procRoot: join(base, 'proc'), base };
}

async function spawnSleep(file = 'sleep'): Promise<ChildProcess> {
  const child = spawn(file, ['30'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  // wait for the exec to be visible in /proc
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep') break;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('snapshot of a fake /proc', () => {
  function host() {
    const h = fakeHost([]);
    const bin = (n: string) => join(h.base, 'bin', n);
    const procs: FakeProc[] = [
      // listed children first: the snapshot must still apply parents first
      { pid: 300, ppid: 200, comm: 'sleep', exeTarget: bin('sleep'), cmdline: nulJoin(['sleep', '--token', 'abc']), startTicks: 300, uid: [1000, 1000, 1000, 1000], gid: [1000, 1000, 1000, 1000] },
      { pid: 200, ppid: 1, comm: 'bash', exeTarget: bin('bash'), cmdline: nulJoin(['-bash']), startTicks: 200, ttyNr: (136 << 8) | 4, cgroup: `/system.slice/docker-${'a'.repeat(64)}.scope` },
      { pid: 1, ppid: 0, comm: 'init', exeTarget: bin('init'), cmdline: nulJoin(['/sbin/init']), startTicks: 1, uid: [0, 0, 0, 0], gid: [0, 0, 0, 0] },
      { pid: 250, ppid: 2, comm: 'kworker/0:1', flags: PF_KTHREAD, startTicks: 250 },
      { pid: 400, ppid: 200, comm: 'gone', omit: ['stat'] },
    ];
    for (const p of procs) writeFake(h.procRoot, p);
    return h;
  }

  it('reads every user process, parents before children, linked to their parents, with source "snapshot"', async () => {
    const { procRoot, base } = host();
    const r = new ProcessResolver({ procRoot });
    await r.snapshot();
    const e = r.resolve(300)!;
    expect(e.source).toBe('snapshot');
    expect(e.path).toBe(join(base, 'bin', 'sleep'));
    expect(e.inode).toBe(statSync(join(base, 'bin', 'sleep')).ino);
    expect(e.argv).toEqual(['sleep', '--token', 'abc']);
    expect(r.getProcessArgvScrubbed(e).values).toEqual(['sleep', '--token', '********']);
    expect(e.forkTime).toBe(300n * 10_000_000n);
    expect(e.credentials.uid).toBe(1000);
    expect(e.credentials.user).toBe('alice');
    expect(e.credentials.group).toBe('staff');
    expect(e.ancestor?.pid).toBe(200);
    expect(e.ancestor?.tty).toBe('pts/4');
    expect(e.ancestor?.containerId).toBe('a'.repeat(64));
    expect(e.containerId).toBe('');
    expect(e.ancestor?.ancestor?.pid).toBe(1);
    expect(e.ancestor?.ancestor?.credentials.user).toBe('root');
    expect(e.ancestor?.ancestor?.ancestor).toBeUndefined();
    expect(r.hasValidLineage(e)).toEqual({ ok: true });
    expect(e.isExec).toBe(true); // runs another image than its parent
    expect(e.isParentMissing).toBe(false);
  });

  it('skips kernel threads and processes that vanished mid-scan, and counts them', async () => {
    const { procRoot } = host();
    const r = new ProcessResolver({ procRoot });
    await r.snapshot();
    expect(r.resolve(250)).toBeUndefined();
    expect(r.resolve(400)).toBeUndefined();
    expect(r.size).toBe(3);
    const s = r.stats();
    expect(s.snapshot).toEqual({ processes: 3, vanished: 1, kernelThreads: 1 });
    expect(s.added.snapshot).toBe(3);
  });

  it('keeps entries that events already put in the cache', async () => {
    const { procRoot } = host();
    const r = new ProcessResolver({ procRoot });
    r.addForkEntry({ pid: 200, ppid: 1, time: 5n, path: '/bin/zsh' });
    await r.snapshot();
    const e = r.resolve(200)!;
    expect(e.source).toBe('event');
    expect(e.path).toBe('/bin/zsh');
    expect(r.resolve(300)?.ancestor?.path).toBe('/bin/zsh');
  });

  it('takes the tty from /proc for an exec without one when ttyFallback is on', () => {
    const { procRoot } = host();
    const withFallback = new ProcessResolver({ procRoot, ttyFallback: true });
    expect(withFallback.addExecEntry({ pid: 200, time: 9n, path: '/bin/ls', inode: 3 })?.tty).toBe('pts/4');
    const without = new ProcessResolver({ procRoot });
    expect(without.addExecEntry({ pid: 200, time: 9n, path: '/bin/ls', inode: 3 })?.tty).toBe('');
  });
});

describe('snapshot and fallback on the real /proc', () => {
  it('finds this test process with its path, argv, parent and credentials', async () => {
    const r = new ProcessResolver();
    await r.snapshot();
    const e = r.resolve(process.pid)!;
    expect(e.source).toBe('snapshot');
    expect(e.path).toBe(realpathSync(process.execPath));
    const cmdline = readFileSync('/proc/self/cmdline', 'utf8').split('\0').slice(0, -1);
    expect(e.argv).toEqual(cmdline);
    expect(e.ppid).toBe(process.ppid);
    expect(e.ancestor?.pid).toBe(process.ppid);
    expect(e.credentials.uid).toBe(process.getuid!());
    expect(r.stats().snapshot.processes).toBeGreaterThan(1);
  });

  it('keeps the path and inode of a running binary that was deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forkline-deleted-'));
    dirs.push(dir);
    const copy = join(dir, 'sleep');
    copyFileSync(realpathSync('/bin/sleep'), copy);
    const ino = statSync(copy).ino;
    chmodSync(copy, 0o755);
    const child = await spawnSleep(copy);
    try {
      unlinkSync(copy);
      const r = new ProcessResolver();
      await r.snapshot();
      const e = r.resolve(child.pid!)!;
      expect(e.path).toBe(copy);
      expect(e.inode).toBe(ino);
      expect(e.ancestor?.pid).toBe(process.pid);
    } finally {
      await stop(child);
    }
  });

  it('reads a pid missing from the cache from /proc when procfsFallback is on, rate-limited per pid', async () => {
    const child = await spawnSleep();
    try {
      const off = new ProcessResolver();
      expect(off.resolve(child.pid!)).toBeUndefined();
      expect(off.stats().misses).toBe(1);
      expect(off.stats().procfs.attempts).toBe(0);

      const r = new ProcessResolver({ procfsFallback: true, procfsFallbackIntervalMs: 60_000 });
      const e = r.resolve(child.pid!)!;
      expect(e.source).toBe('procfs');
      expect(e.basename).toBe('sleep');
      expect(e.argv).toEqual(['sleep', '30']);
      expect(r.resolve(child.pid!)?.source).toBe('procfs'); // now a cache hit
      expect(r.stats().hits.procfs).toBe(1);
      // the sleep and its ancestors missing from the cache (docs/cache.md, "/proc fallback")
      expect(r.stats().added.procfs).toBeGreaterThanOrEqual(2);
      expect(e.ancestor?.pid).toBe(process.pid);

      const missing = 4194304;
      expect(r.resolve(missing)).toBeUndefined();
      expect(r.resolve(missing)).toBeUndefined();
      const s = r.stats();
      expect(s.procfs).toEqual({ attempts: 2, success: 1, failed: 1, rateLimited: 1 });
    } finally {
      await stop(child);
    }
  });
});
