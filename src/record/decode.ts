// Validating and decoding records (docs/record-format.md): frameSize (does a
// header frame a record?), validateRecord (the gate every record passes
// before it is applied), and the slow-path decoders for tools and tests
// (readHeader, decodeEvent). The shard workers read fields at the constant
// offsets of constants.ts once validateRecord has accepted a record.

import {
  CLOCK_WALL_TIME, CRED_CAP_EFFECTIVE, CRED_CAP_PERMITTED, CRED_MASK_ALL, CRED_WORD_CAP_EFFECTIVE,
  CRED_WORD_CAP_PERMITTED, CREDS_CREDS, CREDS_CREDS_MASK, CREDS_PID, DELETE_PID, EXEC_PPID, EXEC_PREV_INODE,
  EXIT_EXIT_CODE, EXIT_PID, FLAG_ARGS_TRUNCATED, FLAG_ENVS_TRUNCATED, FLAG_KERNEL_THREAD, FLAG_PATH_TRUNCATED,
  FLAG_SNAPSHOT, FORK_CGROUP_ID, FORK_CREDS, FORK_CREDS_MASK, FORK_EXEC_TIME, FORK_GIVEN, FORK_INODE, FORK_LENS,
  FORK_MOUNT_ID, FORK_NS_PID, FORK_PID, FORK_PIDNS_INODE, FORK_PPID, FORK_VAR, GIVEN_ARGV, GIVEN_COMM, GIVEN_CTX,
  GIVEN_CTX_PARTS_SHIFT, GIVEN_ENVP, GIVEN_INTERP, GIVEN_PATH, H_CPU, H_CPU_SEQ, H_FLAGS, H_GSEQ, H_PIDNS, H_SIZE,
  H_TIME, H_TYPE, HEADER_SIZE, LINK_FORK_TIME, LINK_INODE, LINK_PPID, LOST_COUNT, MAX_COMM_BYTES, MAX_RECORD_SIZE,
  PAD_MIN_SIZE, REC_CLOCK, REC_CREDS, REC_DELETE, REC_EXEC, REC_EXIT, REC_FLUSH, REC_FORK, REC_LINK, REC_LOST, REC_PAD, REC_RENAME,
  REC_REPARENT, REC_TYPE_COUNT, REC_UNLINK, RENAME_LENS, RENAME_PID, RENAME_VAR, REPARENT_PID, REPARENT_PPID,
  UNLINK_FORK_TIME, UNLINK_PPID, VAR_ARGV, VAR_COMM, VAR_COUNT, VAR_CTX, VAR_ENVP, VAR_INTERP, VAR_PATH,
} from './constants.js';
import type { ByteString, Credentials, DecodedRecord, ExecEvent, ForkEvent } from './events.js';
import { align8, CRED_FIELDS, RECORD_LAYOUT, RECORD_SPEC } from './spec.js';

/** The ctxMask of a fork/exec `given` field: bits 1, 2, 4 for tty, containerId, cgroup (the cache's CTX_* in src/cache/args.ts). */
export function ctxMaskOfGiven(given: number): number {
  return (given & GIVEN_CTX) !== 0 ? 7 : (given >> GIVEN_CTX_PARTS_SHIFT) & 7;
}

// Per type code: flags allowed, fixed size (or min size for var types).
const FLAG_MASK: readonly number[] = RECORD_LAYOUT.types.map((t) => t.flagMask);
const MIN_SIZE: readonly number[] = RECORD_LAYOUT.types.map((t) => t.minSize);
const HAS_VARS: readonly boolean[] = RECORD_LAYOUT.types.map((t) => t.spec.vars.length > 0);
const TYPE_NAME: readonly string[] = RECORD_SPEC.types.map((t) => t.name);
const VAR_NAME: readonly string[] = RECORD_SPEC.varFields.map((v) => v.name);
const VAR_MAX: readonly number[] = RECORD_SPEC.varFields.map((v) => v.max);
const GIVEN_ALL: number = RECORD_SPEC.given.reduce((m, g) => m | g.bit, 0);

export interface RecordHeader {
  type: number;
  flags: number;
  size: number;
  cpu: number;
  pidns: number;
  time: bigint;
  cpuSeq: bigint;
  gseq: bigint;
}

/** A record that is not well-formed (decodeEvent); `offset` is where the record starts. */
export class RecordError extends Error {
  readonly code = 'ERR_FORKLINE_RECORD';
  constructor(message: string, readonly offset: number) {
    super(`bad record at offset ${offset}: ${message}`);
    this.name = 'RecordError';
  }
}

/**
 * Size of the record at off if its header frames it (size a multiple of 8,
 * within bounds and within `available`), else -1: nothing after it can be
 * trusted.
 */
export function frameSize(src: DataView, off: number, available: number): number {
  if (available < 8) return -1;
  const size = src.getUint32(off + H_SIZE, true);
  if ((size & 7) !== 0 || size < 8 || size > MAX_RECORD_SIZE || size > available) return -1;
  return size;
}

/** Reads a u64 as a number (exact below 2^53). */
export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off + 4, true) * 4294967296 + dv.getUint32(off, true);
}

// One cached DataView: the caller usually reads from the same buffer over and
// over, and a DataView per call would be an allocation per record. A
// different buffer just replaces the cached view.
let decIn: Uint8Array | undefined;
let decView: DataView = new DataView(new ArrayBuffer(0));

function viewForDecode(bytes: Uint8Array): DataView {
  if (bytes !== decIn) {
    decView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    decIn = bytes;
  }
  return decView;
}

// ---------------------------------------------------------------------------
// Validation (the gate) and decoding

/** The header of the record at `off` (slow path: allocates the result). */
export function readHeader(view: DataView | Uint8Array, off: number): RecordHeader {
  const dv = view instanceof DataView ? view : viewForDecode(view);
  return {
    type: dv.getUint16(off + H_TYPE, true),
    flags: dv.getUint16(off + H_FLAGS, true),
    size: dv.getUint32(off + H_SIZE, true),
    cpu: dv.getUint32(off + H_CPU, true),
    pidns: dv.getUint32(off + H_PIDNS, true),
    time: dv.getBigUint64(off + H_TIME, true),
    cpuSeq: dv.getBigUint64(off + H_CPU_SEQ, true),
    gseq: dv.getBigUint64(off + H_GSEQ, true),
  };
}

/**
 * Checks the record at `bytes[off]`, of which `available` bytes are readable.
 * Returns undefined when it is well-formed, else what is wrong. A record it
 * accepts decodes without error, and every length in it is within bounds and
 * within the record. Allocates only to describe an error.
 */
export function validateRecord(bytes: Uint8Array, off: number, available: number): string | undefined {
  checkArguments('validateRecord', bytes, off, available);
  return recordError(bytes, off, available, true);
}

/**
 * The arguments of validateRecord: a caller's mistake (an offset past the
 * end, NaN, more bytes than there are) is a TypeError or RangeError that
 * says which argument, never a DataView's error or a record read out of
 * bounds (NaN compares false with every bound).
 */
function checkArguments(fn: string, bytes: Uint8Array, off: number, available: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${fn}: bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (!Number.isInteger(off) || off < 0 || off > bytes.length) {
    throw new RangeError(`${fn}: offset ${String(off)} is not an integer in 0..${bytes.length} (the length of bytes)`);
  }
  if (!Number.isInteger(available) || available < 0 || available > bytes.length - off) {
    throw new RangeError(`${fn}: available ${String(available)} is not an integer in 0..${bytes.length - off} (the bytes from offset ${off} to the end)`);
  }
}

/**
 * validateRecord, with the scan of the context blob's separators left to
 * the caller when `checkCtx` is false: the record applier checks a context
 * only when it must intern it (ctxPartsError), not when it equals the one
 * the process already has, which was checked when it was interned.
 */
export function recordError(bytes: Uint8Array, off: number, available: number, checkCtx: boolean): string | undefined {
  if (available < PAD_MIN_SIZE) return `truncated: ${available} bytes available, a record needs at least ${PAD_MIN_SIZE}`;
  const dv = viewForDecode(bytes);
  const type = dv.getUint16(off + H_TYPE, true);
  const size = dv.getUint32(off + H_SIZE, true);
  if ((size & 7) !== 0) return `size ${size} is not a multiple of 8`;
  if (type >= REC_TYPE_COUNT) return `unknown record type ${type}`;
  if (size > MAX_RECORD_SIZE) return `size ${size} is over MAX_RECORD_SIZE (${MAX_RECORD_SIZE})`;
  if (size > available) return `truncated: size ${size} but only ${available} bytes available`;
  if (type === REC_PAD) return size < PAD_MIN_SIZE ? `PAD size ${size} is below ${PAD_MIN_SIZE}` : undefined;
  if (size < HEADER_SIZE) return `size ${size} is below the ${HEADER_SIZE}-byte header`;
  const flags = dv.getUint16(off + H_FLAGS, true);
  if ((flags & ~FLAG_MASK[type]!) !== 0) return `${TYPE_NAME[type]} flags 0x${flags.toString(16)} has unknown bits`;
  const min = MIN_SIZE[type]!;
  if (size < min) return `${TYPE_NAME[type]} size ${size} is below its fixed part (${min})`;
  if (!HAS_VARS[type]) {
    if (size !== min) return `${TYPE_NAME[type]} size ${size} is not ${min}`;
    if (type === REC_CREDS) {
      const mask = dv.getUint32(off + CREDS_CREDS_MASK, true);
      if ((mask & ~CRED_MASK_ALL) !== 0) return `CREDS credsMask 0x${mask.toString(16)} has unknown bits`;
    }
    return undefined;
  }
  if (type === REC_RENAME) {
    const n = dv.getUint16(off + RENAME_LENS, true);
    if (n > MAX_COMM_BYTES) return `RENAME comm length ${n} is over ${MAX_COMM_BYTES}`;
    if (align8(RENAME_VAR + n) !== size) return `RENAME comm length ${n} disagrees with size ${size}`;
    return undefined;
  }
  // FORK, EXEC
  const mask = dv.getUint16(off + FORK_CREDS_MASK, true);
  if ((mask & ~CRED_MASK_ALL) !== 0) return `${TYPE_NAME[type]} credsMask 0x${mask.toString(16)} has unknown bits`;
  const given = dv.getUint16(off + FORK_GIVEN, true);
  if ((given & ~GIVEN_ALL) !== 0) return `${TYPE_NAME[type]} given 0x${given.toString(16)} has unknown bits`;
  if ((given & GIVEN_CTX) !== 0 && (given & (7 << GIVEN_CTX_PARTS_SHIFT)) !== 0) {
    return `${TYPE_NAME[type]} given has both CTX and CTX parts`;
  }
  let at = off + FORK_VAR;
  for (let i = 0; i < VAR_COUNT; i++) {
    const n = dv.getUint16(off + FORK_LENS + 2 * i, true);
    if (n === 0) continue;
    if (n > VAR_MAX[i]!) return `${TYPE_NAME[type]} ${VAR_NAME[i]} length ${n} is over ${VAR_MAX[i]}`;
    const bit = i === VAR_CTX ? GIVEN_CTX | (7 << GIVEN_CTX_PARTS_SHIFT) : 1 << i;
    if ((given & bit) === 0) return `${TYPE_NAME[type]} ${VAR_NAME[i]} has length ${n} but is not given`;
    if (at + n > off + size) return `${TYPE_NAME[type]} ${VAR_NAME[i]} length ${n} runs past the record's size ${size}`;
    if ((i === VAR_ARGV || i === VAR_ENVP) && bytes[at + n - 1] !== 0) return `${TYPE_NAME[type]} ${VAR_NAME[i]} does not end with a NUL`;
    if (i === VAR_CTX && checkCtx) {
      const error = ctxPartsError(bytes, at, n);
      if (error !== undefined) return `${TYPE_NAME[type]} ${error}`;
    }
    at += n;
  }
  if (align8(at - off) !== size) return `${TYPE_NAME[type]} variable lengths (end ${at - off}) disagree with size ${size}`;
  return undefined;
}

/** A context blob (tty \0 containerId \0 cgroup) must hold exactly two NUL separators. */
export function ctxPartsError(bytes: Uint8Array, at: number, n: number): string | undefined {
  let nuls = 0;
  for (let p = at; p < at + n; p++) if (bytes[p] === 0) nuls++;
  return nuls === 2 ? undefined : `ctx has ${nuls} NUL separators, not 2`;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/** Bytes `[from, to)` as a string when they are UTF-8, else as a copy. */
function byteString(bytes: Uint8Array, from: number, to: number): ByteString {
  const copy = bytes.slice(from, to); // not a view: TextDecoder refuses shared memory, callers may keep it
  try {
    return utf8Strict.decode(copy);
  } catch {
    return copy;
  }
}

function splitList(bytes: Uint8Array, from: number, to: number): ByteString[] {
  const items: ByteString[] = [];
  let start = from;
  for (let p = from; p < to; p++) {
    if (bytes[p] === 0) {
      items.push(byteString(bytes, start, p));
      start = p + 1;
    }
  }
  return items;
}

// Credential fields that are one u32 word, in CRED_FIELDS order (field f is word f, bit 1 << f).
const WORD_FIELDS = CRED_FIELDS.slice(0, 7) as readonly (keyof Credentials)[];

function readCreds(dv: DataView, pos: number, mask: number): Partial<Credentials> {
  const c: Partial<Credentials> = {};
  for (let f = 0; f < 7; f++) if ((mask & (1 << f)) !== 0) (c as Record<string, number>)[WORD_FIELDS[f]!] = dv.getUint32(pos + 4 * f, true);
  if ((mask & CRED_CAP_EFFECTIVE) !== 0) c.capEffective = dv.getBigUint64(pos + 4 * CRED_WORD_CAP_EFFECTIVE, true);
  if ((mask & CRED_CAP_PERMITTED) !== 0) c.capPermitted = dv.getBigUint64(pos + 4 * CRED_WORD_CAP_PERMITTED, true);
  return c;
}

/**
 * Decodes the record at `bytes[off]` (slow path, for tools and tests).
 * Throws a RecordError (code ERR_FORKLINE_RECORD) when validateRecord
 * rejects it, and nothing else. Strings are decoded as UTF-8 when valid, else
 * kept as Uint8Array copies; u64 inodes become numbers (exact below 2^53).
 */
export function decodeEvent(bytes: Uint8Array, off: number): DecodedRecord {
  const problem = validateRecord(bytes, off, bytes.length - off);
  if (problem !== undefined) throw new RecordError(problem, off);
  const dv = viewForDecode(bytes);
  const type = dv.getUint16(off + H_TYPE, true);
  if (type === REC_PAD) return { type: 'pad', size: dv.getUint32(off + H_SIZE, true) };
  const flags = dv.getUint16(off + H_FLAGS, true);
  const cpu = dv.getUint32(off + H_CPU, true);
  const pidns = dv.getUint32(off + H_PIDNS, true);
  const time = dv.getBigUint64(off + H_TIME, true);
  switch (type) {
    case REC_FORK:
    case REC_EXEC:
      return decodeImage(bytes, dv, off, type, flags, cpu, pidns, time);
    case REC_EXIT:
      return { type: 'exit', time, cpu, pid: dv.getUint32(off + EXIT_PID, true), pidns, exitCode: dv.getUint32(off + EXIT_EXIT_CODE, true) };
    case REC_CREDS:
      return {
        type: 'creds', time, cpu, pid: dv.getUint32(off + CREDS_PID, true), pidns,
        credentials: readCreds(dv, off + CREDS_CREDS, dv.getUint32(off + CREDS_CREDS_MASK, true)),
      };
    case REC_RENAME: {
      const n = dv.getUint16(off + RENAME_LENS, true);
      return { type: 'rename', time, cpu, pid: dv.getUint32(off + RENAME_PID, true), pidns, comm: byteString(bytes, off + RENAME_VAR, off + RENAME_VAR + n) };
    }
    case REC_LOST:
      return { type: 'lost', time, cpu, count: dv.getUint32(off + LOST_COUNT, true) };
    case REC_FLUSH:
      return { type: 'flush', time, cpu };
    case REC_DELETE:
      return { type: 'delete', time, cpu, pid: dv.getUint32(off + DELETE_PID, true), pidns };
    case REC_REPARENT:
      return { type: 'reparent', time, cpu, pid: dv.getUint32(off + REPARENT_PID, true), pidns, ppid: dv.getUint32(off + REPARENT_PPID, true) };
    case REC_LINK:
      return {
        type: 'link', time, cpu, pidns, ppid: dv.getUint32(off + LINK_PPID, true),
        inode: getU64(dv, off + LINK_INODE), forkTime: dv.getBigUint64(off + LINK_FORK_TIME, true),
      };
    case REC_UNLINK:
      return { type: 'unlink', time, cpu, pidns, ppid: dv.getUint32(off + UNLINK_PPID, true), forkTime: dv.getBigUint64(off + UNLINK_FORK_TIME, true) };
    case REC_CLOCK:
      return { type: 'clock', time, cpu, wallTime: dv.getBigUint64(off + CLOCK_WALL_TIME, true) };
    default:
      // validateRecord rejects unknown types; this keeps the switch total
      throw new RecordError(`unknown record type ${type}`, off);
  }
}

function decodeImage(
  bytes: Uint8Array, dv: DataView, off: number, type: number, flags: number, cpu: number, pidns: number, time: bigint,
): ForkEvent | ExecEvent {
  const pid = dv.getUint32(off + FORK_PID, true);
  const inode = getU64(dv, off + FORK_INODE);
  const ev = (
    type === REC_FORK
      ? {
          type: 'fork', time, cpu, pid, ppid: dv.getUint32(off + FORK_PPID, true), pidns,
          execTime: dv.getBigUint64(off + FORK_EXEC_TIME, true), inode,
          kernelThread: (flags & FLAG_KERNEL_THREAD) !== 0,
        }
      : {
          type: 'exec', time, cpu, pid, ppid: dv.getInt32(off + EXEC_PPID, true), pidns,
          prevInode: getU64(dv, off + EXEC_PREV_INODE), inode,
        }
  ) as ForkEvent | ExecEvent;
  if ((flags & FLAG_SNAPSHOT) !== 0) (ev as ForkEvent).snapshot = true;
  ev.argsTruncated = (flags & FLAG_ARGS_TRUNCATED) !== 0;
  ev.envsTruncated = (flags & FLAG_ENVS_TRUNCATED) !== 0;
  ev.pathTruncated = (flags & FLAG_PATH_TRUNCATED) !== 0;
  ev.mountId = dv.getUint32(off + FORK_MOUNT_ID, true);
  ev.nsPid = dv.getUint32(off + FORK_NS_PID, true);
  ev.pidnsInode = dv.getUint32(off + FORK_PIDNS_INODE, true);
  ev.cgroupId = dv.getBigUint64(off + FORK_CGROUP_ID, true);
  const mask = dv.getUint16(off + FORK_CREDS_MASK, true);
  if (mask !== 0) ev.credentials = readCreds(dv, off + FORK_CREDS, mask);
  const given = dv.getUint16(off + FORK_GIVEN, true);
  let at = off + FORK_VAR;
  const len = (i: number) => dv.getUint16(off + FORK_LENS + 2 * i, true);
  let n = len(VAR_PATH);
  if ((given & GIVEN_PATH) !== 0) ev.path = byteString(bytes, at, at + n);
  at += n;
  n = len(VAR_COMM);
  if ((given & GIVEN_COMM) !== 0) ev.comm = byteString(bytes, at, at + n);
  at += n;
  n = len(VAR_ARGV);
  if ((given & GIVEN_ARGV) !== 0) ev.argv = splitList(bytes, at, at + n);
  at += n;
  n = len(VAR_ENVP);
  if ((given & GIVEN_ENVP) !== 0) ev.envp = splitList(bytes, at, at + n);
  at += n;
  n = len(VAR_CTX);
  const ctxMask = ctxMaskOfGiven(given);
  if (ctxMask !== 0) {
    const parts = ['', '', ''];
    if (n > 0) {
      const a = bytes.indexOf(0, at);
      const b = bytes.indexOf(0, a + 1);
      parts[0] = utf8Lossy.decode(bytes.slice(at, a));
      parts[1] = utf8Lossy.decode(bytes.slice(a + 1, b));
      parts[2] = utf8Lossy.decode(bytes.slice(b + 1, at + n));
    }
    if ((ctxMask & 1) !== 0) ev.tty = parts[0];
    if ((ctxMask & 2) !== 0) ev.containerId = parts[1];
    if ((ctxMask & 4) !== 0) ev.cgroup = parts[2];
  }
  at += n;
  n = len(VAR_INTERP);
  if ((given & GIVEN_INTERP) !== 0) ev.interpreter = byteString(bytes, at, at + n);
  return ev;
}
