// Visibility lag: from the kernel's timestamp of a live record to the
// moment a reader can resolve what it did (the worker published the batch
// that applied it). Each shard worker counts its records' lags in a
// histogram in shared memory (one row per shard, one writer each); the
// pipeline sums the rows into p50/p99 (docs/pipeline.md, "Visibility lag").
//
// Buckets are log-linear in microseconds: exact below 16 µs, then 16 per
// power of two (each at most 1/16 = 6% wide), up to 2^31 µs. A figure read
// from a bucket is its upper edge: the lag is at most that.

import { FLAG_SNAPSHOT, H_FLAGS, H_TIME, H_TYPE, REC_CREDS, REC_EXEC, REC_EXIT, REC_FORK, REC_RENAME } from '../record/constants.js';

const SUB = 16;
const SUB_BITS = 4;
/** Buckets per shard row. */
export const LAG_BUCKETS = (31 - SUB_BITS + 1) * SUB;

/** The bucket of a lag of `us` microseconds (clamped to [0, 2^31)). */
export function lagBucket(us: number): number {
  const v = us <= 0 ? 0 : us >= 0x7fffffff ? 0x7fffffff : us | 0;
  if (v < SUB) return v;
  const e = 31 - Math.clz32(v); // v in [2^e, 2^(e+1)), e >= SUB_BITS
  return (e - SUB_BITS + 1) * SUB + ((v >>> (e - SUB_BITS)) & (SUB - 1));
}

/** The largest lag (µs) that falls in bucket `i`. */
export function bucketUpperUs(i: number): number {
  if (i < SUB) return i;
  const e = ((i / SUB) | 0) + SUB_BITS - 1;
  const m = i % SUB;
  return (SUB + m + 1) * 2 ** (e - SUB_BITS) - 1;
}

export interface VisibilityLag {
  /** Records measured. */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Quantiles of summed bucket counts (ms, upper bucket edges, 2 decimals). */
export function lagQuantiles(counts: ArrayLike<number>): VisibilityLag {
  let samples = 0;
  for (let i = 0; i < counts.length; i++) samples += counts[i]!;
  if (samples === 0) return { samples: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const at = (q: number): number => {
    const rank = Math.ceil(q * samples);
    let seen = 0;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return i;
    }
    return counts.length - 1;
  };
  let last = counts.length - 1;
  while (last > 0 && counts[last] === 0) last--;
  const ms = (i: number) => Math.round(bucketUpperUs(i) / 10) / 100;
  return { samples, p50Ms: ms(at(0.5)), p99Ms: ms(at(0.99)), maxMs: ms(last) };
}

/** The shared histograms of a pipeline: `shards` rows of LAG_BUCKETS counts. */
export class LagHistograms {
  readonly counts: Float64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly shards: number,
  ) {
    this.counts = new Float64Array(buffer);
    if (this.counts.length !== shards * LAG_BUCKETS) throw new RangeError(`lag histogram buffer holds ${this.counts.length} counts, not ${shards} x ${LAG_BUCKETS}`);
  }

  static create(shards: number): LagHistograms {
    return new LagHistograms(new SharedArrayBuffer(shards * LAG_BUCKETS * 8), shards);
  }

  /** Every shard's counts summed (a fresh array: for stats, not hot paths). */
  total(): Float64Array {
    const sum = new Float64Array(LAG_BUCKETS);
    const c = this.counts;
    for (let s = 0; s < this.shards; s++) {
      const base = s * LAG_BUCKETS;
      for (let i = 0; i < LAG_BUCKETS; i++) sum[i]! += c[base + i]!;
    }
    return sum;
  }
}

/**
 * A worker's side: notes the kernel time of each live event record it
 * applies in a batch, then, once the batch is published, counts each one's
 * lag. No allocation per record or per batch.
 */
export class LagRecorder {
  private readonly times: Float64Array;
  private n = 0;
  private readonly row: Float64Array;

  /**
   * `bootMinusMonoMs`: boot-clock ms (the clock of record times) minus this
   * process's monotonic ms (process.hrtime), measured once by the source.
   */
  constructor(
    histograms: LagHistograms,
    shard: number,
    private readonly bootMinusMonoMs: number,
    batch: number,
  ) {
    this.times = new Float64Array(batch);
    this.row = histograms.counts.subarray(shard * LAG_BUCKETS, (shard + 1) * LAG_BUCKETS);
  }

  /** Called for each record applied (records that are not live events are skipped). */
  note(dv: DataView, off: number): void {
    const type = dv.getUint16(off + H_TYPE, true);
    if (type !== REC_EXEC && type !== REC_EXIT && type !== REC_CREDS && type !== REC_RENAME) {
      // a FORK from the /proc snapshot is stamped with the process's start time: not a lag
      if (type !== REC_FORK || (dv.getUint16(off + H_FLAGS, true) & FLAG_SNAPSHOT) !== 0) return;
    }
    if (this.n === this.times.length) return;
    // ns as a double: exact to the ns for 104 days of uptime, then to a few ns
    this.times[this.n++] = dv.getUint32(off + H_TIME + 4, true) * 4294967296 + dv.getUint32(off + H_TIME, true);
  }

  /** The batch is visible to readers: counts the lag of every record noted since the last call. */
  published(): void {
    const n = this.n;
    if (n === 0) return;
    this.n = 0;
    const nowUs = (performance.now() + monoOffsetMs + this.bootMinusMonoMs) * 1000;
    const times = this.times;
    const row = this.row;
    for (let i = 0; i < n; i++) row[lagBucket(nowUs - times[i]! / 1000)]!++;
  }
}

/** This thread's monotonic ms (process.hrtime's clock) minus performance.now(). */
const monoOffsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
