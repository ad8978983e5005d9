// A lookup that is not counted (issue 13, point 9): peek() leaves the hit
// and miss counters alone and never falls back to /proc. docs/cache.md,
// "Views".

import { describe, expect, it } from 'vitest';
import { EbpflessResolver, ProcessResolver } from '../../src/index.js';

describe('peek', () => {
  it('returns the current entry without counting a hit', () => {
    const r = new ProcessResolver({ capacity: 16 });
    r.addForkEntry({ pid: 10, ppid: 0, time: 1n });
    r.addExecEntry({ pid: 10, time: 2n, path: '/bin/a', inode: 1 });
    const e = r.peek(10)!;
    expect(e.path).toBe('/bin/a');
    expect(e.execTime).toBe(2n);
    expect(r.stats().hits).toEqual({ event: 0, snapshot: 0, procfs: 0 });
    r.resolve(10);
    expect(r.stats().hits.event).toBe(1); // resolve counts, peek does not
  });

  it('returns undefined for an unknown pid without counting a miss or reading /proc', () => {
    const r = new ProcessResolver({ capacity: 16, procfsFallback: true });
    expect(r.peek(process.pid)).toBeUndefined();
    expect(r.stats().misses).toBe(0);
    expect(r.stats().procfs.attempts).toBe(0);
  });

  it('checks its pid like resolve', () => {
    expect(() => new ProcessResolver({ capacity: 16 }).peek(-1)).toThrow(RangeError);
  });

  it('EbpflessResolver.peek(key) likewise', () => {
    const r = new EbpflessResolver({ capacity: 16 });
    r.addForkEntry({ pid: 3, nsid: 9 }, 0, 1n);
    expect(r.peek({ pid: 3, nsid: 9 })?.pid).toBe(3);
    expect(r.peek({ pid: 3, nsid: 8 })).toBeUndefined();
    expect(r.stats().hits.event + r.stats().misses).toBe(0);
  });
});
