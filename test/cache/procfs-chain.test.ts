// The /proc fallback loads the chain (issue 13, point 10): resolving a pid
// missing from the cache reads its missing ancestors too, bounded by
// procfsMaxDepth. docs/cache.md, "/proc fallback".

import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { makeTree } from '../fixtures/fake-proc.js';
import { chainOf } from './helpers.js';

const root = makeTree([
  { pid: 1, ppid: 0, comm: 'init', startTicks: 1 },
  { pid: 100, ppid: 1, comm: 'sshd', startTicks: 10 },
  { pid: 200, ppid: 100, comm: 'bash', startTicks: 20 },
  { pid: 300, ppid: 200, comm: 'vim', startTicks: 30 },
]);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('/proc fallback', () => {
  it('reads the missing ancestors with the pid, so the lineage is whole', () => {
    const r = new ProcessResolver({ capacity: 64, procRoot: root, procfsFallback: true });
    const e = r.resolve(300)!;
    expect(chainOf(e).map((x) => [x.pid, x.comm, x.source])).toEqual([
      [300, 'vim', 'procfs'], [200, 'bash', 'procfs'], [100, 'sshd', 'procfs'], [1, 'init', 'procfs'],
    ]);
    expect(r.hasValidLineage(e)).toEqual({ ok: true });
    expect(r.stats().added.procfs).toBe(4);
    expect(r.stats().procfs).toMatchObject({ attempts: 1, success: 1 });
    // the ancestors are in the live cache now: a hit each
    expect(r.resolve(100)?.comm).toBe('sshd');
    expect(r.stats().misses).toBe(1);
  });

  it('stops at the first ancestor already cached', () => {
    const r = new ProcessResolver({ capacity: 64, procRoot: root, procfsFallback: true });
    r.addForkEntry({ pid: 100, ppid: 1, time: 5n, comm: 'sshd-event' });
    const e = r.resolve(300)!;
    expect(chainOf(e).map((x) => [x.pid, x.source])).toEqual([[300, 'procfs'], [200, 'procfs'], [100, 'event']]);
    expect(r.stats().added.procfs).toBe(2);
  });

  it('reads at most procfsMaxDepth ancestors', () => {
    const r = new ProcessResolver({ capacity: 64, procRoot: root, procfsFallback: true, procfsMaxDepth: 1 });
    const e = r.resolve(300)!;
    expect(chainOf(e).map((x) => x.pid)).toEqual([300, 200]);
    expect(e.ancestor!.isParentMissing).toBe(true);
    const none = new ProcessResolver({ capacity: 64, procRoot: root, procfsFallback: true, procfsMaxDepth: 0 });
    expect(chainOf(none.resolve(300)).map((x) => x.pid)).toEqual([300]);
  });

  it('rejects a bad procfsMaxDepth', () => {
    expect(() => new ProcessResolver({ procfsMaxDepth: -1 })).toThrow(RangeError);
    expect(() => new ProcessResolver({ procfsMaxDepth: 1.5 })).toThrow(RangeError);
  });
});
