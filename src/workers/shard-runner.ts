// The work of one shard worker: drain its ring, apply each record to its
// table, publish how far it got, and send the router the LINK/UNLINK
// messages its rows cause in other shards. Runs in a worker_thread (see
// shard-worker.ts); kept apart from the thread entry so it reads as plain
// code.

import { C } from '../cache/counters.js';
import { PipelineControl } from '../cache/shards.js';
import { F_REMOTE_PARENT, F_USED, ProcessTable, type ProcessTableHandles } from '../cache/table.js';
import { RecordApplier } from '../pipeline/apply-record.js';
import { encodeLink, encodeUnlink, H_GSEQ, LINK_SIZE, REC_LINK, REC_UNLINK, UNLINK_SIZE } from '../pipeline/record.js';
import { shardOf } from '../cache/shards.js';
import { ShardRing } from '../pipeline/ring.js';

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
  /** After a rebuild: skip records up to this gseq (the rebuild applied them). */
  skipUpTo: number;
  /** After a rebuild: skip LINK/UNLINK up to this gseq (superseded by the links re-sent). */
  skipLinksUpTo: number;
}

/** Records applied between two publications of the watermark. */
const BATCH = 512;
/** How long an idle worker sleeps before checking again (ms). */
const IDLE_WAIT_MS = 200;

export class ShardRunner {
  readonly table: ProcessTable;
  readonly applier: RecordApplier;
  private readonly ring: ShardRing;
  private readonly out: ShardRing;
  private readonly outView: DataView;
  private readonly control: PipelineControl;
  private readonly shard: number;
  private readonly shards: number;
  private readonly skipUpTo: number;
  private readonly skipLinksUpTo: number;

  constructor(d: ShardWorkerData) {
    this.shard = d.shard;
    this.shards = d.shards;
    this.skipUpTo = d.skipUpTo;
    this.skipLinksUpTo = d.skipLinksUpTo;
    this.table = new ProcessTable(d.table);
    this.ring = new ShardRing(d.ring);
    this.out = new ShardRing(d.out);
    this.outView = new DataView(this.out.data.buffer, this.out.data.byteOffset, this.out.data.byteLength);
    this.control = new PipelineControl(d.control, d.shards);
    this.applier = new RecordApplier(this.table, {
      shard: d.shard,
      shards: d.shards,
      retention: d.retention,
      withEnvs: d.withEnvs,
      onRemoteLink: (ppid, pidns, forkTime, inode) => this.sendLink(ppid, pidns, forkTime, inode),
    });
    this.table.onRemoteParentReleased = (ppid, pidns, forkTime) => this.sendUnlink(ppid, pidns, forkTime);
  }

  /**
   * Applies up to `maxBatches` batches, or sleeps up to IDLE_WAIT_MS when
   * the ring is empty. Returns false once the ring is closed and drained.
   * The thread entry calls it in a loop with a yield in between, so the
   * worker still reads its messages.
   */
  runSlice(maxBatches = 64): boolean {
    const ring = this.ring;
    for (let b = 0; b < maxBatches; b++) {
      if (ring.poll() === 0) break;
      const data = ring.data;
      let n = 0;
      for (let off = ring.next(); off >= 0; off = ring.next()) {
        const size = ring.sizeAt(off);
        if (this.rebuilt && this.skipAfterRebuild(data, off)) continue;
        this.applier.apply(data, off, size);
        if (++n === BATCH) break;
      }
      // published before the records are released: a crash never loses a
      // released record that the watermark does not cover
      this.publish();
      ring.release();
    }
    if (ring.poll() !== 0) return true;
    if (ring.waitForData(IDLE_WAIT_MS) === 'closed') {
      this.publish();
      return false;
    }
    return true;
  }

  private publish(): void {
    this.out.publish();
    this.control.publishApplied(this.shard, BigInt(this.applier.lastGseq));
  }

  /** Whether this worker replaces one that crashed (see docs/pipeline.md, "Faults"). */
  private get rebuilt(): boolean {
    return this.skipUpTo > 0 || this.skipLinksUpTo > 0;
  }

  private skipAfterRebuild(data: Uint8Array, off: number): boolean {
    const gseq = gseqAt(data, off);
    const type = data[off]! | (data[off + 1]! << 8);
    if (type === REC_LINK || type === REC_UNLINK) return gseq <= this.skipLinksUpTo;
    return gseq <= this.skipUpTo;
  }

  /**
   * After shard `target` was rebuilt: LINK again every row of this shard
   * whose parent lives there, so it holds those parents again.
   */
  resendLinks(target: number): number {
    const t = this.table;
    let sent = 0;
    for (let row = 0; row < t.capacity; row++) {
      const f = t.flags[row]!;
      if ((f & (F_USED | F_REMOTE_PARENT)) !== (F_USED | F_REMOTE_PARENT) || t.ancestor[row]! >= 0) continue;
      const pidns = t.pidnsOf(row);
      if (shardOf(t.ppid[row]!, pidns, this.shards) !== target) continue;
      this.sendLink(t.ppid[row]!, pidns, t.forkTime[row]!, 0); // inode 0: the fork-time check was counted already
      sent++;
    }
    this.out.publish();
    return sent;
  }

  private sendLink(ppid: number, pidns: number, forkTime: bigint, inode: number): void {
    const at = this.reserveOut(LINK_SIZE);
    if (at < 0) return;
    encodeLink(this.outView, at, ppid, inode, forkTime, forkTime, 0, pidns, 0);
    this.out.commit(LINK_SIZE);
  }

  private sendUnlink(ppid: number, pidns: number, forkTime: bigint): void {
    const at = this.reserveOut(UNLINK_SIZE);
    if (at < 0) return;
    encodeUnlink(this.outView, at, ppid, forkTime, forkTime, 0, pidns, 0);
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

/** The record's gseq (u64 at H_GSEQ) as a number. */
function gseqAt(data: Uint8Array, off: number): number {
  const at = off + H_GSEQ;
  const lo = (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
  const hi = (data[at + 4]! | (data[at + 5]! << 8) | (data[at + 6]! << 16) | (data[at + 7]! << 24)) >>> 0;
  return lo + hi * 4294967296;
}
