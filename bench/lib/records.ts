// The standard stream as binary records (docs/record-format.md), encoded
// once per process and shared by the suites that feed the record path (ring,
// pipeline, readers-pipeline). The bytes are those syntheticChunks() yields
// for the same options: encodeEvent over the same events, back to back.
//
// Replaying one stream several times through one long-lived pipeline (so its
// worker threads stay warm across batches) needs each pass to look like new
// processes: `shiftPass` moves a range of records to other pids (pass p:
// pid + p × PASS_PID_STRIDE, above every pid of the stream) and later times,
// in place. Pass p is the same churn by other processes, later; the tables
// keep the earlier passes' rows as they keep any other exited or running
// process. (Not another pid namespace: the pipeline's tables are keyed by pid
// only, and a record with a pid namespace other than 0 stops a shard worker.)

import {
  EXEC_PPID,
  FORK_EXEC_TIME,
  FORK_PPID,
  H_SIZE,
  H_TIME,
  H_TYPE,
  MAX_RECORD_SIZE,
  REC_CREDS,
  REC_DELETE,
  REC_EXEC,
  REC_EXIT,
  REC_FORK,
  REC_RENAME,
  REC_REPARENT,
  REPARENT_PPID,
} from '../../src/record/constants.js';
import { getU64 } from '../../src/record/decode.js';
import { encodeEvent, setU64 } from '../../src/record/encode.js';
import { STANDARD_MIX } from '../../src/pipeline/sources/synthetic/options.js';
import type { StreamEvent } from '../../src/record/events.js';

export interface EncodedStream {
  /** Every record of the stream, back to back. */
  bytes: Uint8Array;
  /** Byte offset of record i (length: records + 1; the last entry is bytes.length). */
  offsets: Int32Array;
  records: number;
  /** Kernel time of the first and last record, ns. */
  firstTime: number;
  lastTime: number;
}

const cache = new WeakMap<readonly StreamEvent[], EncodedStream>();

/** The records of `events` (cached per events array: suites of one run share one encoding). */
export function encodeStream(events: readonly StreamEvent[]): EncodedStream {
  const hit = cache.get(events);
  if (hit) return hit;
  let buf = new Uint8Array(events.length * 256 + MAX_RECORD_SIZE);
  const offsets = new Int32Array(events.length + 1);
  let at = 0;
  for (let i = 0; i < events.length; i++) {
    if (buf.length - at < MAX_RECORD_SIZE) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf.subarray(0, at));
      buf = bigger;
    }
    offsets[i] = at;
    at += encodeEvent(events[i]!, buf, at);
  }
  offsets[events.length] = at;
  const bytes = buf.slice(0, at);
  const dv = new DataView(bytes.buffer);
  const enc: EncodedStream = {
    bytes,
    offsets,
    records: events.length,
    firstTime: events.length > 0 ? getU64(dv, H_TIME) : 0,
    lastTime: events.length > 0 ? getU64(dv, offsets[events.length - 1]! + H_TIME) : 0,
  };
  cache.set(events, enc);
  return enc;
}

/** A range of whole records: [from, to) record indexes, [start, end) bytes. */
export interface RecordRange {
  from: number;
  to: number;
  start: number;
  end: number;
}

/** The stream cut into consecutive ranges of `perChunk` records (the last one may be shorter). */
export function chunkRanges(enc: EncodedStream, perChunk: number): RecordRange[] {
  const out: RecordRange[] = [];
  for (let from = 0; from < enc.records; from += perChunk) {
    const to = Math.min(enc.records, from + perChunk);
    out.push({ from, to, start: enc.offsets[from]!, end: enc.offsets[to]! });
  }
  return out;
}

/** Simulated time one pass of the stream spans, rounded up to a millisecond (the shift between passes). */
export function passSpan(enc: EncodedStream): number {
  return Math.ceil((enc.lastTime - enc.firstTime + 1) / 1e6) * 1e6;
}

/** Pid offset between two passes: the mix's pid limit, so passes never share a pid. */
export const PASS_PID_STRIDE = STANDARD_MIX.pidMax;

/** Offset of the pid every record type that names a process has (the first body word). */
const PID = 40;

/**
 * Moves the records of `bytes[start, end)` from pass `from` to pass `to`:
 * pids (and parent pids but 0 and -1) up by (to - from) × PASS_PID_STRIDE,
 * times (header time, a fork's exec time when known) later by
 * (to - from) × span. In place; untimed preparation.
 */
export function shiftPass(bytes: Uint8Array, start: number, end: number, from: number, to: number, span: number): void {
  if (from === to) return;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dt = (to - from) * span;
  const dp = (to - from) * PASS_PID_STRIDE;
  const ppid = (at: number) => {
    const v = dv.getInt32(at, true);
    if (v > 0) dv.setInt32(at, v + dp, true);
  };
  for (let off = start; off < end; off += dv.getUint32(off + H_SIZE, true)) {
    setU64(dv, off + H_TIME, getU64(dv, off + H_TIME) + dt);
    const type = dv.getUint16(off + H_TYPE, true);
    switch (type) {
      case REC_FORK: {
        const execTime = getU64(dv, off + FORK_EXEC_TIME);
        if (execTime !== 0) setU64(dv, off + FORK_EXEC_TIME, execTime + dt);
        ppid(off + FORK_PPID);
        break;
      }
      case REC_EXEC:
        ppid(off + EXEC_PPID);
        break;
      case REC_REPARENT:
        ppid(off + REPARENT_PPID);
        break;
      default:
        break;
    }
    if (type === REC_FORK || type === REC_EXEC || type === REC_EXIT || type === REC_CREDS || type === REC_RENAME || type === REC_DELETE || type === REC_REPARENT) {
      dv.setUint32(off + PID, dv.getUint32(off + PID, true) + dp, true);
    }
  }
}
