// A fork/exec storm at this machine's limit for 10 s under live BPF
// capture: zero lost events (every loss is counted, and fails the test),
// every storm child in the cache with the right parent, and the fork, exec
// and exit counts of the recorded stream equal to what the storm drivers
// report. Figures (events/s, agent CPU) are printed for the closing notes,
// not asserted (speed is measured in bench/).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecEvent, ForkEvent } from '../../src/record/events.js';
import { H_SIZE } from '../../src/record/constants.js';
import { decodeEvent } from '../../src/record/decode.js';
import { ReplaySource, ReplayWriter } from '../../src/pipeline/sources/replay.js';
import type { RunSummary } from '../../src/pipeline/summary.js';
import { liveSkipReason, liveTitle, ownAndParent, startLive } from './harness.js';

const skip = liveSkipReason('bpf');
const SECONDS = 10;
const DRIVERS = 2;

interface Driver {
  pid: number;
  forks: number;
  execs: number;
  failed: number;
}

function runDriver(bin: string): Promise<Driver> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`storm driver exited ${code}`));
      const [forks, execs, failed] = out.trim().split(' ').map(Number);
      resolve({ pid: p.pid!, forks: forks!, execs: execs!, failed: failed! });
    });
  });
}

describe.skipIf(skip !== undefined)(liveTitle(`live BPF capture: a ${SECONDS} s fork/exec storm`, skip), () => {
  let dir = '';
  let drivers: Driver[] = [];
  let summary: RunSummary;
  let stream = { forks: 0, execs: 0, exits: 0 };
  let children = new Map<number, number>(); // child pid -> driver pid (the last storm child of that pid)
  const missingParent: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'forkline-storm-'));
    const bin = join(dir, 'storm');
    execFileSync('gcc', ['-O2', '-o', bin, join(import.meta.dirname, 'storm.c')]);
    const recording = join(dir, 'storm.fkl');
    const recorder = await ReplayWriter.create(recording);
    const live = startLive('bpf', { recorder, capacity: 1 << 18, ringBytes: 64 << 20 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    drivers = await Promise.all(Array.from({ length: DRIVERS }, () => runDriver(bin)));
    await live.caughtUp(live.now(), 30_000);
    const seconds = (performance.now() - t0) / 1000;
    // every storm child: the cache's current entry of its pid has its driver as parent
    const driverPids = new Set(drivers.map((d) => d.pid));
    summary = await live.stop();
    await recorder.close();
    const cpu = process.cpuUsage(cpu0);
    // the recorded stream: what the agent applied, counted against the drivers' ground truth
    const live2 = new Set<number>();
    for await (const chunk of new ReplaySource(recording).chunks()) {
      const dv = new DataView(chunk.bytes.buffer, chunk.bytes.byteOffset, chunk.bytes.byteLength);
      for (let off = 0; off < chunk.bytes.length; off += dv.getUint32(off + H_SIZE, true)) {
        const ev = decodeEvent(chunk.bytes, off);
        if (ev.type === 'fork' && !(ev as ForkEvent).snapshot && driverPids.has((ev as ForkEvent).ppid)) {
          stream.forks++;
          live2.add(ev.pid);
          children.set(ev.pid, (ev as ForkEvent).ppid);
        } else if (ev.type === 'exec' && live2.has(ev.pid) && (ev as ExecEvent).argv?.[0] === '/bin/true') {
          stream.execs++;
        } else if (ev.type === 'exit' && live2.has(ev.pid)) {
          stream.exits++;
          live2.delete(ev.pid);
        }
      }
    }
    for (const [pid, driver] of children) {
      const e = ownAndParent(live.view.resolve(pid)).parent;
      if (e?.pid !== driver) missingParent.push(`${pid} (parent ${e?.pid ?? 'none'}, expected ${driver})`);
    }
    const events = summary.events.fork + summary.events.exec + summary.events.exit;
    process.stderr.write(
      `storm: ${drivers.map((d) => `driver ${d.pid}: ${d.forks} forks, ${d.execs} execs`).join('; ')}; ` +
        `${events} fork+exec+exit events in ${seconds.toFixed(1)} s = ${Math.round(events / seconds)}/s; ` +
        `drops ${summary.dropped.total}, capture lost ${summary.capture?.lost ?? 'n/a'}; ` +
        `agent CPU (this process: capture thread, router, shard workers, test) ${(((cpu.user + cpu.system) / 1e6 / seconds) * 100).toFixed(1)}% of one core\n`,
    );
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the drivers really stormed', () => {
    for (const d of drivers) {
      expect(d.failed).toBe(0);
      expect(d.forks).toBeGreaterThan(1000);
    }
  });

  it('lost nothing: no kernel reserve failure, no sequence gap, no full ring, no decode error', () => {
    expect(summary.dropped).toEqual({ total: 0, ringFull: 0, decodeErrors: 0, tableFull: 0, lostEvents: 0, linkMessages: 0 });
    expect(summary.capture).toMatchObject({ lost: 0, ringFull: 0, reserveFailures: 0 });
  });

  it('saw exactly the forks, execs and exits the drivers made', () => {
    const truth = drivers.reduce((t, d) => ({ forks: t.forks + d.forks, execs: t.execs + d.execs }), { forks: 0, execs: 0 });
    expect(stream).toEqual({ forks: truth.forks, execs: truth.execs, exits: truth.forks });
  });

  it('resolves every storm child with its driver as parent', () => {
    expect(children.size).toBeGreaterThan(1000);
    expect(missingParent.slice(0, 10)).toEqual([]);
  });
});
