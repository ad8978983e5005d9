// Symlinks and busybox (issue 13, point 5, library part): an exec carries
// the path as invoked when it differs from the resolved one (symlinkPath),
// /proc gives it from argv[0]; isThroughSymlink and isBusybox are exported.
// docs/cache.md, "Symlinks".

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isBusybox, isThroughSymlink, ProcessResolver } from '../../src/index.js';
import { readProcess } from '../../src/procfs/read.js';

function withInit() {
  const r = new ProcessResolver({ capacity: 64 });
  r.addForkEntry({ pid: 10, ppid: 0, time: 1n });
  return r;
}

describe('symlinkPath on execs and entries', () => {
  it('keeps the path as invoked next to the resolved one, and the interpreter apart', () => {
    const r = withInit();
    const e = r.addExecEntry({
      pid: 10, time: 2n, path: '/usr/bin/python3.11', symlinkPath: '/usr/bin/python3', inode: 5, interpreter: '/usr/bin/env',
    })!;
    expect(e.symlinkPath).toBe('/usr/bin/python3');
    expect(e.interpreter).toBe('/usr/bin/env');
    expect(isThroughSymlink(e)).toBe(true);
    expect(r.resolve(10)!.symlinkPath).toBe('/usr/bin/python3');
  });

  it('is empty when not given or equal to the path', () => {
    const r = withInit();
    expect(r.addExecEntry({ pid: 10, time: 2n, path: '/bin/ls', inode: 1 })!.symlinkPath).toBe('');
    const same = r.addExecEntry({ pid: 10, time: 3n, path: '/bin/cat', symlinkPath: '/bin/cat', inode: 2 })!;
    expect(same.symlinkPath).toBe('');
    expect(isThroughSymlink(same)).toBe(false);
  });

  it('goes with the image: a fork inherits it, the next exec replaces it', () => {
    const r = withInit();
    r.addExecEntry({ pid: 10, time: 2n, path: '/bin/busybox', symlinkPath: '/bin/ls', inode: 9 });
    expect(r.addForkEntry({ pid: 11, ppid: 10, time: 3n })!.symlinkPath).toBe('/bin/ls');
    expect(r.addExecEntry({ pid: 11, time: 4n, path: '/bin/true', inode: 3 })!.symlinkPath).toBe('');
  });

  it('a bad symlinkPath is a TypeError and changes nothing', () => {
    const r = withInit();
    const before = r.stats().strings;
    expect(() => r.addExecEntry({ pid: 10, time: 2n, path: '/bin/x', inode: 1, symlinkPath: 'a\0b' })).toThrow(TypeError);
    expect(() => r.addExecEntry({ pid: 10, time: 2n, path: '/bin/x', inode: 1, symlinkPath: 7 as never })).toThrow(TypeError);
    expect(r.stats().strings).toEqual(before);
    expect(r.resolve(10)!.isExec).toBe(false);
  });

  it('the tables end empty: the combined string is released with the row', () => {
    const r = new ProcessResolver({ capacity: 64 });
    const start = r.stats();
    r.addExecEntry({ pid: 10, ppid: 0, time: 2n, path: '/bin/busybox', symlinkPath: '/bin/ls', inode: 9 });
    r.deleteEntry(10, 3n);
    expect(r.stats().strings).toEqual(start.strings);
  });
});

describe('isBusybox', () => {
  it('is the busybox binary wherever it is installed', () => {
    expect(isBusybox('/bin/busybox')).toBe(true);
    expect(isBusybox('/usr/bin/busybox')).toBe(true);
    expect(isBusybox('/bin/sh')).toBe(false);
    expect(isBusybox('/bin/busybox.static')).toBe(false);
  });
});

describe('/proc: argv[0] resolved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forkline-symlink-'));
  const sleep = realpathSync('/bin/sleep');
  symlinkSync(sleep, join(dir, 'nap'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (cmd: string, cwd: string) => {
    const c = spawn(cmd, ['30'], { cwd, stdio: 'ignore' });
    children.push(c);
    return new Promise<number>((ok) => setTimeout(() => ok(c.pid!), 150));
  };

  it('an absolute argv[0] naming a symlink to the executable', async () => {
    const pid = await run(join(dir, 'nap'), '/');
    const p = readProcess('/proc', pid)!;
    expect(Buffer.from(p.path).toString()).toBe(sleep);
    expect(p.symlinkPath).toBe(join(dir, 'nap'));
    const r = new ProcessResolver({ capacity: 64, procfsFallback: true, procfsMaxDepth: 0 });
    expect(r.resolve(pid)!.symlinkPath).toBe(join(dir, 'nap'));
  });

  it('a relative argv[0], resolved against the process\'s cwd', async () => {
    const pid = await run('./nap', dir);
    expect(readProcess('/proc', pid)!.symlinkPath).toBe(join(dir, 'nap'));
  });

  it('none when argv[0] is the executable or not a path', async () => {
    const direct = await run(sleep, '/');
    expect(readProcess('/proc', direct)!.symlinkPath).toBe('');
    const viaPath = await run('sleep', '/');
    expect(readProcess('/proc', viaPath)!.symlinkPath).toBe('');
  });
});
