import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';

describe('fixed capacity', () => {
  it('flushes exited pids, oldest exit first, when no row is free, and counts each eviction', () => {
    const r = new ProcessResolver({ capacity: 16, exitedRetention: 1_000_000n });
    let t = 1n;
    for (let pid = 10; pid < 26; pid++) r.addForkEntry({ pid, ppid: 0, time: t++ });
    r.applyExitEntry({ pid: 12, time: t++ });
    r.applyExitEntry({ pid: 11, time: t++ });
    expect(r.stats().rows).toBe(16);

    const e = r.addForkEntry({ pid: 30, ppid: 0, time: t++ });
    expect(e?.pid).toBe(30);
    expect(r.resolve(12)).toBeUndefined(); // exited first: evicted first
    expect(r.resolve(11)?.exitTime).not.toBe(0n);
    expect(r.stats().evicted).toBe(1);
    expect(r.stats().rows).toBe(16);
  });

  it('rejects a new entry, counted, when every row holds a live process or a needed ancestor', () => {
    const r = new ProcessResolver({ capacity: 16 });
    let t = 1n;
    for (let pid = 10; pid < 26; pid++) expect(r.addForkEntry({ pid, ppid: 0, time: t++ })).toBeDefined();
    const before = r.size;
    expect(r.addForkEntry({ pid: 40, ppid: 10, time: t++ })).toBeUndefined();
    expect(r.addExecEntry({ pid: 10, time: t++, path: '/bin/x', inode: 1 })).toBeUndefined();
    expect(r.stats().rejected.tableFull).toBe(2);
    expect(r.size).toBe(before);
    // the rejected exec left pid 10 as it was
    expect(r.resolve(10)?.isExec).toBe(false);
    expect(r.resolve(10)?.exitTime).toBe(0n);
  });

  it('survives a fork bomb: bounded rows, no crash, every drop counted', () => {
    const r = new ProcessResolver({ capacity: 1024, exitedRetention: 0n });
    let t = 1n;
    r.addForkEntry({ pid: 1, ppid: 0, time: t++ });
    let accepted = 0;
    let rejected = 0;
    // a bomb: every process forks two children and never exits
    const queue = [1];
    let nextPid = 2;
    while (nextPid < 200_000) {
      const parent = queue.shift() ?? 1;
      for (let k = 0; k < 2; k++) {
        const pid = nextPid++ % 4194304 || 3;
        if (pid === 2) continue;
        if (r.addForkEntry({ pid, ppid: parent, time: t++ })) {
          accepted++;
          queue.push(pid);
        } else rejected++;
      }
    }
    const s = r.stats();
    expect(s.rows).toBeLessThanOrEqual(1024);
    expect(s.rejected.tableFull).toBe(rejected);
    expect(accepted + rejected).toBeGreaterThan(190_000);
    expect(s.cacheSize).toBe(s.rows); // nothing exited: every row is a live process
  });

  it('stores an empty string and counts it when the string arena is full, instead of failing the event', () => {
    const r = new ProcessResolver({ capacity: 64, stringCapacity: 16, stringBytes: 1 });
    let t = 1n;
    let stored = 0;
    for (let pid = 10; pid < 40; pid++) {
      const e = r.addExecEntry({ pid, time: t++, path: `/bin/tool-${pid}`, inode: pid, argv: [`tool-${pid}`] });
      expect(e).toBeDefined();
      if (e!.path === `/bin/tool-${pid}`) stored++;
    }
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(30);
    expect(r.stats().stringsFull).toBeGreaterThan(0);
  });
});

describe('exit queue under churn', () => {
  it('never evicts while rows are free, however many exits were flushed by delete or pid reuse', () => {
    const r = new ProcessResolver({ capacity: 16, exitedRetention: 1_000_000_000n });
    let t = 1n;
    r.addForkEntry({ pid: 1, ppid: 0, time: t++ });
    for (let i = 0; i < 10_000; i++) {
      const pid = 100 + (i % 5);
      r.addForkEntry({ pid, ppid: 1, time: t++ });
      r.applyExitEntry({ pid, time: t++ });
      if (i % 2 === 0) r.deleteEntry(pid, t++); // leaves a stale exit in the queue
    }
    const s = r.stats();
    expect(s.evicted).toBe(0);
    expect(s.rejected.tableFull).toBe(0);
    expect(s.rows).toBeLessThanOrEqual(6);
  });
});

describe('strings', () => {
  it('stores a string whole after a longer one with multi-byte characters went through the same buffers', () => {
    const r = new ProcessResolver();
    r.addExecEntry({ pid: 1, time: 1n, path: '/opt/ré', inode: 1, interpreter: '/bin/sh' });
    expect(r.resolve(1)?.interpreter).toBe('/bin/sh');
    const e = r.addExecEntry({ pid: 2, time: 2n, path: '/bin/sh', inode: 2 })!;
    expect(e.path).toBe('/bin/sh');
    expect(e.comm).toBe('sh');
  });
});
