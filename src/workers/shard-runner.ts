// The work of one shard worker: drain its ring, apply each record to its
// table, publish how far it got, and send the router the LINK/UNLINK
// messages its rows cause in other shards. Runs in a worker_thread (see
// shard-worker.ts); kept apart from the thread entry so it reads as plain
// code.

import { C } from '../cache/counters.js';
import { PipelineControl } from '../cache/shards.js';
import { ProcessTable, type LinkKeys, type ProcessTableHandles } from '../cache/table.js';
import { FROM_WORKER_CPU, RecordApplier } from '../cache/record-applier.js';
import { LINK_SIZE, UNLINK_SIZE } from '../record/constants.js';
import { encodeLink, encodeUnlink } from '../record/encode.js';
import { shardOf } from '../cache/shards.js';
import { ShardRing, type WaitResult } from '../ring/shard-ring.js';
import { timeOf } from '../cache/time-words.js';
import { LagHistograms, LagRecorder } from './visibility-lag.js';

export interface ShardWorkerData {
  shard: number;
  shards: number;
  table: ProcessTableHandles;
  /** Records from the router. */
  ring: SharedArrayBuffer;
  /** LINK/UNLINK messages to the router. */
  out: SharedArrayBuffer;
  control: SharedArrayBuffer;
  retention: bigint;
  withEnvs: boolean;
  /** After a crash: the ring position past what the dead worker applied (-1: start at the tail). */
  resumeCursor: number;
  /** Live sources: where to count the visibility lag of each record (visibility-lag.ts). */
  lag?: { histograms: SharedArrayBuffer; bootMinusMonoMs: number };
}


/** Records applied between two publications of the watermark. */
const BATCH = 512;
/** How long an idle worker sleeps before checking again (ms). */
const IDLE_WAIT_MS = 200;
/** How long runSlice() keeps the thread before it yields to the event loop (its messages), ms. */
const SLICE_MS = 100;

export class ShardRunner {
  readonly table: ProcessTable;
  readonly applier: RecordApplier;
  private readonly ring: ShardRing;
  private readonly out: ShardRing;
  private readonly outView: DataView;
  private readonly control: PipelineControl;
  private readonly shard: number;
  private readonly shards: number;
  private readonly ringView: DataView;
  private readonly lag: LagRecorder | undefined;

  constructor(d: ShardWorkerData) {
    this.shard = d.shard;
    this.shards = d.shards;
    this.table = new ProcessTable(d.table);
    this.ring = new ShardRing(d.ring);
    if (d.resumeCursor >= 0) this.ring.resumeAt(d.resumeCursor);
    this.ringView = new DataView(this.ring.data.buffer, this.ring.data.byteOffset, this.ring.data.byteLength);
    this.lag = d.lag ? new LagRecorder(new LagHistograms(d.lag.histograms, d.shards), d.shard, d.lag.bootMinusMonoMs, BATCH) : undefined;
    this.out = new ShardRing(d.out);
    this.outView = new DataView(this.out.data.buffer, this.out.data.byteOffset, this.out.data.byteLength);
    this.control = new PipelineControl(d.control, d.shards);
    this.applier = new RecordApplier(this.table, {
      shard: d.shard,
      shards: d.shards,
      retention: d.retention,
      withEnvs: d.withEnvs,
      onRemoteLink: (ppid, pidns, forkLo, forkHi, inode) => this.sendLink(ppid, pidns, timeOf(forkLo, forkHi), inode),
    });
    this.table.onRemoteParentReleased = (ppid, pidns, forkLo, forkHi) => this.sendUnlink(ppid, pidns, timeOf(forkLo, forkHi));
  }

  /**
   * Applies what comes, in batches, sleeping up to IDLE_WAIT_MS at a time
   * while the ring is empty, for about `sliceMs`; returns false once the
   * ring is closed and drained. The thread entry calls it in a loop with a
   * yield in between, so the worker still reads its messages. It stays in
   * here across wake-ups on purpose: a return to the event loop per
   * wake-up (setImmediate) doubled what a wake-up costs (about 70 µs more
   * of CPU on this project's VM).
   */
  runSlice(maxBatches = 64, sliceMs = SLICE_MS): boolean {
    const until = performance.now() + sliceMs;
    for (;;) {
      const r = this.drainAndWait(maxBatches);
      if (r !== 'timeout' && r !== 'data') return false;
      if (performance.now() >= until) return true;
    }
  }

  /** Up to `maxBatches` batches, then a sleep when the ring is empty. 'closed' once it is closed and drained. */
  private drainAndWait(maxBatches: number): WaitResult {
    const ring = this.ring;
    const lag = this.lag;
    for (let b = 0; b < maxBatches; b++) {
      if (ring.poll() === 0) break;
      const data = ring.data;
      let n = 0;
      for (let off = ring.next(); off >= 0; off = ring.next()) {
        const size = ring.sizeAt(off);
        this.applier.apply(data, off, size);
        // readers following a link into this shard wait for this, not for the batch: one store a record
        this.control.progress(this.shard, this.applier.lastGseq);
        lag?.note(this.ringView, off);
        if (++n === BATCH) break;
      }
      // published before the records are released: a crash never loses a
      // released record that the watermark does not cover
      this.publish();
      lag?.published();
      ring.release();
    }
    if (ring.poll() !== 0) return 'data';
    // asleep until the router publishes (one notify per batch of the router, never per record)
    const r = ring.waitForData(IDLE_WAIT_MS);
    if (r === 'closed') this.publish();
    return r;
  }

  /**
   * Publishes the watermark (with the ring position and the counters that go
   * with it), then the link messages of the batch. In that order: a worker
   * that dies in between leaves parent entries held too long (never
   * released early).
   */
  private publish(): void {
    this.table.countersAtMark.set(this.table.counters);
    this.control.publishApplied(this.shard, BigInt(this.applier.lastGseq), this.ring.cursor);
    this.out.publish();
  }

  /**
   * The keys (ppid, pidns, fork time) of every row of this shard whose
   * parent lives in shard `target`: the links that shard must hold after a
   * rebuild.
   */
  linksInto(target: number): LinkKeys {
    return this.table.remoteParentKeys((ppid, pidns) => shardOf(ppid, pidns, this.shards) === target);
  }

  private sendLink(ppid: number, pidns: number, forkTime: bigint, inode: number): void {
    const at = this.reserveOut(LINK_SIZE);
    if (at < 0) return;
    encodeLink(this.outView, at, ppid, inode, forkTime, forkTime, FROM_WORKER_CPU, pidns, 0);
    this.out.commit(LINK_SIZE);
  }

  private sendUnlink(ppid: number, pidns: number, forkTime: bigint): void {
    const at = this.reserveOut(UNLINK_SIZE);
    if (at < 0) return;
    encodeUnlink(this.outView, at, ppid, forkTime, forkTime, FROM_WORKER_CPU, pidns, 0);
    this.out.commit(UNLINK_SIZE);
  }

  /** Room in the outbound ring; waits (bounded) for the router, then counts the loss. */
  private reserveOut(len: number): number {
    let at = this.out.reserve(len);
    if (at < 0) {
      this.out.publish();
      if (this.out.waitForSpace(len, 1000)) at = this.out.reserve(len);
    }
    if (at < 0) this.table.counters[C.linkMessagesDropped]!++;
    return at;
  }
}


