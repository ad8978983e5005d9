// Wall-clock times (issue 13, point 12): entries and dumps give fork, exec
// and exit times as wall clock next to the boot-clock ns, from the host's
// boot time read once (the seed's ApplyBootTime). docs/cache.md, "Entries
// and instances".

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { readBootTimeMs } from '../../src/procfs/read.js';

const BOOT = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

describe('wall-clock times', () => {
  it('adds the boot time to the boot-clock ns of fork, exec and exit; 0 stays 0', () => {
    const r = new ProcessResolver({ capacity: 16, bootTimeMs: BOOT });
    const f = r.addForkEntry({ pid: 10, ppid: 0, time: 1_500_000_000n })!; // 1.5 s after boot
    expect(f.forkTimeWall).toBe(BOOT + 1500);
    expect(f.execTimeWall).toBe(0);
    expect(f.exitTimeWall).toBe(0);
    r.addExecEntry({ pid: 10, time: 2_000_000_123n, path: '/bin/a', inode: 1 });
    r.applyExitEntry({ pid: 10, time: 3_000_000_000_000n }); // ~50 min: both int32 words in use
    const e = r.resolve(10)!;
    expect(e.forkTimeWall).toBe(BOOT + 1500);
    expect(e.execTimeWall).toBeCloseTo(BOOT + 2000.000123, 3);
    expect(e.exitTimeWall).toBe(BOOT + 3_000_000);
    expect(new Date(e.exitTimeWall).toISOString()).toBe('2026-01-02T03:54:05.006Z');
  });

  it('dumps give them as ISO 8601, null for an unknown time', () => {
    const r = new ProcessResolver({ capacity: 16, bootTimeMs: BOOT });
    r.addForkEntry({ pid: 10, ppid: 0, time: 1_000_000_000n });
    const [entry] = (JSON.parse(r.toJSON()) as { entries: Record<string, unknown>[] }).entries;
    expect(entry).toMatchObject({
      forkTime: '1000000000', forkTimeWall: '2026-01-02T03:04:06.006Z', execTimeWall: null, exitTimeWall: null,
    });
  });

  it('reads the boot time once, from <procRoot>/uptime', () => {
    const root = mkdtempSync(join(tmpdir(), 'forkline-uptime-'));
    try {
      writeFileSync(join(root, 'uptime'), '100.50 180.00\n');
      const before = Date.now();
      const r = new ProcessResolver({ capacity: 16, procRoot: root });
      const after = Date.now();
      const wall = r.addForkEntry({ pid: 10, ppid: 0, time: 100_500_000_000n })!.forkTimeWall; // "now" on that host
      expect(wall).toBeGreaterThanOrEqual(before);
      expect(wall).toBeLessThanOrEqual(after);
      writeFileSync(join(root, 'uptime'), '5000.00 1.00\n'); // not read again
      expect(r.addForkEntry({ pid: 11, ppid: 0, time: 100_500_000_000n })!.forkTimeWall).toBe(wall);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the host boot time is in the past and agrees with the system', () => {
    const boot = readBootTimeMs();
    expect(boot).toBeLessThan(Date.now());
    expect(Math.abs(boot - readBootTimeMs('/nonexistent'))).toBeLessThan(2000); // fallback: os.uptime()
  });

  it('rejects a bad bootTimeMs', () => {
    expect(() => new ProcessResolver({ bootTimeMs: Number.NaN })).toThrow(TypeError);
    expect(() => new ProcessResolver({ bootTimeMs: '0' as never })).toThrow(TypeError);
  });
});
