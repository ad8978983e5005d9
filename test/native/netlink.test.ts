// The netlink proc connector capture (native/netlink_capture.cc) on the live
// kernel: test/native/netlink_capture_test.cc drives it (a known process tree,
// a setuid child, a rename, threads, 20 open/start/stop cycles) and prints
// JSON lines plus the raw records, checked here. Needs root and the kernel's
// cn_proc connector: skipped, saying which is missing, otherwise.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeEvent, readHeader, validateRecord } from '../../src/record/decode.js';
import { containerIdFromCgroup, parseCgroup, parseStatLine, parseStatus, parseTtyNr } from '../../src/procfs/parse.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Why the live test cannot run here, or undefined. */
function missing(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'not root: this live test needs root (it drops a child to uid 65534; kernels before 6.6 also need CAP_NET_ADMIN for the proc connector): run the tests as root';
  }
  let connectors = '';
  try {
    connectors = readFileSync('/proc/net/connector', 'utf8');
  } catch {
    return 'no /proc/net/connector: the kernel has no netlink connector (CONFIG_CONNECTOR), or this is not the initial network namespace';
  }
  if (!/^cn_proc\s/m.test(connectors)) {
    return '/proc/net/connector lists no cn_proc: the kernel was built without CONFIG_PROC_EVENTS';
  }
  return undefined;
}

interface Line {
  type: string;
  [k: string]: any;
}

const CRED_UID = 1;
const CRED_GID = 2;

describe('netlink proc connector capture (C++, live kernel)', () => {
  let skip = missing();
  let dir = '';
  let lines: Line[] = [];
  let raw = new Uint8Array(0);
  const one = (type: string): Line => {
    const l = lines.find((x) => x.type === type);
    if (!l) throw new Error(`the test program printed no "${type}" line`);
    return l;
  };
  const records = (): Line[] => lines.filter((l) => l.type === 'record');
  const recs = (rec: string, pid: number): Line[] => records().filter((r) => r.rec === rec && r.pid === pid);

  beforeAll(() => {
    if (skip) return;
    const probe = spawnSync('g++', ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(`g++ was not found, and the netlink capture test needs it: apt-get install g++ (${probe.error?.message ?? probe.stderr})`);
    }
    dir = mkdtempSync(join(tmpdir(), 'forkline-netlink-'));
    const bin = join(dir, 'netlink_capture_test');
    const native = join(root, 'native');
    const cc = spawnSync(
      'g++',
      ['-std=c++17', '-O1', '-pthread', '-Wall', '-Wextra', '-Werror', '-I', native, '-I', join(root, 'src'), '-o', bin,
        join(root, 'test', 'native', 'netlink_capture_test.cc'),
        join(native, 'netlink_capture.cc'), join(native, 'procfs_reader.cc')],
      { encoding: 'utf8' },
    );
    if (cc.status !== 0) throw new Error(`g++ failed on the netlink capture test:\n${cc.stderr}`);
    const rawFile = join(dir, 'records.bin');
    const run = spawnSync(bin, [rawFile], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 60_000 });
    if (run.status !== 0) throw new Error(`netlink_capture_test exited with ${run.status ?? run.signal}:\n${run.stderr}\n${run.stdout}`);
    lines = run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
    const err = lines.find((l) => l.type === 'error');
    if (err) {
      if (err.code === 'ERR_NETLINK_UNSUPPORTED') {
        skip = `the proc connector is unavailable: ${err.message}`;
        return;
      }
      throw new Error(`NetlinkCapture::open failed: ${err.code}: ${err.message}`);
    }
    raw = new Uint8Array(readFileSync(rawFile));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the C++ /proc helpers agree with src/procfs/ (tty names, container ids, cgroup lines) and bound argv at the limit', (ctx) => {
    if (skip) ctx.skip(skip);
    const h = one('helpers');
    for (const [nr, name] of h.tty) expect([nr, name]).toEqual([nr, parseTtyNr(nr)]);
    for (const [path, id] of h.container) expect([path, id]).toEqual([path, containerIdFromCgroup(path)]);
    for (const [text, path] of h.cgroupFile) expect([text, path]).toEqual([text, parseCgroup(text)]);
    expect(h.bound).toEqual([
      ['ab\0cd\0', 16, true, 'ab\0cd\0', false],
      ['ab cd', 16, true, 'ab cd\0', false], // no final NUL (rewritten argv area): terminated, not cut
      ['ab\0cd\0e', 6, false, 'ab\0cd\0', true], // cut at an item boundary
      ['abcdefgh', 5, false, 'abcd\0', true], // cut mid-item, last item NUL-terminated
      ['ab\0cd\0', 6, true, 'ab\0cd\0', false],
      ['abcdef', 6, true, 'abcde\0', true],
    ]);
  });

  it('completes a process from a (fake) /proc root: exe without " (deleted)", bounded argv, creds, ctx; zombies, kernel threads, missing and reused pids', (ctx) => {
    if (skip) ctx.skip(skip);
    const id = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
    const creds = { uid: 1000, gid: 2000, euid: 1001, egid: 2001, fsuid: 1003, fsgid: 2003, auid: 1000, capEffective: '1024', capPermitted: String(0xa80425fb) };
    const reader = one('reader');
    const cases = reader.cases as Line[];
    const nowhere = { nsPid: 0, pidnsInode: 0, cgroupId: '0', mountId: 0, pathTruncated: false };
    expect(cases).toEqual([
      {
        case: 'live', exists: true, gone: false, pidReused: false, kernelThread: false, ppid: 77, startNs: 5e9, inode: 0, creds,
        path: '/opt/app/bin', comm: 'a-very-long-com', // comm at its bound of 15 bytes
        argv: `prog\0--flag\0${'x'.repeat(19)}\0`, argvTruncated: true, // 32 bytes, cut mid-item, NUL-terminated
        envp: 'A=1\0B=2\0', envpTruncated: false,
        tty: 'pts/1', cgroup: `/system.slice/docker-${id}.scope`, containerId: id,
        // last NSpid value, ns/pid link, inode of the cgroup's directory in the cgroup2 mount (unified/ here);
        // no mount id for an exe that cannot be stat'ed
        where: { nsPid: 7, pidnsInode: 4026532777, cgroupId: reader.cgroupInode, mountId: 0, pathTruncated: false },
      },
      // Started (5 s) after the event (4 s): another process got the pid; nothing is read.
      { case: 'reused', exists: false, gone: true, pidReused: true, kernelThread: false, ppid: -1, startNs: 5e9, inode: 0, creds: {}, where: nowhere },
      { case: 'creds', exists: true, gone: false, pidReused: false, kernelThread: false, ppid: 77, startNs: 5e9, inode: 0, creds, tty: 'pts/1', where: { ...nowhere, nsPid: 7 } },
      {
        case: 'zombie', exists: true, gone: true, pidReused: false, kernelThread: false, ppid: 1, startNs: 4e9, inode: 0,
        creds: { uid: 5, gid: 6, euid: 5, egid: 6, fsuid: 5, fsgid: 6 }, comm: 'dead', tty: '', where: nowhere,
      },
      { case: 'kthread', exists: true, gone: false, pidReused: false, kernelThread: true, ppid: 2, startNs: 3e7, inode: 0, creds: {}, comm: 'kworker/0:1', tty: '', where: nowhere },
      { case: 'missing', exists: false, gone: true, pidReused: false, kernelThread: false, ppid: -1, startNs: 0, inode: 0, creds: {}, where: nowhere },
    ]);
    expect(BigInt(reader.cgroupInode)).toBeGreaterThan(0n);
  });

  it('writes only records the TypeScript validator accepts, decoding to what the C++ side printed', (ctx) => {
    if (skip) ctx.skip(skip);
    const rs = records();
    expect(rs.length).toBeGreaterThan(0);
    let off = 0;
    for (const r of rs) {
      expect(r.problem).toBeUndefined();
      expect(validateRecord(raw, off, raw.length - off)).toBeUndefined();
      const h = readHeader(raw, off);
      expect(h.size).toBe(r.size);
      const ev = decodeEvent(raw, off) as any;
      expect(ev.type).toBe(r.rec);
      expect(String(ev.time)).toBe(r.time);
      expect(ev.cpu).toBe(r.cpu);
      const text = (b: unknown) => (typeof b === 'string' ? b : Buffer.from(b as Uint8Array).toString('latin1'));
      switch (r.rec) {
        case 'fork':
        case 'exec':
          expect({ pid: ev.pid, ppid: ev.ppid, inode: ev.inode }).toEqual({ pid: r.pid, ppid: r.ppid, inode: r.inode });
          if (r.path !== undefined) expect(text(ev.path)).toBe(r.path);
          if (r.argv !== undefined) expect(ev.argv.map(text)).toEqual(r.argv);
          if (r.comm !== undefined) expect(text(ev.comm)).toBe(r.comm);
          if (r.ctxNuls !== undefined) expect({ tty: ev.tty, containerId: ev.containerId, cgroup: ev.cgroup }).toEqual({ tty: r.tty, containerId: r.containerId, cgroup: r.cgroup });
          if (r.ctxNuls !== undefined && r.ctxNuls !== 0) expect(r.ctxNuls).toBe(2);
          break;
        case 'exit':
          expect({ pid: ev.pid, exitCode: ev.exitCode }).toEqual({ pid: r.pid, exitCode: r.exitCode });
          break;
        case 'creds':
          expect(ev.pid).toBe(r.pid);
          expect(Object.keys(ev.credentials).sort()).toEqual(Object.keys(r.creds).sort());
          break;
        case 'rename':
          expect({ pid: ev.pid, comm: text(ev.comm) }).toEqual({ pid: r.pid, comm: r.comm });
          break;
        case 'lost':
          expect(ev.count).toBe(r.count);
          break;
      }
      off += r.size;
    }
    expect(off).toBe(raw.length);
  });

  it('reports /bin/sh -c "/bin/true x y; exit 3" with its pids, parents, paths, argv, credentials, context and exit statuses', (ctx) => {
    if (skip) ctx.skip(skip);
    const t = one('tree');
    expect(t.status).toBe(768);
    expect(t.true).toBeGreaterThan(0);
    const sh = realpathSync('/bin/sh');
    const tru = realpathSync('/bin/true');

    expect(recs('fork', t.sh)).toMatchObject([{ ppid: t.self }]);
    expect(recs('exec', t.sh)).toMatchObject([
      { ppid: t.self, path: sh, comm: 'sh', argv: ['/bin/sh', '-c', '/bin/true x y; exit 3'], inode: statSync(sh).ino, prevInode: 0 },
    ]);
    expect(recs('fork', t.true)).toMatchObject([{ ppid: t.sh }]);
    expect(recs('exec', t.true)).toMatchObject([
      { ppid: t.sh, path: tru, comm: 'true', argv: ['/bin/true', 'x', 'y'], inode: statSync(tru).ino, flags: 0 },
    ]);
    expect(recs('exit', t.true)).toMatchObject([{ exitCode: 0 }]);
    expect(recs('exit', t.sh)).toMatchObject([{ exitCode: 768 }]);

    // Credentials and context: those of this process, which the tree inherits.
    const status = parseStatus(readFileSync('/proc/self/status', 'utf8')).credentials;
    const auid = Number(readFileSync('/proc/self/loginuid', 'utf8').trim());
    const stat = parseStatLine(readFileSync('/proc/self/stat', 'utf8'))!;
    const cgroup = parseCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
    const exec = recs('exec', t.true)[0]!;
    expect(exec.creds).toEqual({
      uid: status.uid, gid: status.gid, euid: status.euid, egid: status.egid, fsuid: status.fsuid, fsgid: status.fsgid,
      auid, capEffective: String(status.capEffective), capPermitted: String(status.capPermitted),
    });
    expect({ tty: exec.tty, containerId: exec.containerId, cgroup: exec.cgroup }).toEqual({
      tty: parseTtyNr(stat.ttyNr), containerId: containerIdFromCgroup(cgroup), cgroup,
    });

    // Times are CLOCK_BOOTTIME nanoseconds, in the order of the events.
    const time = (r: Line) => BigInt(r.time);
    const seq = [recs('fork', t.sh)[0]!, recs('exec', t.sh)[0]!, recs('fork', t.true)[0]!, recs('exec', t.true)[0]!,
      recs('exit', t.true)[0]!, recs('exit', t.sh)[0]!].map(time);
    expect(seq[0]! >= BigInt(t.bootBefore)).toBe(true);
    expect(seq[5]! <= BigInt(t.bootAfter)).toBe(true);
    for (let i = 1; i < seq.length; i++) expect(seq[i]! >= seq[i - 1]!).toBe(true);
  });

  it('a child dropping to 65534 gets CREDS records (gid change, then uid change) completed from /proc', (ctx) => {
    if (skip) ctx.skip(skip);
    const s = one('setuid');
    expect(s.seen).toBe(true);
    expect(s.status).toBe(0);
    const creds = recs('creds', s.pid);
    expect(creds).toHaveLength(2);
    const [gidRec, uidRec] = creds;
    expect(gidRec!.credsMask & CRED_GID).toBe(CRED_GID);
    expect(gidRec!.creds).toMatchObject({ gid: 65534, egid: 65534 });
    expect(uidRec!.credsMask & CRED_UID).toBe(CRED_UID);
    // /proc status was read: every field, the setgid before it included.
    expect(uidRec!.credsMask).toBe(511);
    expect(uidRec!.creds).toMatchObject({ uid: 65534, euid: 65534, fsuid: 65534, gid: 65534, egid: 65534, fsgid: 65534, capEffective: '0' });
    expect(recs('exit', s.pid)).toMatchObject([{ exitCode: 0 }]);
  });

  it('a prctl(PR_SET_NAME) rename is a RENAME record, and exit(5) a wait status of 1280', (ctx) => {
    if (skip) ctx.skip(skip);
    const r = one('rename');
    expect(r.seen).toBe(true);
    expect(r.status).toBe(1280);
    expect(recs('fork', r.pid)).toHaveLength(1);
    expect(recs('rename', r.pid)).toMatchObject([{ comm: 'fl-renamed', size: 56 }]);
    expect(recs('exit', r.pid)).toMatchObject([{ exitCode: 1280 }]);
  });

  it('threads are not reported as forks, exits or renames (counted as threads_skipped)', (ctx) => {
    if (skip) ctx.skip(skip);
    const th = one('threads');
    const tree = one('tree');
    const tids = new Set<number>(th.tids);
    expect(tids.size).toBe(4);
    for (const r of records()) {
      if (r.pid !== undefined) expect(tids.has(r.pid)).toBe(false);
    }
    expect(recs('fork', tree.self)).toHaveLength(0);
    expect(recs('exit', th.marker)).toHaveLength(1);
    expect(one('counters').threads_skipped).toBeGreaterThanOrEqual(4);
  });

  it('headers: host pids, gseq 0, cpuSeq rising per CPU; counters match the records; one publish per batch', (ctx) => {
    if (skip) ctx.skip(skip);
    const c = one('counters');
    const stop = one('stop');
    const rs = records();
    const last = new Map<number, bigint>();
    let lostSum = 0;
    for (const r of rs) {
      expect(r.pidns).toBe(0);
      expect(r.gseq).toBe('0');
      if (r.rec === 'lost') {
        lostSum += r.count;
        continue;
      }
      const s = BigInt(r.cpuSeq);
      expect(s > (last.get(r.cpu) ?? 0n)).toBe(true);
      last.set(r.cpu, s);
    }
    expect(lostSum).toBe(c.lost);
    const count = (rec: string) => rs.filter((r) => r.rec === rec).length;
    expect(count('fork')).toBe(c.fork);
    expect(count('exec')).toBe(c.exec);
    expect(count('exit')).toBe(c.exit);
    expect(count('creds')).toBe(c.uid + c.gid);
    expect(count('rename')).toBe(c.comm);
    expect(c.ring_full).toBe(0);
    expect(c.messages).toBeGreaterThanOrEqual(c.fork + c.exec + c.exit + c.uid + c.gid + c.comm + c.threads_skipped);
    expect(stop.writes).toBe(rs.length);
    expect(stop.published).toBe(stop.bytes);
    expect(stop.publishes).toBeGreaterThan(0);
    expect(stop.publishes).toBeLessThanOrEqual(stop.writes);
  });

  it('stops promptly and idempotently; 20 open/start/stop cycles leave no fd or thread behind', (ctx) => {
    if (skip) ctx.skip(skip);
    expect(one('stop').ms).toBeLessThan(250);
    const cy = one('cycles');
    expect(cy.failures).toBe(0);
    expect(cy.fdsAfter).toBe(cy.fdsBefore);
    expect(cy.tasksAfter).toBe(cy.tasksBefore);
    expect(cy.maxStopMs).toBeLessThan(250);
  });
});
