// The namespace fields the /proc reader fills (pid namespace, pid in it,
// cgroup v2 id) and how they reach the cache: procfsExecInput (resolver
// snapshot and fallback) and snapshotFork (live sources' startup snapshot).

import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/cache/resolver.js';
import { MAX_RECORD_SIZE } from '../../src/record/constants.js';
import { decodeEvent } from '../../src/record/decode.js';
import { encodeEvent } from '../../src/record/encode.js';
import type { ForkEvent } from '../../src/record/events.js';
import { snapshotFork } from '../../src/pipeline/sources/capture.js';
import { cgroupV2Path } from '../../src/procfs/parse.js';
import { procfsExecInput } from '../../src/procfs/process.js';
import { cgroup2MountOf, cgroupRootOf, readProcess, scanProcfs } from '../../src/procfs/read.js';
import { PIDNS, writeFake } from '../fixtures/fake-proc.js';

const base = mkdtempSync(join(tmpdir(), 'forkline-procfs-ns-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/**
 * A fake host: <base>/<name>/proc with a few processes, and a cgroup2-like
 * tree at <base>/<name>/sys/fs/cgroup (unified layout), or in its `unified`
 * directory (hybrid layout), or none (v1).
 */
function host(name: string, layout: 'unified' | 'hybrid' | 'v1') {
  const root = join(base, name);
  const proc = join(root, 'proc');
  const cg = join(root, 'sys', 'fs', 'cgroup', ...(layout === 'hybrid' ? ['unified'] : []));
  const cgroupV2 = layout !== 'v1';
  mkdirSync(join(cg, 'system.slice', 'app.service'), { recursive: true });
  if (cgroupV2) writeFileSync(join(cg, 'cgroup.controllers'), 'cpu memory pids\n');
  writeFake(proc, { pid: 1, ppid: 0, comm: 'init', cgroup: '/init.scope', startTicks: 1 });
  writeFake(proc, { pid: 300, ppid: 1, comm: 'app', cgroup: '/system.slice/app.service', nspid: [300, 1], startTicks: 5 });
  writeFake(proc, { pid: 301, ppid: 1, comm: 'far', cgroup: '/../other.scope', startTicks: 6 });
  mkdirSync(join(cg, 'init.scope'));
  return { proc, cg, inoOf: (p: string) => statSync(join(cg, p), { bigint: true }).ino };
}

describe('namespace fields read from /proc', () => {
  it('pid namespace inode and the last NSpid value, and the cgroup id = the inode of the cgroup v2 directory', async () => {
    const h = host('v2', 'unified');
    expect(cgroupRootOf(h.proc)).toBe(h.cg);
    expect(cgroup2MountOf(cgroupRootOf(h.proc))).toBe(h.cg);
    const app = readProcess(h.proc, 300)!;
    expect({ pidns: app.pidns, nspid: app.nspid }).toEqual({ pidns: PIDNS, nspid: 1 });
    expect(app.cgroupId).toBe(h.inoOf('system.slice/app.service'));
    expect(app.cgroupId).toBeGreaterThan(0n);
    // a cgroup outside our cgroup namespace ("/..") is not looked up
    expect(readProcess(h.proc, 301)!.cgroupId).toBe(0n);
    // the scan gives the same
    const scan = await scanProcfs(h.proc);
    const byPid = new Map(scan.processes.map((p) => [p.pid, p]));
    expect(byPid.get(300)!.cgroupId).toBe(app.cgroupId);
    expect(byPid.get(1)!.cgroupId).toBe(h.inoOf('init.scope'));
  });

  it('finds cgroup v2 in the unified directory of a hybrid layout', () => {
    const h = host('hybrid', 'hybrid');
    expect(cgroup2MountOf(cgroupRootOf(h.proc))).toBe(h.cg);
    expect(readProcess(h.proc, 300)!.cgroupId).toBe(h.inoOf('system.slice/app.service'));
  });

  it('no cgroup id without a cgroup v2 hierarchy at the cgroup root, or without a "0::" line', () => {
    const h = host('v1', 'v1');
    expect(readProcess(h.proc, 300)!.cgroupId).toBe(0n);
    expect(cgroupV2Path('12:pids:/a\n0::/b/c\n')).toBe('/b/c');
    expect(cgroupV2Path('12:pids:/a\n')).toBeUndefined();
  });

  it('reach the cache through procfsExecInput and the snapshot FORK record', () => {
    const h = host('cache', 'unified');
    const app = readProcess(h.proc, 300)!;
    const input = procfsExecInput(app);
    expect(input).toMatchObject({ pidnsInode: PIDNS, nsPid: 1, cgroupId: app.cgroupId });
    const r = new ProcessResolver();
    const buf = new Uint8Array(MAX_RECORD_SIZE);
    const n = encodeEvent(snapshotFork(app), buf, 0);
    expect(decodeEvent(buf, 0) as ForkEvent).toMatchObject({ pidnsInode: PIDNS, nsPid: 1, mountId: 0, cgroupId: app.cgroupId });
    r.applyRecords(buf, 0, n);
    expect(r.resolve(300)!.namespaces).toEqual({ pidnsInode: PIDNS, nsPid: 1, mountId: 0, cgroupId: app.cgroupId });
  });

  it('this process, in the real /proc: its pid namespace, and the inode of its directory in the cgroup2 mount of mountinfo', () => {
    const me = readProcess('/proc', process.pid)!;
    expect(me.pidns).toBe(Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))![1]));
    const path = cgroupV2Path(readFileSync('/proc/self/cgroup', 'utf8'));
    // the cgroup2 mount as the kernel lists it: "... <mount point> ... - cgroup2 ..."
    const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '))
      .find((f) => f[f.indexOf('-') + 1] === 'cgroup2' && f[3] === '/')?.[4];
    const want = path === undefined || mount === undefined ? 0n : statSync(`${mount}${path === '/' ? '' : path}`, { bigint: true }).ino;
    expect(me.cgroupId).toBe(want);
    if (mount !== undefined) expect(me.cgroupId).toBeGreaterThan(0n);
  });
});
