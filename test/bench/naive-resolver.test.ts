import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import { STANDARD_MIX } from '../../src/pipeline/sources/synthetic/options.js';
import { syntheticStream } from '../../src/pipeline/sources/synthetic/stream.js';
import { applyOpsForkline, applyOpsNaive, toOps } from '../../bench/lib/ops.js';
import { NaiveResolver, type NaiveProcess } from '../../bench/naive-resolver.js';
import type { ProcessEntry } from '../../src/index.js';

type Chainable = { pid: number; path: string | Uint8Array; argv: readonly (string | Uint8Array)[]; ancestor: Chainable | undefined };

/** The pids of a lineage, oldest last, each pid once (exec images of one pid collapse). */
function lineagePids(e: Chainable | undefined): number[] {
  const out: number[] = [];
  for (; e !== undefined; e = e.ancestor) if (out[out.length - 1] !== e.pid) out.push(e.pid);
  return out;
}

describe('the naive baseline resolver', () => {
  it('resolves every running process of the standard mix to the same path, argv and lineage as ProcessResolver', () => {
    const ops = toOps(syntheticStream({ ...STANDARD_MIX, seed: 7, events: 60_000 }));
    const forkline = new ProcessResolver({ capacity: 1 << 17 });
    const naive = new NaiveResolver();
    applyOpsForkline(forkline, ops, 0, ops.length);
    applyOpsNaive(naive, ops, 0, ops.length);

    let compared = 0;
    for (const [pid, n] of naive.processes) {
      const f = forkline.resolve(pid) as ProcessEntry;
      expect(f, `pid ${pid}`).toBeDefined();
      expect(f.path, `path of ${pid}`).toBe(n.path);
      expect(f.argv, `argv of ${pid}`).toEqual(n.argv);
      expect(f.ppid, `ppid of ${pid}`).toBe(n.ppid);
      expect(lineagePids(f), `lineage of ${pid}`).toEqual(lineagePids(n as NaiveProcess & Chainable));
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('drops a pid on exit but keeps the exited process reachable as an ancestor', () => {
    const r = new NaiveResolver();
    r.addForkEntry({ pid: 1, ppid: 0, time: 1n, path: '/sbin/init', inode: 1 });
    r.addForkEntry({ pid: 10, ppid: 1, time: 2n });
    r.addExecEntry({ pid: 10, time: 3n, path: '/bin/sh', inode: 2, argv: ['sh'] });
    r.addForkEntry({ pid: 11, ppid: 10, time: 4n });
    expect(r.applyExitEntry({ pid: 10, time: 5n })).toBe(true);
    expect(r.resolve(10)).toBeUndefined();
    const child = r.resolve(11)!;
    expect(child.path).toBe('/bin/sh');
    expect(child.ancestor?.pid).toBe(10);
    expect(child.ancestor?.exitTime).toBe(5n);
    // the exec chain: pid 10's fork image, a copy of init
    expect(child.ancestor?.ancestor?.pid).toBe(10);
    expect(child.ancestor?.ancestor?.path).toBe('/sbin/init');
    expect(r.updateUid(11, { uid: 1000, euid: -1 })).toBe(true);
    expect(r.resolve(11)!.credentials.uid).toBe(1000);
    expect(child.ancestor?.credentials.uid).toBe(0); // the parent's credentials are not shared and changed
  });
});
