import { describe, expect, it } from 'vitest';
import { bytesPerRow, ProcessResolver } from '../../src/index.js';

/** Occupancy figures that must come back to their starting values. */
function occupancy(r: ProcessResolver) {
  const s = r.stats();
  return {
    live: s.cacheSize,
    rows: s.rows,
    strings: s.strings.count,
    stringBytes: s.strings.bytes,
    credentialSets: r.table.creds.strings.count,
  };
}

describe('row size', () => {
  it('a cached process row costs at most 96 bytes (docs/architecture.md), its share of the pid index included', () => {
    for (const capacity of [4096, 65536, 1 << 20]) expect(bytesPerRow(capacity)).toBeLessThanOrEqual(96);
    expect(new ProcessResolver({ capacity: 4096 }).stats().bytesPerRow).toBeLessThanOrEqual(96);
  });
});

describe('memory return', () => {
  it('after 1M short-lived processes have come and gone, the tables are back to their starting occupancy', () => {
    const r = new ProcessResolver({ capacity: 8192, exitedRetention: 1000n });
    let t = 1n;
    r.addForkEntry({ pid: 1, ppid: 0, time: t++, path: '/sbin/init', inode: 1 });
    r.addForkEntry({ pid: 50, ppid: 1, time: t++ });
    r.addExecEntry({ pid: 50, time: t++, path: '/bin/bash', inode: 2, argv: ['bash'] });
    const start = occupancy(r);

    let pidSeq = 0;
    const nextPid = () => 100 + (pidSeq++ % 30000);
    let processes = 0;
    while (processes < 1_000_000) {
      // a shell forks a worker that execs, forks a child that execs with a
      // unique argv and changes uid; the worker exits before its child, so
      // the child keeps an exited ancestor alive for a while
      const worker = nextPid();
      r.addForkEntry({ pid: worker, ppid: 50, time: t++ });
      r.addExecEntry({ pid: worker, time: t++, path: '/usr/bin/make', inode: 3, argv: ['make', `-j${processes % 7}`] });
      const child = nextPid();
      r.addForkEntry({ pid: child, ppid: worker, time: t++ });
      r.addExecEntry({
        pid: child,
        time: t++,
        path: `/usr/bin/cc${processes % 3}`,
        inode: 4 + (processes % 3),
        argv: ['cc', '-c', `file${processes}.c`],
        credentials: { uid: 1000 + (processes % 5) },
      });
      r.updateUid(child, { euid: 2000 + (processes % 11) });
      r.applyExitEntry({ pid: worker, time: t++, exitCode: 0 });
      if (processes % 3 === 0) r.deleteEntry(worker, t++);
      r.applyExitEntry({ pid: child, time: t++, exitCode: 1 });
      r.dequeueExited();
      processes += 2;
    }
    t += 10_000n;
    r.dequeueExited(t);

    expect(r.stats().added.event).toBeGreaterThanOrEqual(2_000_000);
    expect(r.stats().rejected.tableFull).toBe(0);
    expect(occupancy(r)).toEqual(start);
    expect(r.resolve(50)?.path).toBe('/bin/bash');
  }, 120_000);
});
