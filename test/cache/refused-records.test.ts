// Records the applier refuses, each with its own counter (issue 14, items 4
// and 7): a FORK or EXEC with a pid no kernel hands out, an EXIT earlier than
// its fork; and a context that does not fit the string table keeps what fits.

import { MAX_STRING_BYTES } from '../../src/cache/strings.js';
import { describe, expect, it } from 'vitest';
import { C } from '../../src/cache/counters.js';
import { RecordApplier } from '../../src/cache/record-applier.js';
import { ProcessResolver } from '../../src/cache/resolver.js';
import { shardOf } from '../../src/cache/shards.js';
import { ProcessTable } from '../../src/cache/table.js';
import { FORK_PID, FORK_PPID } from '../../src/record/constants.js';
import type { RecordEvent } from '../../src/record/events.js';
import { encodeAll } from '../pipeline/helpers.js';

const fork = (pid: number, time: bigint, ppid = 1): RecordEvent => ({
  type: 'fork', time, cpu: 0, pid, ppid, pidns: 0, execTime: 0n, inode: 7, path: '/bin/sh',
});
const exit = (pid: number, time: bigint): RecordEvent => ({ type: 'exit', time, cpu: 0, pid, pidns: 0, exitCode: 0 });

function counter(r: ProcessResolver, name: keyof typeof C): number {
  return r.table.counters[C[name]]!;
}

describe('refused records', () => {
  it('a FORK with pid or ppid 0xFFFFFFFF (or over 4194304) is refused, counted in rejectedBadPid and decodeErrors', () => {
    const r = new ProcessResolver();
    const bytes = encodeAll([fork(10, 1n), fork(11, 2n), fork(12, 3n), fork(4194304, 4n)]);
    const dv = new DataView(bytes.buffer);
    const size = dv.getUint32(4, true);
    dv.setUint32(size + FORK_PID, 0xffffffff, true); // the second record
    dv.setUint32(2 * size + FORK_PPID, 4194305, true); // the third
    r.applyRecords(bytes);
    expect(counter(r, 'rejectedBadPid')).toBe(2);
    expect(counter(r, 'decodeErrors')).toBe(2);
    expect(r.resolve(10)).toBeDefined();
    expect(r.resolve(4194304)).toBeDefined(); // the largest pid is a pid
    expect(r.resolve(12)).toBeUndefined();
    expect(r.size).toBe(2);
  });

  it('a refused FORK of a parent in another shard releases the link the router sent that shard', () => {
    const table = ProcessTable.create({ capacity: 64 });
    const released: number[][] = [];
    table.onRemoteParentReleased = (ppid, pidns, lo, hi) => released.push([ppid, pidns, lo, hi]);
    const applier = new RecordApplier(table, { shard: 0, shards: 2, retention: 0n, withEnvs: false });
    let ppid = 100;
    while (shardOf(ppid, 0, 2) === 0) ppid++;
    const bytes = encodeAll([fork(20, 7n, ppid)]);
    new DataView(bytes.buffer).setUint32(FORK_PID, 0xffffffff, true);
    applier.apply(bytes, 0, bytes.length);
    expect(released).toEqual([[ppid, 0, 7, 0]]);
    expect(table.counters[C.rejectedBadPid]).toBe(1);
  });

  it('an EXEC with pid 0xFFFFFFFF is refused the same way', () => {
    const r = new ProcessResolver();
    const bytes = encodeAll([{ type: 'exec', time: 5n, cpu: 0, pid: 10, ppid: 1, pidns: 0, prevInode: 0, inode: 9, path: '/bin/ls' }]);
    new DataView(bytes.buffer).setUint32(FORK_PID, 0xffffffff, true); // EXEC's pid is at FORK's offset
    r.applyRecords(bytes);
    expect([counter(r, 'rejectedBadPid'), counter(r, 'decodeErrors'), r.size]).toEqual([1, 1, 0]);
    expect(r.stats().rejected.badPid).toBe(1);
  });

  it('an EXIT earlier than the fork of the process is refused and counted in exitBeforeFork', () => {
    const r = new ProcessResolver();
    r.applyRecords(encodeAll([fork(10, 5_000_000_000n), exit(10, 4_999_999_999n)]));
    expect(counter(r, 'exitBeforeFork')).toBe(1);
    expect(r.resolve(10)!.exitTime).toBe(0n); // still live
    // the low words compared unsigned: 2^32 + 1 is after 2^31
    r.applyRecords(encodeAll([fork(11, 2n ** 31n), exit(11, 2n ** 32n + 1n), exit(10, 5_000_000_000n)]));
    expect(counter(r, 'exitBeforeFork')).toBe(1);
    expect(r.resolve(11)!.exitTime).toBe(2n ** 32n + 1n);
    expect(r.resolve(10)!.exitTime).toBe(5_000_000_000n); // at the fork's own time: accepted
  });

  it('an exit earlier than the fork through the embedded API returns false and is counted', () => {
    const r = new ProcessResolver();
    r.addForkEntry({ pid: 20, ppid: 1, time: 100n });
    expect(r.applyExitEntry({ pid: 20, time: 99n })).toBe(false);
    expect(counter(r, 'exitBeforeFork')).toBe(1);
    expect(r.applyExitEntry({ pid: 20, time: 101n })).toBe(true);
    expect(r.stats().exitBeforeFork).toBe(1); // in stats() too
  });
});

describe('a context larger than the string table has room for', () => {
  it('keeps tty and containerId whole, cuts the cgroup path, counts ctxTruncated', () => {
    const r = new ProcessResolver({ capacity: 64, stringBytes: 1 }); // the smallest arena: 64 KiB
    let t = 1n;
    // fill the arena with live argv strings (nothing exited to evict)
    for (const [pid, len] of [[10, 30_000], [11, 15_000], [12, 7_000], [13, 3_500], [14, 1_800]] as const) {
      r.applyRecords(encodeAll([fork(pid, t++), { type: 'exec', time: t++, cpu: 0, pid, ppid: 1, pidns: 0, prevInode: 0, inode: pid, path: `/p${pid}`, argv: ['x'.repeat(len)] }]));
    }
    const containerId = 'c'.repeat(64);
    const cgroup = '/kubepods/' + 'é'.repeat(2000); // two-byte characters: a cut must not split one
    const full = counter(r, 'stringsFull');
    r.applyRecords(encodeAll([{ type: 'exec', time: t++, cpu: 0, pid: 10, ppid: 1, pidns: 0, prevInode: 10, inode: 99, path: '/p10', tty: 'pts/3', containerId, cgroup }]));
    const e = r.resolve(10)!;
    expect(counter(r, 'stringsFull')).toBe(full + 1);
    expect(counter(r, 'ctxTruncated')).toBe(1);
    expect(r.stats().ctxTruncated).toBe(1);
    expect(e.tty).toBe('pts/3');
    expect(e.containerId).toBe(containerId);
    expect(e.cgroup!.length).toBeGreaterThan(0);
    expect(e.cgroup!.length).toBeLessThan(cgroup.length);
    expect(cgroup.startsWith(e.cgroup!)).toBe(true); // no replacement character: cut at a character boundary
  });
});

describe('a context over the string budget through the embedded API', () => {
  it('keeps tty and containerId whole, cuts the cgroup path at the budget, counts ctxTruncated', () => {
    const r = new ProcessResolver({ capacity: 64 });
    const containerId = 'c'.repeat(64);
    const cgroup = '/kubepods/' + 'é'.repeat(MAX_STRING_BYTES); // two-byte characters: a cut must not split one
    r.addForkEntry({ pid: 30, ppid: 1, time: 10n, tty: 'pts/1', containerId, cgroup });
    const e = r.resolve(30)!;
    expect(e.tty).toBe('pts/1');
    expect(e.containerId).toBe(containerId);
    expect(cgroup.startsWith(e.cgroup)).toBe(true);
    expect(e.cgroup.length).toBeGreaterThan(1000);
    expect(r.stats().ctxTruncated).toBe(1);
  });
});
