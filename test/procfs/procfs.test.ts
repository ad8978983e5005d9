import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLK_TCK,
  UNSET_ID,
  containerIdFromCgroup,
  parseCgroup,
  parseNsLink,
  parseStatLine,
  parseStatus,
  parseTtyNr,
  splitNul,
  stripDeletedSuffix,
} from '../../src/procfs/parse.js';
import { orderParentsFirst, type ProcfsProcess } from '../../src/procfs/process.js';
import { listPids, readProcess, scanProcfs } from '../../src/procfs/read.js';

import { PF_KTHREAD, PIDNS, makeTree, nulJoin, statLine, statusText, type FakeProc } from '../fixtures/fake-proc.js';

const trees: string[] = [];
function tree(procs: FakeProc[]): string {
  const root = makeTree(procs);
  trees.push(root);
  return root;
}
afterAll(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

/** tty_nr as the kernel encodes it (new_encode_dev). */
function ttyNr(major: number, minor: number): number {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const hex64 = (c: string): string => c.repeat(64);

// ------------------------------------------------------------ pure parsers

describe('parseStatLine', () => {
  it('takes the numeric fields after the last ")" when comm holds ") (" and spaces', () => {
    const s = parseStatLine(statLine({ pid: 42, ppid: 7, comm: 'a) (b c) x', startTicks: 123456, ttyNr: 34819, flags: 0x40 }));
    expect(s).toEqual({ comm: 'a) (b c) x', state: 'S', ppid: 7, ttyNr: 34819, flags: 0x40, startTicks: 123456n });
  });

  it('keeps starttime exact beyond 2^53 ticks', () => {
    const line = statLine({ pid: 1, ppid: 0 }).replace(/^((?:\S+ ){21})\S+/, (_, head: string) => `${head}9007199254740993`);
    expect(parseStatLine(line)?.startTicks).toBe(9007199254740993n);
  });

  it('rejects a malformed or truncated line', () => {
    expect(parseStatLine('')).toBeUndefined();
    expect(parseStatLine('12 (x S 1 2 3')).toBeUndefined();
    expect(parseStatLine('12 (x) S 1 2 3 4')).toBeUndefined();
  });
});

describe('parseStatus', () => {
  it('reads real/effective/fs ids, the innermost NSpid and hex capabilities', () => {
    const st = parseStatus(
      statusText({ pid: 9000, ppid: 1, uid: [1, 2, 3, 4], gid: [5, 6, 7, 8], nspid: [9000, 42, 7], capEff: '000001ffffffffff', capPrm: '00000000a80425fb' }),
    );
    expect(st.nspid).toBe(7);
    expect(st.credentials).toEqual({
      uid: 1, euid: 2, fsuid: 4, gid: 5, egid: 6, fsgid: 8,
      capEffective: 0x1ffffffffffn, capPermitted: 0xa80425fbn,
    });
  });

  it('leaves unknown values when lines are missing', () => {
    const st = parseStatus('Name:\tx\n');
    expect(st.nspid).toBeUndefined();
    expect(st.credentials.uid).toBe(UNSET_ID);
    expect(st.credentials.fsgid).toBe(UNSET_ID);
    expect(st.credentials.capEffective).toBe(0n);
  });
});

describe('parseTtyNr', () => {
  it('decodes pseudo terminals, including minors above 255', () => {
    expect(parseTtyNr(ttyNr(136, 3))).toBe('pts/3');
    expect(parseTtyNr(ttyNr(136, 300))).toBe('pts/300');
    expect(parseTtyNr(ttyNr(143, 5))).toBe('pts/5');
  });

  it('decodes virtual consoles, serial lines and /dev/tty', () => {
    expect(parseTtyNr(ttyNr(4, 1))).toBe('tty1');
    expect(parseTtyNr(ttyNr(4, 63))).toBe('tty63');
    expect(parseTtyNr(ttyNr(4, 64))).toBe('ttyS0');
    expect(parseTtyNr(ttyNr(4, 65))).toBe('ttyS1');
    expect(parseTtyNr(ttyNr(5, 0))).toBe('tty');
  });

  it('gives "" for no terminal and major:minor for anything else', () => {
    expect(parseTtyNr(0)).toBe('');
    expect(parseTtyNr(ttyNr(5, 1))).toBe('5:1');
    expect(parseTtyNr(ttyNr(204, 64))).toBe('204:64');
  });
});

describe('parseCgroup and containerIdFromCgroup', () => {
  it('prefers the cgroup v2 line of a hybrid hierarchy', () => {
    expect(parseCgroup('4:memory:/a\n1:cpu:/b\n0::/system.slice/x.service\n')).toBe('/system.slice/x.service');
  });

  it('falls back to the first line, keeping ":" inside the path', () => {
    expect(parseCgroup('12:pids:/docker/a:b\n11:cpu:/c\n')).toBe('/docker/a:b');
    expect(parseCgroup('')).toBe('');
  });

  it('finds the id of docker, containerd, cri-o and podman containers', () => {
    const a = hex64('a');
    expect(containerIdFromCgroup(`/system.slice/docker-${a}.scope`)).toBe(a);
    expect(containerIdFromCgroup(`/docker/${a}`)).toBe(a);
    expect(
      containerIdFromCgroup(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c.slice/cri-containerd-${a}.scope`),
    ).toBe(a);
    expect(containerIdFromCgroup(`/kubepods.slice/kubepods-pod1b2c.slice/crio-${a}.scope`)).toBe(a);
    expect(containerIdFromCgroup(`/kubepods/besteffort/pod1b2c/crio-${a}`)).toBe(a);
    expect(containerIdFromCgroup(`/machine.slice/libpod-${a}.scope/container`)).toBe(a);
  });

  it('takes the innermost container when they nest', () => {
    expect(containerIdFromCgroup(`/docker/${hex64('a')}/docker/${hex64('b')}`)).toBe(hex64('b'));
  });

  it('finds none for host slices, container monitors and ids of the wrong length', () => {
    expect(containerIdFromCgroup('/user.slice/user-1000.slice/session-2.scope')).toBe('');
    expect(containerIdFromCgroup(`/machine.slice/libpod-conmon-${hex64('a')}.scope`)).toBe('');
    expect(containerIdFromCgroup(`/system.slice/docker-${hex64('a')}f.scope`)).toBe('');
    expect(containerIdFromCgroup(`/system.slice/docker-${'a'.repeat(63)}.scope`)).toBe('');
    expect(containerIdFromCgroup('')).toBe('');
  });
});

describe('small helpers', () => {
  it('strips " (deleted)" from an exe link and reports it', () => {
    const link = Buffer.concat([Buffer.from([0x2f, 0xff, 0xfe]), Buffer.from('/bin (deleted)')]);
    const r = stripDeletedSuffix(link);
    expect(r.deleted).toBe(true);
    expect(Buffer.from(r.path)).toEqual(Buffer.concat([Buffer.from([0x2f, 0xff, 0xfe]), Buffer.from('/bin')]));
    const plain = stripDeletedSuffix(Buffer.from('/usr/bin/sleep'));
    expect(plain.deleted).toBe(false);
    expect(text(plain.path)).toBe('/usr/bin/sleep');
    expect(stripDeletedSuffix(Buffer.from('(deleted)')).deleted).toBe(false);
  });

  it('splits on NUL keeping empty arguments and a missing final NUL', () => {
    expect(splitNul(Buffer.from('a\0\0b\0')).map(text)).toEqual(['a', '', 'b']);
    expect(splitNul(Buffer.from('a\0b')).map(text)).toEqual(['a', 'b']);
    expect(splitNul(new Uint8Array(0))).toEqual([]);
  });

  it('reads the inode of a namespace link', () => {
    expect(parseNsLink('pid:[4026531836]')).toBe(4026531836);
    expect(parseNsLink('garbage')).toBe(0);
  });
});

// ------------------------------------------------------------ fake trees

describe('readProcess on a generated tree', () => {
  let exeFile: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'forkline-exe-'));
    trees.push(dir);
    exeFile = join(dir, 'my prog');
    writeFileSync(exeFile, '#!/bin/sh\n');
  });

  it('reads every field of a process whose comm holds ") (" and spaces', () => {
    const a = hex64('c');
    const root = tree([
      {
        pid: 300, ppid: 12, comm: 'x) (y z', startTicks: 4242, ttyNr: ttyNr(136, 7),
        uid: [1000, 0, 0, 0], gid: [100, 100, 100, 100], nspid: [300, 5], capEff: '1ff', capPrm: '3ff', loginuid: 1000,
        cgroup: `/system.slice/docker-${a}.scope`, exeTarget: exeFile, cmdline: nulJoin(['sh', '-c', 'x y']),
      },
    ]);
    const p = readProcess(root, 300)!;
    expect(p).toBeDefined();
    expect(p.pid).toBe(300);
    expect(p.ppid).toBe(12);
    expect(p.nspid).toBe(5);
    expect(p.pidns).toBe(PIDNS);
    expect(p.comm).toBe('x) (y z');
    expect(p.startTime).toBe((4242n * 1_000_000_000n) / BigInt(CLK_TCK));
    expect(text(p.path)).toBe(exeFile);
    expect(p.pathDeleted).toBe(false);
    expect(p.inode).toBe(statSync(exeFile).ino);
    expect(p.argv.map(text)).toEqual(['sh', '-c', 'x y']);
    expect(p.envp).toBeUndefined();
    expect(p.credentials).toEqual({
      uid: 1000, euid: 0, fsuid: 0, gid: 100, egid: 100, fsgid: 100, auid: 1000, capEffective: 0x1ffn, capPermitted: 0x3ffn,
    });
    expect(p.tty).toBe('pts/7');
    expect(p.cgroup).toBe(`/system.slice/docker-${a}.scope`);
    expect(p.containerId).toBe(a);
    expect(p.kernelThread).toBe(false);
  });

  it('keeps non-UTF-8 bytes of cmdline byte-exact', () => {
    const weird = new Uint8Array([0x66, 0xff, 0xfe, 0x80, 0xc3, 0x28]);
    const root = tree([{ pid: 301, ppid: 1, cmdline: nulJoin(['/bin/x', weird, '', 'é']) }]);
    const argv = readProcess(root, 301)!.argv;
    expect(argv).toHaveLength(4);
    expect(argv[1]).toEqual(weird);
    expect(argv[1]).toBeInstanceOf(Uint8Array);
    expect(argv[2]).toEqual(new Uint8Array(0));
    expect(text(argv[3]!)).toBe('é');
  });

  it('reads the environment only when envs is asked', () => {
    const root = tree([{ pid: 302, ppid: 1, environ: nulJoin(['A=1', 'B=two words']) }]);
    expect(readProcess(root, 302)!.envp).toBeUndefined();
    expect(readProcess(root, 302, { envs: true })!.envp!.map(text)).toEqual(['A=1', 'B=two words']);
  });

  it('returns undefined for a pid that vanished, without throwing', () => {
    const root = tree([{ pid: 303, ppid: 1, omit: ['stat'] }]);
    expect(readProcess(root, 303)).toBeUndefined();
    expect(readProcess(root, 99999)).toBeUndefined();
  });

  it('gives unknown values for files that cannot be read', () => {
    const root = tree([
      { pid: 304, ppid: 1, comm: 'half gone', omit: ['status', 'comm', 'cmdline', 'loginuid', 'cgroup', 'ns/pid'] },
    ]);
    const p = readProcess(root, 304, { envs: true })!;
    expect(p.nspid).toBe(304);
    expect(p.pidns).toBe(0);
    expect(p.path).toEqual(new Uint8Array(0));
    expect(p.inode).toBe(0);
    expect(p.comm).toBe('half gone'); // from stat
    expect(p.argv).toEqual([]);
    expect(p.credentials).toEqual({
      uid: UNSET_ID, euid: UNSET_ID, fsuid: UNSET_ID, gid: UNSET_ID, egid: UNSET_ID, fsgid: UNSET_ID,
      auid: UNSET_ID, capEffective: 0n, capPermitted: 0n,
    });
    expect(p.cgroup).toBe('');
    expect(p.containerId).toBe('');
  });

  it('decodes the tty of the stat file', () => {
    const root = tree([
      { pid: 305, ppid: 1, ttyNr: ttyNr(4, 66) },
      { pid: 306, ppid: 1, ttyNr: ttyNr(4, 2) },
      { pid: 307, ppid: 1, ttyNr: ttyNr(5, 0) },
      { pid: 308, ppid: 1, ttyNr: 0 },
    ]);
    expect([305, 306, 307, 308].map((pid) => readProcess(root, pid)!.tty)).toEqual(['ttyS2', 'tty2', 'tty', '']);
  });

  it('flags kernel threads by PF_KTHREAD, pid 2 and ppid 2', () => {
    const root = tree([
      { pid: 2, ppid: 0, comm: 'kthreadd', flags: PF_KTHREAD },
      { pid: 3, ppid: 2, comm: 'pool_workqueue_release', flags: 0 },
      { pid: 400, ppid: 0, comm: 'odd kthread', flags: PF_KTHREAD | 0x40 },
      { pid: 401, ppid: 1, comm: 'user', flags: 0x400000 },
    ]);
    expect([2, 3, 400, 401].map((pid) => readProcess(root, pid)!.kernelThread)).toEqual([true, true, true, false]);
  });
});

describe('listPids and scanProcfs on a generated tree', () => {
  it('lists numeric entries only, in ascending order', async () => {
    const root = tree([{ pid: 10, ppid: 1 }, { pid: 9, ppid: 1 }, { pid: 100, ppid: 1 }]);
    mkdirSync(join(root, 'self'));
    mkdirSync(join(root, 'sys'));
    writeFileSync(join(root, 'uptime'), '1 1\n');
    expect(await listPids(root)).toEqual([9, 10, 100]);
  });

  it('skips and counts kernel threads and vanished pids', async () => {
    const root = tree([
      { pid: 1, ppid: 0, comm: 'init' },
      { pid: 2, ppid: 0, comm: 'kthreadd', flags: PF_KTHREAD },
      { pid: 3, ppid: 2, comm: 'rcu_gp', flags: PF_KTHREAD },
      { pid: 4, ppid: 2, comm: 'kworker/0:0', flags: PF_KTHREAD },
      { pid: 50, ppid: 1, comm: 'sshd' },
      { pid: 51, ppid: 50, comm: 'gone', omit: ['stat'] }, // listed, then exited
    ]);
    mkdirSync(join(root, '52')); // directory already emptied by the kernel
    const scan = await scanProcfs(root);
    expect(scan.kernelThreads).toBe(3);
    expect(scan.vanished).toBe(2);
    expect(scan.processes.map((p) => p.pid)).toEqual([1, 50]);
    expect(scan.processes.every((p) => !p.kernelThread)).toBe(true);
  });

  it('orders a deep chain listed in reverse pid order parents first', async () => {
    // pid 1000 is the root, 999 its child, ... 901 the deepest: ascending listing sees children first.
    const chain: FakeProc[] = [];
    for (let i = 0; i < 100; i++) chain.push({ pid: 1000 - i, ppid: i === 0 ? 1 : 1001 - i, startTicks: 100 + i });
    const scan = await scanProcfs(tree(chain));
    expect(scan.processes.map((p) => p.pid)).toEqual(chain.map((p) => p.pid));
  });

  it('orders siblings by start time, then pid, each followed by its subtree', async () => {
    const root = tree([
      { pid: 1, ppid: 0, startTicks: 1 },
      { pid: 30, ppid: 1, startTicks: 50 },
      { pid: 20, ppid: 1, startTicks: 40 },
      { pid: 25, ppid: 1, startTicks: 40 },
      { pid: 5, ppid: 20, startTicks: 60 },
      { pid: 700, ppid: 12345, startTicks: 10 }, // parent not in the scan: a root
    ]);
    const scan = await scanProcfs(root);
    expect(scan.processes.map((p) => p.pid)).toEqual([1, 20, 5, 25, 30, 700]);
  });

  it('reads environments in a scan only with envs', async () => {
    const root = tree([{ pid: 1, ppid: 0, environ: nulJoin(['HOME=/root']) }]);
    expect((await scanProcfs(root)).processes[0]!.envp).toBeUndefined();
    expect((await scanProcfs(root, { envs: true })).processes[0]!.envp!.map(text)).toEqual(['HOME=/root']);
  });

  it('scans many processes with bounded concurrency and loses none', async () => {
    const procs: FakeProc[] = [{ pid: 1, ppid: 0, startTicks: 1 }];
    for (let pid = 2000; pid < 2300; pid++) procs.push({ pid, ppid: pid % 3 === 0 ? 1 : pid - 1, startTicks: pid });
    const scan = await scanProcfs(tree(procs));
    expect(scan.processes).toHaveLength(procs.length);
    expect(scan.vanished).toBe(0);
    assertParentsFirst(scan.processes);
  });
});

function assertParentsFirst(processes: readonly ProcfsProcess[]): void {
  const index = new Map(processes.map((p, i) => [p.pid, i]));
  for (const [i, p] of processes.entries()) {
    const parent = index.get(p.ppid);
    if (parent !== undefined && processes[parent]!.startTime <= p.startTime) expect(parent).toBeLessThan(i);
  }
}

describe('orderParentsFirst', () => {
  const proc = (pid: number, ppid: number, start: bigint): ProcfsProcess =>
    ({ pid, ppid, startTime: start }) as ProcfsProcess;

  it('treats a child whose "parent" started after it as a root (reused parent pid)', () => {
    const out = orderParentsFirst([proc(10, 0, 5n), proc(11, 12, 1n), proc(12, 10, 9n)]);
    expect(out.map((p) => p.pid)).toEqual([11, 10, 12]);
  });

  it('breaks a ppid cycle instead of dropping its processes', () => {
    const out = orderParentsFirst([proc(8, 9, 5n), proc(9, 8, 5n), proc(7, 7, 1n)]);
    expect(out.map((p) => p.pid)).toEqual([7, 8, 9]);
  });
});

// ------------------------------------------------------------ the real /proc

function ownPidNs(): number {
  return parseNsLink(readlinkSync('/proc/self/ns/pid'));
}

async function spawnSleep(file = 'sleep'): Promise<ChildProcess> {
  const child = spawn(file, ['30'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('the real /proc', () => {
  it('reads our own process', () => {
    const p = readProcess('/proc', process.pid)!;
    expect(p.pid).toBe(process.pid);
    expect(p.ppid).toBe(process.ppid);
    expect(p.kernelThread).toBe(false);
    const cmdline = readFileSync(`/proc/${process.pid}/cmdline`);
    expect(Buffer.concat(p.argv.flatMap((a) => [Buffer.from(a), Buffer.from([0])]))).toEqual(cmdline);
    expect(p.argv.length).toBeGreaterThan(1);
    expect(p.comm.length).toBeGreaterThan(0);
    expect(p.comm).toBe(readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim());
    expect(p.credentials.uid).toBe(process.getuid!());
    expect(p.credentials.gid).toBe(process.getgid!());
    expect(p.credentials.euid).toBe(process.geteuid!());
    expect(text(p.path)).toBe(realpathSync(process.execPath));
    expect(p.pathDeleted).toBe(false);
    expect(p.inode).toBe(statSync(process.execPath).ino);
    expect(p.pidns).toBe(ownPidNs());
    expect(p.nspid).toBe(process.pid); // we run in the pid namespace whose /proc this is
    expect(p.startTime).toBeGreaterThan(0n);
    expect(p.startTime % (1_000_000_000n / BigInt(CLK_TCK))).toBe(0n);
  });

  it('returns undefined for a pid that does not exist', () => {
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    expect(readProcess('/proc', pidMax + 1)).toBeUndefined();
  });

  it('finds a spawned child in a scan, after its parent', async () => {
    const child = await spawnSleep();
    try {
      const scan = await scanProcfs('/proc');
      const mine = scan.processes.findIndex((p) => p.pid === process.pid);
      const idx = scan.processes.findIndex((p) => p.pid === child.pid);
      expect(idx).toBeGreaterThanOrEqual(0);
      const c = scan.processes[idx]!;
      expect(c.ppid).toBe(process.pid);
      expect(text(c.path)).toMatch(/\/sleep$/);
      expect(c.argv.map(text)).toEqual(['sleep', '30']);
      expect(c.comm).toBe('sleep');
      expect(c.envp).toBeUndefined();
      expect(mine).toBeGreaterThanOrEqual(0);
      expect(mine).toBeLessThan(idx);
      expect(scan.processes.some((p) => p.kernelThread)).toBe(false);
      if (readProcess('/proc', 2)?.kernelThread) expect(scan.kernelThreads).toBeGreaterThan(0);
      else console.log('no kthreadd visible in this /proc: kernel-thread count not checked');
    } finally {
      await stop(child);
    }
  });

  it('reports a running binary that was deleted, with the inode it had', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forkline-del-'));
    trees.push(dir);
    const bin = join(dir, 'sleep copy');
    copyFileSync(realpathSync('/bin/sleep'), bin);
    chmodSync(bin, 0o755);
    const ino = statSync(bin).ino;
    const child = await spawnSleep(bin);
    try {
      unlinkSync(bin);
      const p = readProcess('/proc', child.pid!, { envs: true })!;
      expect(p.pathDeleted).toBe(true);
      expect(text(p.path)).toBe(bin);
      expect(p.inode).toBe(ino);
      expect(p.envp!.length).toBeGreaterThan(0);
    } finally {
      await stop(child);
    }
  });
});
