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
 * A reader that found a link into shard P, after reading the linking row,
 * waits until A[P] >= min(G, D[P]): then P has applied every record that
 * preceded the link.
 */
export class PipelineControl {
  readonly words: BigInt64Array;

  static create(shards: number): PipelineControl {
    return new PipelineControl(new SharedArrayBuffer(8 * (1 + 2 * shards)), shards);
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

  /** Worker of `shard`: every record up to `gseq` is applied and visible. */
  publishApplied(shard: number, gseq: bigint): void {
    Atomics.store(this.words, 1 + this.shards + shard, gseq);
  }

  /** Whether shard P has applied every record that preceded what the caller has seen. */
  caughtUp(shard: number): boolean {
    const g = this.dispatched();
    const d = this.dispatchedTo(shard);
    const target = d < g ? d : g;
    return this.applied(shard) >= target;
  }
}

/** Everything a thread needs to read a pipeline's tables. Structured-clone safe. */
export interface PipelineHandles {
  readonly shards: readonly ProcessTableHandles[];
  readonly control: SharedArrayBuffer;
}
