// The router: gives every source record its global sequence number, sends
// it to the shard that owns its pid (so per-pid order is kept), tells the
// parent's shard about cross-shard forks (LINK), forwards the workers'
// LINK/UNLINK messages, and publishes how far it got. It runs on the main
// thread and routes the records of every source, live capture included: the
// native reader thread only fills the capture ring this router reads.

import { PipelineControl, shardOf } from '../cache/shards.js';
import {
  FORK_PPID,
  H_PIDNS,
  H_TYPE,
  LINK_SIZE,
  LOST_COUNT,
  REC_CLOCK,
  REC_FLUSH,
  REC_FORK,
  REC_LOST,
  REC_PAD,
  REC_TYPE_COUNT,
} from '../record/constants.js';
import { frameSize } from '../record/decode.js';
import { encodeLinkFromFork, stampGseq } from '../record/encode.js';
import type { ShardRing } from '../ring/shard-ring.js';

/** Offset of the pid that routes a record (pid, or ppid for LINK/UNLINK): the first body word of every type. */
const ROUTE_PID = 40;

/** Where a record goes: a shard index (>= 0) or one of these. */
export const ROUTE_SKIP = -1; // PAD
export const ROUTE_ALL = -2; // FLUSH, CLOCK: every shard
export const ROUTE_COUNT_LOST = -3; // LOST: counted by the router, not applied

/**
 * The route of a framed record. Every record but PAD takes a sequence
 * number, so a replay numbers its records the same way every time (the
 * rebuild of a crashed shard relies on it). A record too short to hold a
 * pid goes to shard 0, whose worker counts it malformed.
 */
export function routeOf(src: DataView, off: number, size: number, shards: number): number {
  const type = src.getUint16(off + H_TYPE, true);
  if (type === REC_PAD) return ROUTE_SKIP;
  if (type === REC_LOST) return size >= LOST_COUNT + 4 ? ROUTE_COUNT_LOST : 0;
  if (type === REC_FLUSH || type === REC_CLOCK) return ROUTE_ALL;
  if (size < ROUTE_PID + 4) return 0;
  return shardOf(src.getUint32(off + ROUTE_PID, true), src.getUint32(off + H_PIDNS, true), shards);
}

/** Records up to this size are copied into a ring word by word (larger ones by TypedArray.set). */
const COPY_BY_WORDS = 2048;

/** dispatch() results besides a size. */
export const FRAME_ERROR = -1;
export const RING_FULL = -2;

export interface RouterCounters {
  /** Source records given a sequence number (broadcast records once). */
  routed: number;
  /** Routed records by record type (REC_*). */
  byType: number[];
  /** Records dropped because a shard ring stayed full, per shard. */
  ringFull: number[];
  /** Events the kernel (or a source) reported lost. */
  lost: number;
  links: number;
  forwarded: number;
}

export class Router {
  /** Last global sequence number given to a source record. */
  gseq = 0;
  readonly lastTo: number[];
  readonly counters: RouterCounters;
  private readonly views: DataView[];
  private readonly outViews: DataView[];
  private readonly touched: boolean[];
  private readonly pending: Uint8Array[] = [];
  private srcBytes: Uint8Array = new Uint8Array(0);
  private src: DataView = new DataView(new ArrayBuffer(0));
  /** The source as int32 words when it starts 4-aligned (records are 8-aligned in it), else undefined. */
  private srcWords: Int32Array | undefined;
  /** Each ring's bytes as int32 words. */
  private readonly ringWords: Int32Array[];

  constructor(
    private readonly rings: readonly ShardRing[],
    private readonly outs: readonly ShardRing[],
    private readonly control: PipelineControl,
  ) {
    const n = rings.length;
    this.lastTo = new Array<number>(n).fill(0);
    this.touched = new Array<boolean>(n).fill(false);
    this.views = rings.map((r) => new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength));
    this.ringWords = rings.map((r) => new Int32Array(r.data.buffer, r.data.byteOffset, r.data.byteLength >> 2));
    this.outViews = outs.map((r) => new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength));
    this.counters = {
      routed: 0,
      byType: new Array<number>(REC_TYPE_COUNT).fill(0),
      ringFull: new Array<number>(n).fill(0),
      lost: 0,
      links: 0,
      forwarded: 0,
    };
  }

  get shards(): number {
    return this.rings.length;
  }

  /**
   * Routes the record at bytes[off]. Returns its size, or -1 when its
   * header cannot frame it (the caller reports the offset: nothing after it
   * can be trusted).
   */
  /**
   * Routes the record at bytes[off]. Returns its size; FRAME_ERROR when its
   * header cannot frame it (the caller reports the offset: nothing after it
   * can be trusted); RING_FULL when a target ring has no room — nothing was
   * written, the caller waits (pumping links) and calls again, or drop().
   */
  dispatch(bytes: Uint8Array, off: number, available: number): number {
    const src = this.viewOf(bytes);
    const size = frameSize(src, off, available);
    if (size < 0) return FRAME_ERROR;
    const route = routeOf(src, off, size, this.rings.length);
    if (route === ROUTE_SKIP) return size;
    const type = src.getUint16(off + H_TYPE, true);
    if (route === ROUTE_COUNT_LOST) {
      this.take(type);
      this.counters.lost += src.getUint32(off + LOST_COUNT, true);
      return size;
    }
    if (route === ROUTE_ALL) {
      for (let s = 0; s < this.rings.length; s++) if (this.rings[s]!.reserve(size) < 0) return RING_FULL;
      const gseq = this.take(type);
      for (let s = 0; s < this.rings.length; s++) this.copyTo(s, bytes, off, size, gseq);
      return size;
    }
    const shard = route;
    let parentShard = shard;
    if (type === REC_FORK && this.rings.length > 1) {
      const ppid = src.getUint32(off + FORK_PPID, true);
      if (ppid > 0) parentShard = shardOf(ppid, src.getUint32(off + H_PIDNS, true), this.rings.length);
    }
    // room first everywhere this record goes, so a retry never writes twice
    if (this.rings[shard]!.reserve(size) < 0) return RING_FULL;
    if (parentShard !== shard && this.rings[parentShard]!.reserve(LINK_SIZE) < 0) return RING_FULL;
    const gseq = this.take(type);
    const at = this.copyTo(shard, bytes, off, size, gseq);
    if (parentShard !== shard) {
      // the parent's shard holds the parent entry for this child from now on
      const linkAt = this.rings[parentShard]!.reserve(LINK_SIZE);
      encodeLinkFromFork(this.views[parentShard]!, linkAt, this.views[shard]!, at);
      this.commit(parentShard, linkAt, LINK_SIZE, gseq);
      this.counters.links++;
    }
    return size;
  }

  /**
   * Gives up on the record at bytes[off] (its ring stayed full): it still
   * takes its sequence number, and the drop is counted for the shards it was
   * going to.
   */
  drop(bytes: Uint8Array, off: number, available: number): number {
    const src = this.viewOf(bytes);
    const size = frameSize(src, off, available);
    if (size < 0) return FRAME_ERROR;
    const route = routeOf(src, off, size, this.rings.length);
    if (route === ROUTE_SKIP) return size;
    this.take(src.getUint16(off + H_TYPE, true));
    // a broadcast record is one event: one drop (counted on shard 0)
    this.counters.ringFull[route === ROUTE_ALL ? 0 : Math.max(0, route)]!++;
    return size;
  }

  private take(type: number): number {
    this.counters.routed++;
    this.counters.byType[type]!++;
    return ++this.gseq;
  }

  private viewOf(bytes: Uint8Array): DataView {
    if (bytes !== this.srcBytes) {
      this.srcBytes = bytes;
      this.src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.srcWords = (bytes.byteOffset & 3) === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2) : undefined;
    }
    return this.src;
  }

  /** Makes every routed record visible to the workers and to readers. */
  publish(): void {
    // watermarks first: a worker can never have applied a record numbered
    // above what readers see dispatched (docs/architecture.md, invariant 4)
    this.control.publishDispatched(this.gseq, this.lastTo);
    for (let s = 0; s < this.rings.length; s++) {
      if (!this.touched[s]) continue;
      this.touched[s] = false;
      this.rings[s]!.publish();
    }
  }

  /** Forwards the LINK/UNLINK messages of the workers to the shards they name. */
  pumpLinks(): number {
    let n = 0;
    while (this.pending.length > 0) {
      const rec = this.pending[0]!;
      if (!this.forward(undefined, rec, 0, rec.length)) break;
      this.pending.shift();
      n++;
    }
    for (let o = 0; o < this.outs.length; o++) {
      const out = this.outs[o]!;
      if (out.poll() === 0) continue;
      for (let off = out.next(); off >= 0; off = out.next()) {
        const size = out.sizeAt(off);
        if (this.pending.length > 0 || !this.forward(this.outViews[o]!, out.data, off, size)) {
          this.pending.push(out.data.slice(off, off + size)); // target full: keep it, in order
        }
        n++;
      }
      out.release();
    }
    this.counters.forwarded += n;
    return n;
  }

  /** Calls cb for each link message waiting to be forwarded to `shard`. */
  forEachPending(shard: number, cb: (data: Uint8Array, off: number) => void): void {
    for (const rec of this.pending) {
      const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
      if (shardOf(dv.getUint32(ROUTE_PID, true), dv.getUint32(H_PIDNS, true), this.rings.length) === shard) cb(rec, 0);
    }
  }

  /** LINK/UNLINK messages not yet forwarded (target rings full). */
  get backlog(): number {
    return this.pending.length;
  }

  /** Forwards one link message; `view` is a DataView over `bytes` (made here for a held-back copy). */
  private forward(view: DataView | undefined, bytes: Uint8Array, off: number, size: number): boolean {
    const dv = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const target = shardOf(dv.getUint32(off + ROUTE_PID, true), dv.getUint32(off + H_PIDNS, true), this.rings.length);
    const at = this.rings[target]!.reserve(size);
    if (at < 0) return false;
    this.rings[target]!.data.set(bytes.subarray(off, off + size), at);
    this.commit(target, at, size, this.gseq);
    return true;
  }

  private copyTo(shard: number, bytes: Uint8Array, off: number, size: number, gseq: number): number {
    const ring = this.rings[shard]!;
    const at = ring.reserve(size);
    const src = this.srcWords;
    if (src !== undefined && bytes === this.srcBytes && size <= COPY_BY_WORDS) {
      // word by word: records are 8-aligned in the source and in the ring, and a
      // subarray per record (for TypedArray.set) is an allocation per record
      const dst = this.ringWords[shard]!;
      const from = off >> 2;
      const to = at >> 2;
      for (let i = 0, n = size >> 2; i < n; i++) dst[to + i] = src[from + i]!;
    } else {
      ring.data.set(bytes.subarray(off, off + size), at);
    }
    this.commit(shard, at, size, gseq);
    return at;
  }

  private commit(shard: number, at: number, size: number, gseq: number): void {
    stampGseq(this.views[shard]!, at, gseq);
    this.rings[shard]!.commit(size);
    this.touched[shard] = true;
    if (gseq > this.lastTo[shard]!) this.lastTo[shard] = gseq;
  }
}
