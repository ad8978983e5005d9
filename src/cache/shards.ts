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
 *   [1 + 2n + s]   the ring position of shard s's worker just past what it applied
 * A reader that found a link into shard P, after reading the linking row,
 * waits until A[P] >= min(G, D[P]): then P has applied every record that
 * preceded the link.
 */
export class PipelineControl {
  readonly words: BigInt64Array;

  static create(shards: number): PipelineControl {
    return new PipelineControl(new SharedArrayBuffer(8 * (1 + 3 * shards)), shards);
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
   * Worker of `shard`: every record up to `gseq` is applied and visible;
   * `cursor` is its ring position just past them (for its replacement
   * after a crash). Cursor first: a reader of the watermark may rely on it.
   */
  publishApplied(shard: number, gseq: bigint, cursor = -1): void {
    if (cursor >= 0) Atomics.store(this.words, 1 + 2 * this.shards + shard, BigInt(cursor) + 1n); // 0: none yet
    Atomics.store(this.words, 1 + this.shards + shard, gseq);
  }

  /** Ring position just past the records `shard`'s worker applied (-1 before any). */
  appliedCursor(shard: number): number {
    return Number(Atomics.load(this.words, 1 + 2 * this.shards + shard)) - 1;
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
