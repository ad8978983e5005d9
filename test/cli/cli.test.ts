import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { liveSkipReason, liveTitle } from '../live/harness.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');

function forkline(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('forkline command', () => {
  it('run --source procfs polls /proc for --duration and writes the summary JSON', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'forkline-cli-')), 'summary.json');
    const socket = join(out, '..', 'forkline.sock');
    const r = forkline('run', '--source', 'procfs', '--duration', '1', '--interval', '200', '--summary-json', out, '--json', '--socket', socket);
    expect(r.status).toBe(0);
    const summary = JSON.parse(readFileSync(out, 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(summary);
    expect(summary.source).toBe('procfs');
    expect(summary.events.fork).toBeGreaterThan(0); // at least this test's own processes
    expect(summary.applied).toBe(summary.events.fork + summary.events.exec + summary.events.exit);
    expect(summary.dropped.total).toBe(0);
    expect(summary.cacheSize).toBeGreaterThan(0);
    expect(summary.seconds).toBeGreaterThanOrEqual(1);
    expect(r.stderr).toMatch(/processes that start and exit between two polls are not seen/);
    expect(r.stderr).toContain(`query socket ${socket}`);
    expect(existsSync(socket)).toBe(false); // removed at the end
  });

  const liveSkip = liveSkipReason('bpf');
  it.skipIf(liveSkip !== undefined)(
    liveTitle('run picks BPF live, records the stream it applied, and the recording replays to the same counts', liveSkip),
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'forkline-cli-'));
      const out = join(dir, 'summary.json');
      const recording = join(dir, 'run.fkl');
      const run = spawn(process.execPath, [BIN, 'run', '--duration', '3', '--summary-json', out, '--record', recording, '--json', '--no-socket'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // processes for it to see while it runs
      const churn = setInterval(() => spawnSync('/bin/true'), 50);
      const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
      clearInterval(churn);
      expect([code, stderr]).toEqual([0, expect.stringMatching(/^forkline run: source bpf$/m)]);
      const summary = JSON.parse(readFileSync(out, 'utf8'));
      expect(JSON.parse(stdout)).toEqual(summary);
      expect(summary.source).toBe('bpf');
      expect(summary.events.fork).toBeGreaterThan(10);
      expect(summary.events.exec).toBeGreaterThan(10);
      expect(summary.dropped.total).toBe(0);
      expect(summary.capture.snapshot.processes).toBeGreaterThan(0);
      const replayed = forkline('replay', recording, '--json');
      expect(replayed.status).toBe(0);
      expect(JSON.parse(replayed.stdout).events).toEqual(summary.events);
    },
    60_000,
  );

  it('run names why a source cannot start, and exits 2 when none can', () => {
    const r = forkline('run', '--source', 'bpf', '--ring-bytes-per-cpu', '3000');
    expect(r.status).toBe(2);
    // as root the options are what is wrong; elsewhere the privilege is, first
    expect(r.stderr).toMatch(process.getuid?.() === 0 ? /source bpf cannot start: .*ring/ : /source bpf cannot start: /);
    expect(r.stderr).toMatch(/no live source could start \(bpf tried\)/);
  });

  it('rejects an unknown source with the list of choices', () => {
    const r = forkline('run', '--source', 'kprobe');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bpf, netlink, procfs/);
  });

  it('snapshot prints the cache as JSON with this process in it', () => {
    const r = forkline('snapshot');
    expect(r.status).toBe(0);
    const { entries } = JSON.parse(r.stdout) as { entries: { pid: number; live: boolean }[] };
    expect(entries.some((e) => e.pid === process.pid && e.live)).toBe(true);
  });
});
