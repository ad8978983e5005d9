// The visibility-lag histogram (src/workers/visibility-lag.ts): buckets,
// quantiles, and what a worker counts (live event records, not snapshot
// FORKs nor bookkeeping), and the status line that shows it.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatStatusLine } from '../../src/cli/run.js';
import { FLAG_SNAPSHOT, H_FLAGS, H_TIME, H_TYPE, REC_EXEC, REC_FLUSH, REC_FORK } from '../../src/record/constants.js';
import { bucketUpperUs, LagHistograms, lagBucket, LagRecorder, lagQuantiles, LAG_BUCKETS } from '../../src/workers/visibility-lag.js';

/** The smallest lag (µs) of bucket i. */
const lower = (i: number) => (i === 0 ? 0 : bucketUpperUs(i - 1) + 1);

describe('visibility-lag buckets', () => {
  it('are exact below 16 µs and contiguous, each at most 1/16 of its value wide', () => {
    for (let us = 0; us < 16; us++) expect(bucketUpperUs(lagBucket(us))).toBe(us);
    for (let i = 1; i < LAG_BUCKETS; i++) {
      expect(lower(i)).toBe(bucketUpperUs(i - 1) + 1);
      expect(bucketUpperUs(i) - lower(i) + 1).toBeLessThanOrEqual(Math.max(1, lower(i) / 16));
    }
    expect(lagBucket(2 ** 31 - 1)).toBe(LAG_BUCKETS - 1);
  });

  it('put every lag in the bucket whose range holds it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (us) => {
        const i = lagBucket(us);
        return i >= 0 && i < LAG_BUCKETS && lower(i) <= us && us <= bucketUpperUs(i);
      }),
    );
    expect(lagBucket(-5)).toBe(0);
    expect(lagBucket(1e12)).toBe(LAG_BUCKETS - 1);
  });

  it('give p50 and p99 as upper bucket edges in ms', () => {
    const counts = new Float64Array(LAG_BUCKETS);
    for (let k = 0; k < 98; k++) counts[lagBucket(2000)]!++; // 2 ms
    counts[lagBucket(7000)]!++;
    counts[lagBucket(40_000)]!++;
    const q = lagQuantiles(counts);
    expect(q.samples).toBe(100);
    expect(q.p50Ms).toBeGreaterThanOrEqual(2);
    expect(q.p50Ms).toBeLessThan(2.13);
    expect(q.p99Ms).toBeGreaterThanOrEqual(7);
    expect(q.p99Ms).toBeLessThan(7.5);
    expect(q.maxMs).toBeGreaterThanOrEqual(40);
    expect(lagQuantiles(new Float64Array(LAG_BUCKETS))).toEqual({ samples: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  });
});

describe('LagRecorder', () => {
  function record(type: number, flags: number, timeNs: number): DataView {
    const dv = new DataView(new ArrayBuffer(64));
    dv.setUint16(H_TYPE, type, true);
    dv.setUint16(H_FLAGS, flags, true);
    dv.setBigUint64(H_TIME, BigInt(timeNs), true);
    return dv;
  }

  it('counts, once the batch is published, the lag of live events only', () => {
    const h = LagHistograms.create(2);
    const monoMs = Number(process.hrtime.bigint()) / 1e6;
    // boot clock = monotonic + 1000 s here; the records were stamped 3 ms ago on that clock
    const bootMinusMonoMs = 1_000_000;
    const r = new LagRecorder(h, 1, bootMinusMonoMs, 16);
    const stamped = Math.round((monoMs + bootMinusMonoMs - 3) * 1e6);
    r.note(record(REC_EXEC, 0, stamped), 0);
    r.note(record(REC_FORK, 0, stamped), 0);
    r.note(record(REC_FORK, FLAG_SNAPSHOT, stamped - 1e12), 0); // a /proc snapshot entry: its start time, not a lag
    r.note(record(REC_FLUSH, 0, stamped), 0);
    expect(lagQuantiles(h.total()).samples).toBe(0); // not visible yet
    r.published();
    const q = lagQuantiles(h.total());
    expect(q.samples).toBe(2);
    expect(q.p50Ms).toBeGreaterThanOrEqual(3);
    expect(q.p99Ms).toBeLessThan(1000);
    expect(h.counts.subarray(0, LAG_BUCKETS).every((c) => c === 0)).toBe(true); // shard 0's row untouched
    r.published(); // nothing new
    expect(lagQuantiles(h.total()).samples).toBe(2);
  });
});

describe('the status line', () => {
  it('shows the visibility lag of a live source', () => {
    const stats = {
      source: 'bpf', pid: 1, uptimeSeconds: 1, events: 0, dropping: false, cacheSize: 3, rows: 3, shards: 2, shardLag: [0, 0], workerRestarts: 0,
      routerStallMs: { max: 0, p99: 0 },
      eventsPerSecond: { fork: 1, exec: 1, exit: 1, creds: 0, rename: 0, total: 3 },
      drops: { total: 0, lostEvents: 0, captureRingFull: 0, shardRingFull: 0, decodeErrors: 0, tableFull: 0, linkMessages: 0, lastMinute: 0 },
    };
    expect(formatStatusLine(stats)).toMatch(/lag 0\/0$/);
    expect(formatStatusLine({ ...stats, visibilityLag: { samples: 9, p50Ms: 5.2, p99Ms: 8.9, maxMs: 12 } })).toMatch(/lag 0\/0 \| visible p50 5.2 ms p99 8.9 ms$/);
  });
});
