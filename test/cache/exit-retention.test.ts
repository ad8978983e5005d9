// Exit, deletion, retention and reclamation: docs/cache.md "Exit and deletion"
// (issue point 5; the 1M-process occupancy test lives in memory.test.ts).

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { bootInit, chainOf, sec } from './helpers.js';

describe('exit', () => {
  it('marks the current entry exited with its time and code; it stays resolvable until flushed', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    expect(r.applyExitEntry({ pid: 10, time: 150n, exitCode: 137 })).toBe(true);
    const e = r.resolve(10)!;
    expect(e.exitTime).toBe(150n);
    expect(e.exitCode).toBe(137);
    expect(r.size).toBe(2);
    // late events about it still apply
    expect(r.updateUid(10, { uid: 7 })).toBe(true);
    expect(r.resolve(10)?.credentials.uid).toBe(7);
  });

  it('an exit of an unknown pid returns false and is counted in exitMisses', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const rows = r.stats().rows;
    expect(r.applyExitEntry({ pid: 999, time: 5n })).toBe(false);
    expect(r.stats().exitMisses).toBe(1);
    expect(r.stats().rows).toBe(rows);
  });

  it('exits the current exec image, not an older one', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.addExecEntry({ pid: 10, time: 200n, path: '/bin/sh', inode: 5 });
    r.applyExitEntry({ pid: 10, time: 300n });
    const [cur, forked] = chainOf(r.resolve(10));
    expect(cur!.path).toBe('/bin/sh');
    expect(cur!.exitTime).toBe(300n);
    expect(forked!.exitTime).toBe(200n);
  });
});

describe('dequeueExited and exitedRetention', () => {
  it('flushes an exited pid only once its exit is at least exitedRetention older than now', () => {
    const r = new ProcessResolver({ exitedRetention: 1000n });
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.applyExitEntry({ pid: 10, time: 5000n });
    expect(r.dequeueExited(5999n)).toBe(0);
    expect(r.resolve(10)?.exitTime).toBe(5000n);
    expect(r.dequeueExited(6000n)).toBe(1);
    expect(r.resolve(10)).toBeUndefined();
    expect(r.size).toBe(1);
    expect(r.stats().flushed).toBe(1);
    // a second call has nothing left to flush
    expect(r.dequeueExited(1_000_000n)).toBe(0);
  });

  it('keeps a running pid whatever now is', () => {
    const r = new ProcessResolver({ exitedRetention: 0n });
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    expect(r.dequeueExited(sec(1e6))).toBe(0);
    expect(r.resolve(10)?.exitTime).toBe(0n);
  });

  it('defaults the retention to 5 seconds', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: sec(0.5) });
    r.applyExitEntry({ pid: 10, time: sec(1) });
    expect(r.dequeueExited(sec(6) - 1n)).toBe(0);
    expect(r.resolve(10)).toBeDefined();
    expect(r.dequeueExited(sec(6))).toBe(1);
    expect(r.resolve(10)).toBeUndefined();
  });

  it('defaults now to the newest event time applied so far', () => {
    const r = new ProcessResolver({ exitedRetention: sec(1) });
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: sec(1) });
    r.applyExitEntry({ pid: 10, time: sec(2) });
    expect(r.dequeueExited()).toBe(0); // newest event: 2 s
    r.addForkEntry({ pid: 11, ppid: 1, time: sec(2.5) });
    expect(r.dequeueExited()).toBe(0); // newest event: 2.5 s
    r.addExecEntry({ pid: 11, time: sec(3), path: '/bin/sh', inode: 4 });
    expect(r.dequeueExited()).toBe(1); // newest event: 3 s
    expect(r.resolve(10)).toBeUndefined();
    expect(r.resolve(11)).toBeDefined();
  });

  it('flushes every exited pid old enough, even when exits were applied out of time order', () => {
    // Events from several CPUs arrive slightly out of order: the retention is
    // about each exit's own time, not about the order the exits arrived in.
    const r = new ProcessResolver({ exitedRetention: sec(5) });
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: sec(0.1) });
    r.addForkEntry({ pid: 11, ppid: 1, time: sec(0.2) });
    r.applyExitEntry({ pid: 10, time: sec(3) });
    r.applyExitEntry({ pid: 11, time: sec(1) }); // an older exit, delivered late
    r.addForkEntry({ pid: 12, ppid: 1, time: sec(6.5) });
    // now = 6.5 s: pid 11 exited 5.5 s ago (flush), pid 10 3.5 s ago (keep)
    expect(r.dequeueExited()).toBe(1);
    expect(r.resolve(11)).toBeUndefined();
    expect(r.resolve(10)).toBeDefined();
  });
});

describe('deleteEntry', () => {
  it('flushes a pid at once, sets its exit time when it was running, and counts it', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.addForkEntry({ pid: 11, ppid: 10, time: 110n });
    r.deleteEntry(10, 200n);
    expect(r.resolve(10)).toBeUndefined();
    expect(r.size).toBe(2);
    expect(r.stats().flushed).toBe(1);
    const gone = r.resolve(11)!.ancestor!;
    expect(gone.pid).toBe(10);
    expect(gone.exitTime).toBe(200n);
  });

  it('keeps the exit time of an entry that had already exited', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.addForkEntry({ pid: 11, ppid: 10, time: 110n });
    r.applyExitEntry({ pid: 10, time: 150n, exitCode: 1 });
    r.deleteEntry(10, 900n);
    const gone = r.resolve(11)!.ancestor!;
    expect(gone.exitTime).toBe(150n);
    expect(gone.exitCode).toBe(1);
  });

  it('a later fork from a deleted pid finds no parent', () => {
    const r = new ProcessResolver();
    bootInit(r);
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.deleteEntry(10, 200n);
    const orphan = r.addForkEntry({ pid: 12, ppid: 10, time: 300n })!;
    expect(orphan.isParentMissing).toBe(true);
    expect(orphan.ancestor).toBeUndefined();
  });

  it('deleting an unknown pid changes nothing', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const before = r.stats();
    r.deleteEntry(12345, 5n);
    expect(r.stats()).toEqual(before);
  });
});

describe('exited ancestors', () => {
  it('stay reachable from live descendants and are reclaimed once nothing live needs them', () => {
    const r = new ProcessResolver({ exitedRetention: 0n });
    bootInit(r);
    const base = r.stats();

    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.addExecEntry({ pid: 10, time: 110n, path: '/usr/bin/make', inode: 20, argv: ['make', '-j8'] });
    r.addForkEntry({ pid: 20, ppid: 10, time: 120n });
    r.addExecEntry({ pid: 20, time: 130n, path: '/usr/bin/cc', inode: 21, argv: ['cc', '-c', 'a.c'] });
    r.addForkEntry({ pid: 30, ppid: 20, time: 140n });
    expect(r.stats().rows).toBe(base.rows + 5);

    // make and cc exit and are flushed; their grandchild is still running
    r.applyExitEntry({ pid: 10, time: 150n });
    r.applyExitEntry({ pid: 20, time: 151n });
    expect(r.dequeueExited(200n)).toBe(2);
    expect(r.resolve(10)).toBeUndefined();
    expect(r.resolve(20)).toBeUndefined();

    const chain = chainOf(r.resolve(30));
    expect(chain.map((e) => [e.pid, e.path])).toEqual([
      [30, '/usr/bin/cc'],
      [20, '/usr/bin/cc'],
      [20, '/usr/bin/make'],
      [10, '/usr/bin/make'],
      [10, '/sbin/init'],
      [1, '/sbin/init'],
      [1, ''],
    ]);
    expect(chain[1]!.argv).toEqual(['cc', '-c', 'a.c']);
    expect(chain[1]!.exitTime).toBe(151n);
    expect(chain[3]!.exitTime).toBe(150n);
    // everything is still held: the live grandchild needs it
    expect(r.stats().rows).toBe(base.rows + 5);

    // the grandchild goes too: every row, string and credential set of the tree is reclaimed
    r.applyExitEntry({ pid: 30, time: 160n });
    expect(r.dequeueExited(300n)).toBe(1);
    const end = r.stats();
    expect(end.rows).toBe(base.rows);
    expect(end.cacheSize).toBe(base.cacheSize);
    expect(end.strings).toEqual(base.strings);
  });

  it('an exec chain whose process was deleted is reclaimed along with it', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const base = r.stats();
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    for (let i = 0; i < 20; i++) {
      r.addExecEntry({ pid: 10, time: 200n + BigInt(i), path: `/bin/step-${i}`, inode: 100 + i, argv: [`step-${i}`] });
    }
    expect(r.stats().rows).toBe(base.rows + 21);
    r.deleteEntry(10, 1000n);
    expect(r.stats().rows).toBe(base.rows);
    expect(r.stats().strings).toEqual(base.strings);
  });

  it('an older instance ended by pid reuse is reclaimed when its last descendant goes', () => {
    const r = new ProcessResolver();
    bootInit(r);
    const base = r.stats();
    r.addForkEntry({ pid: 10, ppid: 1, time: 100n });
    r.addForkEntry({ pid: 11, ppid: 10, time: 110n });
    r.addForkEntry({ pid: 10, ppid: 1, time: 200n }); // reuse
    expect(r.stats().rows).toBe(base.rows + 3);
    r.deleteEntry(11, 300n);
    expect(r.stats().rows).toBe(base.rows + 1);
    r.deleteEntry(10, 300n);
    expect(r.stats().rows).toBe(base.rows);
  });

  it('many short-lived processes leave the tables at their starting occupancy', () => {
    const r = new ProcessResolver({ capacity: 256, exitedRetention: 10n });
    bootInit(r);
    const base = r.stats();
    let t = 100n;
    for (let i = 0; i < 5000; i++) {
      const pid = 1000 + (i % 3000);
      r.addForkEntry({ pid, ppid: 1, time: t++ });
      r.addExecEntry({ pid, time: t++, path: `/bin/job-${i % 50}`, inode: 9000 + (i % 50), argv: ['job', String(i)] });
      r.applyExitEntry({ pid, time: t++ });
      r.dequeueExited();
    }
    r.dequeueExited(t + 100n);
    const end = r.stats();
    expect(end.rows).toBe(base.rows);
    expect(end.cacheSize).toBe(base.cacheSize);
    expect(end.strings).toEqual(base.strings);
    expect(end.rejected.tableFull).toBe(0);
  });
});
