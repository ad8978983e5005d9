import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');

function forkline(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('forkline command', () => {
  it('run picks the best available source, runs for --duration and writes the summary JSON', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'forkline-cli-')), 'summary.json');
    const r = forkline('run', '--duration', '1', '--interval', '200', '--summary-json', out, '--json');
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
  });

  it('run --source names what is missing when a source cannot be used, and exits 2', () => {
    const r = forkline('run', '--source', 'bpf');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--source bpf cannot be used: BPF capture is not part of this build/);
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
