// Encoding events into records (docs/record-format.md): encodeEvent and
// encodedSize for any event, and the small encoders the router and the shard
// workers use on their hot paths (encodeLink, encodeLinkFromFork,
// encodeUnlink, encodeFlush, encodeFlushAt, encodePad, stampGseq).
//
// encodeEvent and the small encoders write straight into the caller's buffer
// and allocate nothing but what a bigint or a non-ASCII string forces.

import {
  CLOCK_SIZE, CLOCK_WALL_TIME, CRED_AUID, CRED_CAP_EFFECTIVE, CRED_CAP_PERMITTED, CRED_EGID, CRED_EUID, CRED_FSGID,
  CRED_FSUID, CRED_GID, CRED_UID, CRED_WORD_AUID, CRED_WORD_CAP_EFFECTIVE, CRED_WORD_CAP_PERMITTED, CRED_WORD_COUNT,
  CRED_WORD_EGID, CRED_WORD_EUID, CRED_WORD_FSGID, CRED_WORD_FSUID, CRED_WORD_GID, CRED_WORD_UID, CREDS_CREDS,
  CREDS_CREDS_MASK, CREDS_PID, CREDS_SIZE, DELETE_PID, DELETE_SIZE, EXEC_PPID, EXEC_PREV_INODE, EXIT_EXIT_CODE, EXIT_PID,
  EXIT_SIZE, FLAG_ARGS_TRUNCATED, FLAG_ENVS_TRUNCATED, FLAG_KERNEL_THREAD, FLAG_PATH_TRUNCATED, FLAG_SNAPSHOT,
  FLUSH_SIZE, FORK_CGROUP_ID, FORK_CREDS, FORK_CREDS_MASK, FORK_EXEC_TIME, FORK_GIVEN, FORK_INODE, FORK_LENS,
  FORK_MIN_SIZE, FORK_MOUNT_ID, FORK_NS_PID, FORK_PID, FORK_PIDNS_INODE, FORK_PPID, FORK_RESERVED, FORK_VAR,
  GIVEN_ARGV, GIVEN_COMM, GIVEN_CTX, GIVEN_CTX_CGROUP, GIVEN_CTX_CONTAINER, GIVEN_CTX_TTY, GIVEN_ENVP, GIVEN_INTERP,
  GIVEN_PATH, H_CPU, H_CPU_SEQ, H_FLAGS, H_GSEQ, H_PIDNS, H_SIZE, H_TIME, H_TYPE, LINK_FORK_TIME, LINK_INODE, LINK_PPID,
  LINK_RESERVED, LINK_SIZE, LOST_COUNT, LOST_SIZE, MAX_ARGV_BYTES, MAX_COMM_BYTES, MAX_CTX_BYTES, MAX_ENVP_BYTES,
  MAX_INTERP_BYTES, MAX_PATH_BYTES, MAX_RECORD_SIZE, REC_CLOCK, REC_CREDS, REC_DELETE, REC_EXEC, REC_EXIT, REC_FLUSH,
  REC_FORK, REC_LINK, REC_LOST, REC_PAD, REC_RENAME, REC_REPARENT, REC_UNLINK, RENAME_LENS, RENAME_MIN_SIZE, RENAME_PID,
  RENAME_VAR, REPARENT_PID, REPARENT_PPID, REPARENT_SIZE, UNLINK_FORK_TIME, UNLINK_PPID, UNLINK_RESERVED, UNLINK_SIZE,
} from './constants.js';
import type { ByteString, Credentials, ExecEvent, ForkEvent, RecordEvent } from './events.js';
import { align8 } from './spec.js';

/** Sequence numbers to write into a record's header (else both are 0). */
export interface RecordSeq {
  cpuSeq: bigint;
  gseq: bigint;
}

// ---------------------------------------------------------------------------
// Small helpers

const TWO32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;

/** Writes a non-negative integer below 2^53 as a u64 without a bigint. */
export function setU64(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, n >>> 0, true);
  dv.setUint32(off + 4, Math.floor(n / TWO32) >>> 0, true);
}

/** Stamps the global sequence number of the record at `off` (router). */
export function stampGseq(dv: DataView, off: number, gseq: number): void {
  setU64(dv, off + H_GSEQ, gseq);
}

// One cached DataView: the caller usually writes into the same buffer over
// and over, and a DataView per call would be an allocation per record. A
// different buffer just replaces the cached view.
let encOut: Uint8Array | undefined;
let encView: DataView = new DataView(new ArrayBuffer(0));

function viewForEncode(out: Uint8Array): DataView {
  if (out !== encOut) {
    if (!(out instanceof Uint8Array)) throw new TypeError('encodeEvent: out must be a Uint8Array');
    encView = new DataView(out.buffer, out.byteOffset, out.byteLength);
    encOut = out;
  }
  return encView;
}

const encoder = new TextEncoder();

/** UTF-8 length of `s` as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // two units, four bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

const OVER_BOUND = -1;
const NO_ROOM = -2;
const HAS_NUL = -3;
const WRONG_TYPE = -4;

/** Strings up to this many UTF-16 units are copied by a loop; longer ones by TextEncoder.encodeInto. */
const SHORT_STRING = 24;

/**
 * Writes the bytes of `v` at `pos`, at most `max` of them and within `end`.
 * Returns the count, or OVER_BOUND / NO_ROOM / HAS_NUL (when `noNul`).
 *
 * Short ASCII strings (most comms, short paths and arguments) are copied by a
 * loop: no allocation. Longer or non-ASCII ones go through encodeInto, whose
 * only cost beyond the copy is the subarray view it needs (measured: faster
 * than the loop from ~24 characters on).
 */
function putBytes(out: Uint8Array, pos: number, end: number, v: ByteString, max: number, noNul: boolean): number {
  if (typeof v === 'string') {
    const n = v.length;
    if (n > max) return OVER_BOUND; // UTF-8 never has fewer bytes than UTF-16 units
    if (n <= SHORT_STRING && pos + n <= end) {
      let i = 0;
      for (; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80 || c === 0) break;
        out[pos + i] = c;
      }
      if (i === n) return n;
    }
    if (noNul && v.indexOf('\0') !== -1) return HAS_NUL;
    const room = Math.min(max, end - pos);
    if (room <= 0) return n === 0 ? 0 : utf8Length(v) > max ? OVER_BOUND : NO_ROOM;
    const r = encoder.encodeInto(v, out.subarray(pos, pos + room));
    if (r.read! < n) return utf8Length(v) > max ? OVER_BOUND : NO_ROOM;
    return r.written!;
  }
  if (!(v instanceof Uint8Array)) return WRONG_TYPE;
  const n = v.length;
  if (n > max) return OVER_BOUND;
  if (pos + n > end) return NO_ROOM;
  if (noNul && v.indexOf(0) !== -1) return HAS_NUL;
  if (n <= SHORT_STRING) for (let i = 0; i < n; i++) out[pos + i] = v[i]!;
  else out.set(v, pos);
  return n;
}

function bytesError(code: number, field: string, max: number, v: unknown): Error {
  if (code === OVER_BOUND) return new RangeError(`${field} is over its bound of ${max} bytes`);
  if (code === NO_ROOM) return new RangeError(`${field} does not fit in the output buffer`);
  if (code === HAS_NUL) return new TypeError(`${field} contains a NUL byte`);
  return new TypeError(`${field} must be a string or a Uint8Array, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'string') return 'a string';
  return typeof v;
}

function u32Error(field: string, v: unknown): Error {
  if (typeof v !== 'number') return new TypeError(`${field} must be a number, got ${describe(v)}`);
  return new RangeError(`${field} must be an integer in 0..4294967295, got ${v}`);
}

// The checks take the record and field names apart and join them only to
// report an error: a template string per call would be an allocation per field.

function checkU32(v: number, what: string, field: string): number {
  if (v >>> 0 !== v) throw u32Error(`${what}.${field}`, v);
  return v;
}

function checkU64n(v: number, what: string, field: string): number {
  if (!(v >= 0 && Number.isSafeInteger(v))) {
    if (typeof v !== 'number') throw new TypeError(`${what}.${field} must be a number, got ${describe(v)}`);
    throw new RangeError(`${what}.${field} must be a non-negative safe integer, got ${v}`);
  }
  return v;
}

function checkU64(v: bigint, what: string, field: string): bigint {
  if (typeof v !== 'bigint') throw new TypeError(`${what}.${field} must be a bigint, got ${describe(v)}`);
  if (v < 0n || v > U64_MAX) throw new RangeError(`${what}.${field} must be in 0..2^64-1, got ${v}`);
  return v;
}

function needRoom(out: Uint8Array, off: number, n: number, what: string): void {
  if (off < 0 || (off & 7) !== 0 || !Number.isInteger(off)) {
    throw new RangeError(`${what}: offset ${off} is not a non-negative multiple of 8`);
  }
  if (off + n > out.length) throw new RangeError(`${what}: ${n} bytes do not fit at offset ${off} of a ${out.length}-byte buffer`);
}

function writeHeader(
  dv: DataView, off: number, type: number, flags: number, size: number, cpu: number, pidns: number, time: bigint,
  seq: RecordSeq | undefined, what: string,
): void {
  dv.setUint16(off + H_TYPE, type, true);
  dv.setUint16(off + H_FLAGS, flags, true);
  dv.setUint32(off + H_SIZE, size, true);
  dv.setUint32(off + H_CPU, checkU32(cpu, what, 'cpu'), true);
  dv.setUint32(off + H_PIDNS, checkU32(pidns, what, 'pidns'), true);
  dv.setBigUint64(off + H_TIME, checkU64(time, what, 'time'), true);
  if (seq === undefined) {
    dv.setUint32(off + H_CPU_SEQ, 0, true);
    dv.setUint32(off + H_CPU_SEQ + 4, 0, true);
    dv.setUint32(off + H_GSEQ, 0, true);
    dv.setUint32(off + H_GSEQ + 4, 0, true);
  } else {
    dv.setBigUint64(off + H_CPU_SEQ, checkU64(seq.cpuSeq, 'seq', 'cpuSeq'), true);
    dv.setBigUint64(off + H_GSEQ, checkU64(seq.gseq, 'seq', 'gseq'), true);
  }
}

/** Zeroes `out[from, to)` (record padding, unused words). */
function zero(out: Uint8Array, from: number, to: number): void {
  for (let p = from; p < to; p++) out[p] = 0;
}

/** One u32 credential word: -1 or undefined is "not given" (returns 0), else its mask bit. */
function putCred(dv: DataView, pos: number, v: number | undefined, bit: number, what: string, field: string): number {
  if (v === undefined || v === -1) return 0;
  if (v >>> 0 !== v) throw u32Error(`${what}.credentials.${field}`, v);
  dv.setUint32(pos, v, true);
  return bit;
}

/**
 * Writes the 11-word tuple at `pos` (words of fields not given are zero);
 * returns the mask of the fields given. Unrolled: a loop over field names
 * would be a keyed property load per field.
 */
function putCreds(dv: DataView, pos: number, c: Partial<Credentials> | undefined, what: string): number {
  for (let w = 0; w < CRED_WORD_COUNT; w++) dv.setUint32(pos + 4 * w, 0, true);
  if (c === undefined) return 0;
  if (typeof c !== 'object' || c === null) throw new TypeError(`${what}.credentials must be an object, got ${describe(c)}`);
  let mask = putCred(dv, pos + 4 * CRED_WORD_UID, c.uid, CRED_UID, what, 'uid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_GID, c.gid, CRED_GID, what, 'gid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_EUID, c.euid, CRED_EUID, what, 'euid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_EGID, c.egid, CRED_EGID, what, 'egid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_FSUID, c.fsuid, CRED_FSUID, what, 'fsuid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_FSGID, c.fsgid, CRED_FSGID, what, 'fsgid');
  mask |= putCred(dv, pos + 4 * CRED_WORD_AUID, c.auid, CRED_AUID, what, 'auid');
  // a capability mask is a u64 at words 7-8 / 9-10, lo word first: exactly a little-endian u64
  const eff = c.capEffective;
  if (eff !== undefined && eff !== -1n) {
    dv.setBigUint64(pos + 4 * CRED_WORD_CAP_EFFECTIVE, checkU64(eff, what, 'credentials.capEffective'), true);
    mask |= CRED_CAP_EFFECTIVE;
  }
  const prm = c.capPermitted;
  if (prm !== undefined && prm !== -1n) {
    dv.setBigUint64(pos + 4 * CRED_WORD_CAP_PERMITTED, checkU64(prm, what, 'credentials.capPermitted'), true);
    mask |= CRED_CAP_PERMITTED;
  }
  return mask;
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * Encodes `ev` at `out[off]` (a multiple of 8) and returns the bytes written
 * (the record's size). Fields that are undefined are "not given"; -1
 * credential fields are left out of credsMask. Throws a RangeError naming the
 * field when a value is over its bound or the buffer is too small, a
 * TypeError for a value of the wrong type or a NUL inside an argument or a
 * context part. Allocates nothing on the common path (ASCII strings).
 */
export function encodeEvent(ev: RecordEvent, out: Uint8Array, off: number, seq?: RecordSeq): number {
  const dv = viewForEncode(out);
  switch (ev.type) {
    case 'fork':
      return encodeImage(ev, REC_FORK, out, dv, off, seq);
    case 'exec':
      return encodeImage(ev, REC_EXEC, out, dv, off, seq);
    case 'exit':
      needRoom(out, off, EXIT_SIZE, 'exit');
      writeHeader(dv, off, REC_EXIT, 0, EXIT_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'exit');
      dv.setUint32(off + EXIT_PID, checkU32(ev.pid, 'exit', 'pid'), true);
      dv.setUint32(off + EXIT_EXIT_CODE, checkU32(ev.exitCode, 'exit', 'exitCode'), true);
      return EXIT_SIZE;
    case 'creds': {
      needRoom(out, off, CREDS_SIZE, 'creds');
      writeHeader(dv, off, REC_CREDS, 0, CREDS_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'creds');
      dv.setUint32(off + CREDS_PID, checkU32(ev.pid, 'creds', 'pid'), true);
      if (ev.credentials === undefined) throw new TypeError('creds.credentials must be an object, got undefined');
      dv.setUint32(off + CREDS_CREDS_MASK, putCreds(dv, off + CREDS_CREDS, ev.credentials, 'creds'), true);
      dv.setUint32(off + CREDS_CREDS + 4 * CRED_WORD_COUNT, 0, true);
      return CREDS_SIZE;
    }
    case 'rename': {
      needRoom(out, off, RENAME_MIN_SIZE, 'rename');
      const n = putBytes(out, off + RENAME_VAR, out.length, ev.comm, MAX_COMM_BYTES, false);
      if (n < 0) throw bytesError(n, 'rename.comm', MAX_COMM_BYTES, ev.comm);
      const size = align8(RENAME_VAR + n);
      if (off + size > out.length) throw bytesError(NO_ROOM, 'rename record', 0, null);
      writeHeader(dv, off, REC_RENAME, 0, size, ev.cpu, ev.pidns, ev.time, seq, 'rename');
      dv.setUint32(off + RENAME_PID, checkU32(ev.pid, 'rename', 'pid'), true);
      dv.setUint16(off + RENAME_LENS, n, true);
      zero(out, off + RENAME_VAR + n, off + size);
      return size;
    }
    case 'lost':
      needRoom(out, off, LOST_SIZE, 'lost');
      writeHeader(dv, off, REC_LOST, 0, LOST_SIZE, ev.cpu, 0, ev.time, seq, 'lost');
      dv.setUint32(off + LOST_COUNT, checkU32(ev.count, 'lost', 'count'), true);
      dv.setUint32(off + LOST_COUNT + 4, 0, true);
      return LOST_SIZE;
    case 'flush':
      needRoom(out, off, FLUSH_SIZE, 'flush');
      writeHeader(dv, off, REC_FLUSH, 0, FLUSH_SIZE, ev.cpu, 0, ev.time, seq, 'flush');
      return FLUSH_SIZE;
    case 'delete':
      needRoom(out, off, DELETE_SIZE, 'delete');
      writeHeader(dv, off, REC_DELETE, 0, DELETE_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'delete');
      dv.setUint32(off + DELETE_PID, checkU32(ev.pid, 'delete', 'pid'), true);
      dv.setUint32(off + DELETE_PID + 4, 0, true);
      return DELETE_SIZE;
    case 'reparent':
      needRoom(out, off, REPARENT_SIZE, 'reparent');
      writeHeader(dv, off, REC_REPARENT, 0, REPARENT_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'reparent');
      dv.setUint32(off + REPARENT_PID, checkU32(ev.pid, 'reparent', 'pid'), true);
      dv.setUint32(off + REPARENT_PPID, checkU32(ev.ppid, 'reparent', 'ppid'), true);
      return REPARENT_SIZE;
    case 'link':
      needRoom(out, off, LINK_SIZE, 'link');
      writeHeader(dv, off, REC_LINK, 0, LINK_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'link');
      dv.setUint32(off + LINK_PPID, checkU32(ev.ppid, 'link', 'ppid'), true);
      dv.setUint32(off + LINK_RESERVED, 0, true);
      setU64(dv, off + LINK_INODE, checkU64n(ev.inode, 'link', 'inode'));
      dv.setBigUint64(off + LINK_FORK_TIME, checkU64(ev.forkTime, 'link', 'forkTime'), true);
      return LINK_SIZE;
    case 'unlink':
      needRoom(out, off, UNLINK_SIZE, 'unlink');
      writeHeader(dv, off, REC_UNLINK, 0, UNLINK_SIZE, ev.cpu, ev.pidns, ev.time, seq, 'unlink');
      dv.setUint32(off + UNLINK_PPID, checkU32(ev.ppid, 'unlink', 'ppid'), true);
      dv.setUint32(off + UNLINK_RESERVED, 0, true);
      dv.setBigUint64(off + UNLINK_FORK_TIME, checkU64(ev.forkTime, 'unlink', 'forkTime'), true);
      return UNLINK_SIZE;
    case 'clock':
      needRoom(out, off, CLOCK_SIZE, 'clock');
      writeHeader(dv, off, REC_CLOCK, 0, CLOCK_SIZE, ev.cpu, 0, ev.time, seq, 'clock');
      dv.setBigUint64(off + CLOCK_WALL_TIME, checkU64(ev.wallTime, 'clock', 'wallTime'), true);
      return CLOCK_SIZE;
    default:
      throw new TypeError(`encodeEvent: unknown event type ${describe((ev as { type?: unknown }).type)}`);
  }
}

/** Fork and exec share one layout (FORK_* === EXEC_* offsets). */
function encodeImage(
  ev: ForkEvent | ExecEvent, code: number, out: Uint8Array, dv: DataView, off: number, seq: RecordSeq | undefined,
): number {
  const what = code === REC_FORK ? 'fork' : 'exec';
  needRoom(out, off, FORK_MIN_SIZE, what);
  dv.setUint32(off + FORK_PID, checkU32(ev.pid, what, 'pid'), true);
  let flags = 0;
  if (code === REC_FORK) {
    const f = ev as ForkEvent;
    dv.setUint32(off + FORK_PPID, checkU32(f.ppid, 'fork', 'ppid'), true);
    dv.setBigUint64(off + FORK_EXEC_TIME, checkU64(f.execTime, 'fork', 'execTime'), true);
    if (f.kernelThread === true) flags |= FLAG_KERNEL_THREAD;
    if (f.snapshot === true) flags |= FLAG_SNAPSHOT;
  } else {
    const e = ev as ExecEvent;
    const ppid = e.ppid;
    if ((ppid | 0) !== ppid || ppid < -1) {
      if (typeof ppid !== 'number') throw new TypeError(`exec.ppid must be a number, got ${describe(ppid)}`);
      throw new RangeError(`exec.ppid must be -1 or an integer in 0..2147483647, got ${ppid}`);
    }
    dv.setInt32(off + EXEC_PPID, ppid, true);
    setU64(dv, off + EXEC_PREV_INODE, checkU64n(e.prevInode, 'exec', 'prevInode'));
  }
  if (ev.argsTruncated === true) flags |= FLAG_ARGS_TRUNCATED;
  if (ev.envsTruncated === true) flags |= FLAG_ENVS_TRUNCATED;
  if (ev.pathTruncated === true) flags |= FLAG_PATH_TRUNCATED;
  setU64(dv, off + FORK_INODE, checkU64n(ev.inode, what, 'inode'));
  dv.setUint16(off + FORK_CREDS_MASK, putCreds(dv, off + FORK_CREDS, ev.credentials, what), true);
  const mountId = ev.mountId;
  const nsPid = ev.nsPid;
  const pidnsInode = ev.pidnsInode;
  const cgroupId = ev.cgroupId;
  dv.setUint32(off + FORK_MOUNT_ID, mountId === undefined ? 0 : checkU32(mountId, what, 'mountId'), true);
  dv.setUint32(off + FORK_NS_PID, nsPid === undefined ? 0 : checkU32(nsPid, what, 'nsPid'), true);
  dv.setUint32(off + FORK_PIDNS_INODE, pidnsInode === undefined ? 0 : checkU32(pidnsInode, what, 'pidnsInode'), true);
  dv.setUint32(off + FORK_RESERVED, 0, true);
  if (cgroupId === undefined) setU64(dv, off + FORK_CGROUP_ID, 0);
  else dv.setBigUint64(off + FORK_CGROUP_ID, checkU64(cgroupId, what, 'cgroupId'), true);

  const end = out.length;
  const lens = off + FORK_LENS;
  let pos = off + FORK_VAR;
  let given = 0;
  let n = 0;

  if (ev.path !== undefined) {
    n = putBytes(out, pos, end, ev.path, MAX_PATH_BYTES, false);
    if (n < 0) throw bytesError(n, `${what}.path`, MAX_PATH_BYTES, ev.path);
    pos += n;
    given |= GIVEN_PATH;
  } else n = 0;
  dv.setUint16(lens, n, true);

  if (ev.comm !== undefined) {
    n = putBytes(out, pos, end, ev.comm, MAX_COMM_BYTES, false);
    if (n < 0) throw bytesError(n, `${what}.comm`, MAX_COMM_BYTES, ev.comm);
    pos += n;
    given |= GIVEN_COMM;
  } else n = 0;
  dv.setUint16(lens + 2, n, true);

  if (ev.argv !== undefined) {
    n = putList(out, pos, end, ev.argv, MAX_ARGV_BYTES, what, 'argv');
    pos += n;
    given |= GIVEN_ARGV;
  } else n = 0;
  dv.setUint16(lens + 4, n, true);

  if (ev.envp !== undefined) {
    n = putList(out, pos, end, ev.envp, MAX_ENVP_BYTES, what, 'envp');
    pos += n;
    given |= GIVEN_ENVP;
  } else n = 0;
  dv.setUint16(lens + 6, n, true);

  const tty = ev.tty;
  const ctr = ev.containerId;
  const cg = ev.cgroup;
  if (tty !== undefined || ctr !== undefined || cg !== undefined) {
    if (tty !== undefined && ctr !== undefined && cg !== undefined) given |= GIVEN_CTX;
    else {
      if (tty !== undefined) given |= GIVEN_CTX_TTY;
      if (ctr !== undefined) given |= GIVEN_CTX_CONTAINER;
      if (cg !== undefined) given |= GIVEN_CTX_CGROUP;
    }
    n = putCtx(out, pos, end, tty ?? '', ctr ?? '', cg ?? '', what);
    pos += n;
  } else n = 0;
  dv.setUint16(lens + 8, n, true);

  if (ev.interpreter !== undefined) {
    n = putBytes(out, pos, end, ev.interpreter, MAX_INTERP_BYTES, false);
    if (n < 0) throw bytesError(n, `${what}.interpreter`, MAX_INTERP_BYTES, ev.interpreter);
    pos += n;
    given |= GIVEN_INTERP;
  } else n = 0;
  dv.setUint16(lens + 10, n, true);

  dv.setUint16(off + FORK_GIVEN, given, true);
  const size = align8(pos - off);
  // unreachable while the bounds above hold; kept so that a bound raised later cannot overflow a ring slot
  if (size > MAX_RECORD_SIZE) throw new RangeError(`${what} record of ${size} bytes is over MAX_RECORD_SIZE (${MAX_RECORD_SIZE})`);
  if (off + size > end) throw new RangeError(`${what}: record of ${size} bytes does not fit in the output buffer`);
  zero(out, pos, off + size);
  writeHeader(dv, off, code, flags, size, ev.cpu, ev.pidns, ev.time, seq, what);
  return size;
}

/** Writes NUL-terminated items; returns the blob length. */
function putList(
  out: Uint8Array, pos: number, end: number, items: readonly ByteString[], max: number, what: string, field: string,
): number {
  if (!Array.isArray(items)) throw new TypeError(`${what}.${field} must be an array, got ${describe(items)}`);
  let at = pos;
  let left = max;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    // room for the item's NUL is kept out of the bound given to putBytes
    const n = left > 0 ? putBytes(out, at, end - 1, item, left - 1, true) : OVER_BOUND;
    if (n < 0) {
      if (n === OVER_BOUND) throw new RangeError(`${what}.${field} is over its bound of ${max} bytes (item ${i} does not fit)`);
      throw bytesError(n, `${what}.${field}[${i}]`, max, item);
    }
    at += n;
    out[at++] = 0;
    left -= n + 1;
  }
  return at - pos;
}

/** Writes "tty\0containerId\0cgroup" (nothing when all three are empty); returns the length. */
function putCtx(out: Uint8Array, pos: number, end: number, tty: string, ctr: string, cg: string, what: string): number {
  let at = pos;
  let left = MAX_CTX_BYTES - 2; // the two separators
  let n = putBytes(out, at, end - 2, tty, left, true);
  if (n < 0) throw ctxError(n, what, 'tty', tty);
  at += n;
  left -= n;
  out[at++] = 0;
  n = putBytes(out, at, end - 1, ctr, left, true);
  if (n < 0) throw ctxError(n, what, 'containerId', ctr);
  at += n;
  left -= n;
  out[at++] = 0;
  n = putBytes(out, at, end, cg, left, true);
  if (n < 0) throw ctxError(n, what, 'cgroup', cg);
  at += n;
  // all three empty: an empty field, not "\0\0"
  return at - pos === 2 ? 0 : at - pos;
}

function ctxError(code: number, what: string, part: string, v: unknown): Error {
  if (code === OVER_BOUND) {
    return new RangeError(`${what}.ctx (tty, containerId and cgroup) is over its bound of ${MAX_CTX_BYTES} bytes (at ${part})`);
  }
  return bytesError(code, `${what}.${part}`, MAX_CTX_BYTES, v);
}

function byteLength(v: ByteString, what: string, field: string): number {
  if (typeof v === 'string') return utf8Length(v);
  if (v instanceof Uint8Array) return v.length;
  throw bytesError(WRONG_TYPE, `${what}.${field}`, 0, v);
}

function boundedLength(v: ByteString, max: number, what: string, field: string): number {
  const n = byteLength(v, what, field);
  if (n > max) throw new RangeError(`${what}.${field} is over its bound of ${max} bytes`);
  return n;
}

function listLength(items: readonly ByteString[], max: number, what: string, field: string): number {
  if (!Array.isArray(items)) throw new TypeError(`${what}.${field} must be an array, got ${describe(items)}`);
  let n = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    n += (typeof item === 'string' ? utf8Length(item) : item instanceof Uint8Array ? item.length : byteLength(item, what, `${field}[${i}]`)) + 1;
  }
  if (n > max) throw new RangeError(`${what}.${field} is over its bound of ${max} bytes`);
  return n;
}

/** Size in bytes encodeEvent will write for `ev`; throws the same bound errors. */
export function encodedSize(ev: RecordEvent): number {
  switch (ev.type) {
    case 'fork':
    case 'exec': {
      const what = ev.type;
      let n = FORK_VAR;
      if (ev.path !== undefined) n += boundedLength(ev.path, MAX_PATH_BYTES, what, 'path');
      if (ev.comm !== undefined) n += boundedLength(ev.comm, MAX_COMM_BYTES, what, 'comm');
      if (ev.argv !== undefined) n += listLength(ev.argv, MAX_ARGV_BYTES, what, 'argv');
      if (ev.envp !== undefined) n += listLength(ev.envp, MAX_ENVP_BYTES, what, 'envp');
      if (ev.tty !== undefined || ev.containerId !== undefined || ev.cgroup !== undefined) {
        const c =
          (ev.tty === undefined ? 0 : byteLength(ev.tty, what, 'tty')) +
          (ev.containerId === undefined ? 0 : byteLength(ev.containerId, what, 'containerId')) +
          (ev.cgroup === undefined ? 0 : byteLength(ev.cgroup, what, 'cgroup'));
        if (c + 2 > MAX_CTX_BYTES) throw new RangeError(`${what}.ctx (tty, containerId and cgroup) is over its bound of ${MAX_CTX_BYTES} bytes`);
        if (c > 0) n += c + 2;
      }
      if (ev.interpreter !== undefined) n += boundedLength(ev.interpreter, MAX_INTERP_BYTES, what, 'interpreter');
      return align8(n);
    }
    case 'exit':
      return EXIT_SIZE;
    case 'creds':
      return CREDS_SIZE;
    case 'rename':
      return align8(RENAME_VAR + boundedLength(ev.comm, MAX_COMM_BYTES, 'rename', 'comm'));
    case 'lost':
      return LOST_SIZE;
    case 'flush':
      return FLUSH_SIZE;
    case 'delete':
      return DELETE_SIZE;
    case 'reparent':
      return REPARENT_SIZE;
    case 'link':
      return LINK_SIZE;
    case 'unlink':
      return UNLINK_SIZE;
    case 'clock':
      return CLOCK_SIZE;
    default:
      throw new TypeError(`encodedSize: unknown event type ${describe((ev as { type?: unknown }).type)}`);
  }
}

// ---------------------------------------------------------------------------
// Small encoders for the router and workers: explicit parameters, a DataView
// the caller keeps per ring, no allocation. Sequence numbers are numbers
// (exact below 2^53) so that counting them allocates nothing; cpuSeq is 0
// (these records do not come from a CPU ring). They do not check ranges.

/**
 * LINK into the parent's shard. `time`/`forkTime` are bigints the caller
 * already holds; see encodeLinkFromFork to build one from a FORK record
 * without any bigint.
 */
export function encodeLink(
  dv: DataView, off: number, ppid: number, inode: number, forkTime: bigint,
  time: bigint, cpu: number, pidns: number, gseq: number,
): number {
  smallHeader(dv, off, REC_LINK, LINK_SIZE, cpu, pidns, gseq);
  dv.setBigUint64(off + H_TIME, time, true);
  dv.setUint32(off + LINK_PPID, ppid, true);
  dv.setUint32(off + LINK_RESERVED, 0, true);
  setU64(dv, off + LINK_INODE, inode);
  dv.setBigUint64(off + LINK_FORK_TIME, forkTime, true);
  return LINK_SIZE;
}

/**
 * LINK for the FORK record at `src[forkOff]`: ppid and inode of the fork,
 * forkTime = time = the fork's time, cpu, pidns and gseq of the fork.
 * Copies words; no bigint.
 */
export function encodeLinkFromFork(dv: DataView, off: number, src: DataView, forkOff: number): number {
  const tLo = src.getUint32(forkOff + H_TIME, true);
  const tHi = src.getUint32(forkOff + H_TIME + 4, true);
  dv.setUint16(off + H_TYPE, REC_LINK, true);
  dv.setUint16(off + H_FLAGS, 0, true);
  dv.setUint32(off + H_SIZE, LINK_SIZE, true);
  dv.setUint32(off + H_CPU, src.getUint32(forkOff + H_CPU, true), true);
  dv.setUint32(off + H_PIDNS, src.getUint32(forkOff + H_PIDNS, true), true);
  dv.setUint32(off + H_TIME, tLo, true);
  dv.setUint32(off + H_TIME + 4, tHi, true);
  dv.setUint32(off + H_CPU_SEQ, 0, true);
  dv.setUint32(off + H_CPU_SEQ + 4, 0, true);
  dv.setUint32(off + H_GSEQ, src.getUint32(forkOff + H_GSEQ, true), true);
  dv.setUint32(off + H_GSEQ + 4, src.getUint32(forkOff + H_GSEQ + 4, true), true);
  dv.setUint32(off + LINK_PPID, src.getUint32(forkOff + FORK_PPID, true), true);
  dv.setUint32(off + LINK_RESERVED, 0, true);
  dv.setUint32(off + LINK_INODE, src.getUint32(forkOff + FORK_INODE, true), true);
  dv.setUint32(off + LINK_INODE + 4, src.getUint32(forkOff + FORK_INODE + 4, true), true);
  dv.setUint32(off + LINK_FORK_TIME, tLo, true);
  dv.setUint32(off + LINK_FORK_TIME + 4, tHi, true);
  return LINK_SIZE;
}

export function encodeUnlink(
  dv: DataView, off: number, ppid: number, forkTime: bigint, time: bigint, cpu: number, pidns: number, gseq: number,
): number {
  smallHeader(dv, off, REC_UNLINK, UNLINK_SIZE, cpu, pidns, gseq);
  dv.setBigUint64(off + H_TIME, time, true);
  dv.setUint32(off + UNLINK_PPID, ppid, true);
  dv.setUint32(off + UNLINK_RESERVED, 0, true);
  dv.setBigUint64(off + UNLINK_FORK_TIME, forkTime, true);
  return UNLINK_SIZE;
}

/** FLUSH: dequeueExited(time) in every shard. */
export function encodeFlush(dv: DataView, off: number, time: bigint, gseq: number): number {
  smallHeader(dv, off, REC_FLUSH, FLUSH_SIZE, 0, 0, gseq);
  dv.setBigUint64(off + H_TIME, time, true);
  return FLUSH_SIZE;
}

/** FLUSH with the time given as a number of ns (exact below 2^53, i.e. ~104 days of uptime); no bigint. */
export function encodeFlushAt(dv: DataView, off: number, timeNs: number, gseq: number): number {
  smallHeader(dv, off, REC_FLUSH, FLUSH_SIZE, 0, 0, gseq);
  setU64(dv, off + H_TIME, timeNs);
  return FLUSH_SIZE;
}

/** PAD of `size` bytes (a multiple of 8, >= PAD_MIN_SIZE): only type, flags and size are written. */
export function encodePad(dv: DataView, off: number, size: number): number {
  dv.setUint16(off + H_TYPE, REC_PAD, true);
  dv.setUint16(off + H_FLAGS, 0, true);
  dv.setUint32(off + H_SIZE, size, true);
  return size;
}

function smallHeader(dv: DataView, off: number, type: number, size: number, cpu: number, pidns: number, gseq: number): void {
  dv.setUint16(off + H_TYPE, type, true);
  dv.setUint16(off + H_FLAGS, 0, true);
  dv.setUint32(off + H_SIZE, size, true);
  dv.setUint32(off + H_CPU, cpu, true);
  dv.setUint32(off + H_PIDNS, pidns, true);
  dv.setUint32(off + H_CPU_SEQ, 0, true);
  dv.setUint32(off + H_CPU_SEQ + 4, 0, true);
  setU64(dv, off + H_GSEQ, gseq);
}

