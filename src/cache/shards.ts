// How pids map to shards, and the shared control block through which the
// router and the shard workers tell readers how far they are. Kept in one
// file so that the router, the workers and every reader agree.

import { hashPidKey } from './hash.js';
import { ORDERED_STORES } from './store-order.js';
import { LINK_GSEQ_MASK, type ProcessTableHandles } from './table.js';

/** The shard that owns (pid, pidns): all events of one pid go to one shard, in order. */
export function shardOf(pid: number, pidns: number, shards: number): number {
  return shards === 1 ? 0 : hashPidKey(pid, pidns) % shards;
}

/**
 * Control block. BigInt64 words (Atomics), the exact positions:
 *   [0]            G: highest global sequence number dispatched to any shard
 *   [1 + s]        D[s]: highest sequence number dispatched to shard s
 *   [1 + n + s]    A[s]: highest sequence number applied (and published) by shard s, per batch
 *   [1 + 3n + s]   which of two slots holds shard s's last (watermark, ring position) pair
 *   [1 + (4 + 2k)n + s], [1 + (5 + 2k)n + s]   slot k: that watermark and ring position + 1
 * Then int32 words, the low 32 bits of the same positions, for readers on
 * the hot path (a bigint load allocates; positions are compared within 2^31
 * of each other, wrap-aware):
 *   [0]            G, [1 + s] D[s], as the router publishes them
 *   [1 + n + s]    P[s]: the gseq of the last record shard s has applied, after every record
 * A reader that follows a link into shard P needs P to have applied the
 * link (the child's fork record, whose gseq the child row keeps): then P has
 * applied every record before it (docs/pipeline.md).
 */
export class PipelineControl {
  readonly words: BigInt64Array;
  /** The int32 words (see above). */
  readonly low: Int32Array;

  static create(shards: number): PipelineControl {
    return new PipelineControl(new SharedArrayBuffer(bigWordBytes(shards) + 4 * (1 + 2 * shards)), shards);
  }

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly shards: number,
  ) {
    this.words = new BigInt64Array(buffer, 0, bigWordBytes(shards) / 8);
    this.low = new Int32Array(buffer, bigWordBytes(shards), 1 + 2 * shards);
  }

  /**
   * Shard worker, after each record: it has applied the record numbered
   * `gseq` (and every one before it sent to it). A plain store where stores
   * keep program order (store-order.ts): the row writes come before it.
   */
  progress(shard: number, gseq: number): void {
    if (ORDERED_STORES) this.low[1 + this.shards + shard] = gseq;
    else Atomics.store(this.low, 1 + this.shards + shard, gseq);
  }

  /**
   * Whether shard P has applied the record numbered `gseq` (its low 30
   * bits: what a row keeps of its link) or, with gseq -1 (not known),
   * everything dispatched to it up to now.
   */
  hasApplied(shard: number, gseq: number): boolean {
    const low = this.low;
    const done = Atomics.load(low, 1 + this.shards + shard);
    if (gseq >= 0) return wrapDiff30(done & LINK_GSEQ_MASK, gseq) >= 0;
    const g = Atomics.load(low, 0);
    const d = Atomics.load(low, 1 + shard);
    const target = ((d - g) | 0) < 0 ? d : g;
    return ((done - target) | 0) >= 0;
  }

  dispatched(): bigint {
    return Atomics.load(this.words, 0);
  }

  dispatchedTo(shard: number): bigint {
    return Atomics.load(this.words, 1 + shard);
  }

  applied(shard: number): bigint {
    return Atomics.load(this.words, 1 + this.shards + shard);
  }

  /**
   * Router, after publishing its rings: every record up to `gseq` is in a
   * ring; `lastTo[s]` is the last gseq sent to shard s. D before G, so a
   * reader that sees G also sees the D that goes with it.
   */
  publishDispatched(gseq: number, lastTo: readonly number[]): void {
    for (let s = 0; s < this.shards; s++) {
      Atomics.store(this.low, 1 + s, lastTo[s]!);
      Atomics.store(this.words, 1 + s, BigInt(lastTo[s]!));
    }
    Atomics.store(this.low, 0, gseq);
    Atomics.store(this.words, 0, BigInt(gseq));
  }

  /**
   * Worker of `shard`: every record up to `gseq` is applied and visible.
   * With `cursor` (its ring position just past them), also records the pair
   * for its replacement after a crash: written into the slot not in use,
   * then the slot index flips, so a crash mid-way leaves the previous
   * complete pair.
   */
  publishApplied(shard: number, gseq: bigint, cursor = -1): void {
    if (cursor >= 0) {
      const n = this.shards;
      const slot = Number(Atomics.load(this.words, 1 + 3 * n + shard)) ^ 1;
      Atomics.store(this.words, 1 + (4 + 2 * slot) * n + shard, gseq);
      Atomics.store(this.words, 1 + (5 + 2 * slot) * n + shard, BigInt(cursor) + 1n); // 0: none yet
      Atomics.store(this.words, 1 + 3 * n + shard, BigInt(slot));
    }
    Atomics.store(this.words, 1 + this.shards + shard, gseq);
    Atomics.store(this.low, 1 + this.shards + shard, Number(BigInt.asIntN(32, gseq)));
  }

  /** The last complete (watermark, ring position) pair a worker recorded; position -1 before any. */
  appliedMark(shard: number): { gseq: bigint; cursor: number } {
    const n = this.shards;
    const slot = Number(Atomics.load(this.words, 1 + 3 * n + shard));
    return {
      gseq: Atomics.load(this.words, 1 + (4 + 2 * slot) * n + shard),
      cursor: Number(Atomics.load(this.words, 1 + (5 + 2 * slot) * n + shard)) - 1,
    };
  }

  /**
   * The watermark shard P must reach to have applied every record that
   * preceded what the caller has seen so far: min(G, D[P]), read now.
   */
  catchUpTarget(shard: number): bigint {
    const g = this.dispatched();
    const d = this.dispatchedTo(shard);
    return d < g ? d : g;
  }
}

/** Bytes of the BigInt64 words of a control block for `shards` shards. */
function bigWordBytes(shards: number): number {
  return 8 * (1 + 8 * shards);
}

/** a - b for 30-bit positions that are within 2^29 of each other. */
function wrapDiff30(a: number, b: number): number {
  return ((a - b) << 2) >> 2;
}

/** Everything a thread needs to read a pipeline's tables. Structured-clone safe. */
export interface PipelineHandles {
  readonly shards: readonly ProcessTableHandles[];
  readonly control: SharedArrayBuffer;
}
