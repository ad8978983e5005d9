// How pids map to shards, and the shared control block through which the
// router and the shard workers tell readers how far they are. Kept in one
// file so that the router, the workers and every reader agree.

import { hashPidKey } from './hash.js';
import type { ProcessTableHandles } from './table.js';

/** The shard that owns (pid, pidns): all events of one pid go to one shard, in order. */
export function shardOf(pid: number, pidns: number, shards: number): number {
  return shards === 1 ? 0 : hashPidKey(pid, pidns) % shards;
}

/**
 * Control block, BigInt64 words (Atomics):
 *   [0]            G: highest global sequence number dispatched to any shard
 *   [1 + s]        D[s]: highest sequence number dispatched to shard s
 *   [1 + n + s]    A[s]: highest sequence number applied (and published) by shard s
 *   [1 + 3n + s]   which of two slots holds shard s's last (watermark, ring position) pair
 *   [1 + (4 + 2k)n + s], [1 + (5 + 2k)n + s]   slot k: that watermark and ring position + 1
 * A reader that found a link into shard P, after reading the linking row,
 * waits until A[P] >= min(G, D[P]): then P has applied every record that
 * preceded the link.
 */
export class PipelineControl {
  readonly words: BigInt64Array;

  static create(shards: number): PipelineControl {
    return new PipelineControl(new SharedArrayBuffer(8 * (1 + 8 * shards)), shards);
  }

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly shards: number,
  ) {
    this.words = new BigInt64Array(buffer);
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
    for (let s = 0; s < this.shards; s++) Atomics.store(this.words, 1 + s, BigInt(lastTo[s]!));
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

/** Everything a thread needs to read a pipeline's tables. Structured-clone safe. */
export interface PipelineHandles {
  readonly shards: readonly ProcessTableHandles[];
  readonly control: SharedArrayBuffer;
}
