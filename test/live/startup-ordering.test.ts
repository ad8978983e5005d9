// Startup ordering (docs/capture.md): attach, then snapshot /proc, then the
// buffered live records. Processes are born continuously across the
// startup: none of those born after the attach is missed, none is sent
// twice (once from /proc, once from its live FORK), and the ones already
// running come from the snapshot. As root; elsewhere skipped with the reason.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForkEvent } from '../../src/record/events.js';
import { H_SIZE } from '../../src/record/constants.js';
import { decodeEvent } from '../../src/record/decode.js';
import { ReplaySource, ReplayWriter } from '../../src/pipeline/sources/replay.js';
import { eventually, liveSkipReason, liveTitle, ownAndParent, sleep, startLive } from './harness.js';
import type { SnapshotCounts } from '../../src/pipeline/sources/capture.js';

for (const kind of ['bpf', 'netlink'] as const) {
  const skip = liveSkipReason(kind);
  describe.skipIf(skip !== undefined)(liveTitle(`live ${kind} capture: processes born while it starts`, skip), () => {
    let dir = '';
    const forks = new Map<number, { snapshot: number; live: number }>();
    let bornBefore: number[] = [];
    let bornAfter: number[] = [];
    let stillRunning: number[] = [];
    let resolvedAfter: boolean[] = [];
    let bornDuring = 0;
    let execerPid = 0;
    let subPid = 0;
    let subChain: [string, string][] = [];
    let subParent = 0;
    let counts: SnapshotCounts | undefined;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'forkline-startup-'));
      const pids = join(dir, 'pids.txt');
      // a child every ~5 ms, each living 0.4 s: some run across the snapshot, some are born during it
      const churn = spawn('/bin/sh', ['-c', `i=0; while [ $i -lt 400 ]; do /bin/sleep 0.4 & echo $! >> ${pids}; i=$((i+1)); /bin/sleep 0.005; done; wait`], {
        stdio: 'ignore',
      });
      await sleep(300);
      // long-lived processes that run before, during and after the start
      const sleepers = Array.from({ length: 5 }, () => spawn('/bin/sleep', ['5'], { stdio: 'ignore' }));
      stillRunning = sleepers.map((p) => p.pid!);
      // a forked subshell that execs right after the attach, before the scan reads it
      const flag = join(dir, 'go');
      const subPidFile = join(dir, 'sub.pid');
      const execer = spawn('/bin/sh', ['-c', `( while [ ! -e ${flag} ]; do /bin/sleep 0.01; done; exec /bin/sleep 3 ) & echo $! > ${subPidFile}; wait`], {
        stdio: 'ignore',
      });
      execerPid = execer.pid!;
      await sleep(100);
      const recording = join(dir, 'startup.fkl');
      const recorder = await ReplayWriter.create(recording);
      const before = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      // 300 ms between the attach and the scan: every child born then is both buffered and on /proc
      const live = startLive(kind, { recorder, snapshotDelayMs: 300 });
      const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      writeFileSync(flag, ''); // the subshell execs now: after the attach, within the 300 ms before the scan
      subPid = Number(readFileSync(subPidFile, 'utf8'));
      bornBefore = before;
      await new Promise((r) => churn.on('exit', r));
      await live.caughtUp(live.now());
      const all = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      bornAfter = all.slice(started.length);
      resolvedAfter = bornAfter.map((pid) => live.view.resolve(pid)?.path === '/usr/bin/sleep');
      await eventually(() => expect(live.view.resolve(subPid)?.path).toBe('/usr/bin/sleep'));
      const sub = ownAndParent(live.view.resolve(subPid));
      subChain = sub.own.map((e) => [e.path, e.source]);
      subParent = sub.parent?.pid ?? 0;
      execer.kill();
      await live.stop();
      bornDuring = live.source.snapshotCounts.bornDuringSnapshot;
      counts = { ...live.source.snapshotCounts };
      await recorder.close();
      for (const p of sleepers) p.kill();
      for await (const chunk of new ReplaySource(recording).chunks()) {
        const dv = new DataView(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength);
        for (let off = 0; off < chunk.bytes.length; off += dv.getUint32(off + H_SIZE, true)) {
          const ev = decodeEvent(chunk.bytes, off);
          if (ev.type !== 'fork') continue;
          const f = forks.get(ev.pid) ?? { snapshot: 0, live: 0 };
          if ((ev as ForkEvent).snapshot) f.snapshot++;
          else f.live++;
          forks.set(ev.pid, f);
        }
      }
    }, 60_000);

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('left out of the snapshot the processes whose live FORK was buffered', () => {
      expect(bornDuring).toBeGreaterThan(10);
    });

    it('a process that execs between the attach and the scan keeps its image before the exec (bpf), or is counted (netlink)', () => {
      expect(subParent).toBe(execerPid);
      if (kind === 'bpf') {
        // the EXEC's previous image is its parent's: the snapshot entry is the fork image, then the live exec
        expect(subChain).toEqual([
          ['/usr/bin/sleep', 'event'],
          ['/usr/bin/dash', 'snapshot'],
        ]);
        expect(counts?.execDuringSnapshot).toBeGreaterThanOrEqual(1);
      } else {
        // netlink EXECs carry no previous inode: sent as /proc showed it, counted
        expect(subChain).toEqual([
          ['/usr/bin/sleep', 'event'],
          ['/usr/bin/sleep', 'snapshot'],
        ]);
        expect(counts?.execDuringSnapshotAsRead).toBeGreaterThanOrEqual(1);
      }
    });

    it('sends no process twice', () => {
      const twice = [...forks].filter(([, f]) => f.snapshot > 0 && f.live > 0 && f.snapshot + f.live > 1);
      // a pid reused by a new process during the test would have a snapshot FORK and a live one legitimately;
      // the churn's pids are not reused within 2 s on this machine (pid_max is far larger than what it spawns)
      const churnPids = new Set([...bornBefore, ...bornAfter]);
      expect(twice.filter(([pid]) => churnPids.has(pid))).toEqual([]);
    });

    it('misses none of the processes born after it started, sends each once from its live FORK, and resolves them', () => {
      expect(bornAfter.length).toBeGreaterThan(50);
      const wrong = bornAfter.filter((pid) => forks.get(pid)?.live !== 1 || forks.get(pid)?.snapshot !== 0);
      expect(wrong.map((pid) => [pid, forks.get(pid)])).toEqual([]);
      expect(resolvedAfter.filter((ok) => !ok).length).toBe(0);
    });

    it('takes the processes already running from the /proc snapshot', () => {
      expect(stillRunning.map((pid) => forks.get(pid))).toEqual(stillRunning.map(() => ({ snapshot: 1, live: 0 })));
    });
  });
}
