// Recorded streams: a versioned header and the records back to back, as
// they were routed (docs/record-format.md, "Versions"). `forkline run --record` and
// `forkline synth` write them; the replay source reads them back.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ForklineError } from '../../errors.js';
import { refusedPidError } from '../../cache/record-applier.js';
import { H_SIZE, MAX_RECORD_SIZE } from '../../record/constants.js';
import { validateRecord } from '../../record/decode.js';
import { OutputFile } from '../output-file.js';
import type { RecordChunk, RecordSource } from '../source.js';

export const REPLAY_MAGIC = 'FORKLINE';
export const REPLAY_VERSION = 1;
/**
 * Version of the record layout inside (bumped with incompatible changes of
 * src/record/spec.ts). 2: FORK and EXEC carry mountId, nsPid, pidnsInode and cgroupId
 * (their variable fields start at 148, not 124).
 */
export const RECORD_FORMAT_VERSION = 2;
export const REPLAY_HEADER_BYTES = 32;
const READ_CHUNK = 1 << 20;

function header(createdMs: number): Uint8Array {
  const h = new Uint8Array(REPLAY_HEADER_BYTES);
  const dv = new DataView(h.buffer);
  h.set(Buffer.from(REPLAY_MAGIC, 'latin1'), 0);
  dv.setUint32(8, REPLAY_VERSION, true);
  dv.setUint32(12, REPLAY_HEADER_BYTES, true);
  dv.setBigUint64(16, BigInt(createdMs), true);
  dv.setUint32(24, RECORD_FORMAT_VERSION, true);
  return h;
}

/** What checkHeader compares the header with: the file's size and modification time. */
export interface RecordingFile {
  size: number;
  mtimeMs: number;
}

/** How far a header's creation time may be after the file's modification time (clocks of two machines). */
const CREATED_SLACK_MS = 86_400_000;

/**
 * Checks a replay header against the file it starts; returns where the
 * records start. Every field is checked: a damaged one is an
 * ERR_REPLAY_HEADER naming the field and its offset, never an empty stream.
 */
export function checkHeader(h: Uint8Array, file: string, f?: RecordingFile): number {
  if (h.length < REPLAY_HEADER_BYTES || Buffer.from(h.subarray(0, 8)).toString('latin1') !== REPLAY_MAGIC) {
    const short = h.length < REPLAY_HEADER_BYTES ? ` (${f?.size ?? h.length} bytes, shorter than the ${REPLAY_HEADER_BYTES}-byte header)` : '';
    throw new ForklineError('ERR_REPLAY_HEADER', `${file} is not a forkline recording (no "${REPLAY_MAGIC}" header)${short}`, 0);
  }
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const version = dv.getUint32(8, true);
  const format = dv.getUint32(24, true);
  if (version !== REPLAY_VERSION || format !== RECORD_FORMAT_VERSION) {
    const why =
      version === REPLAY_VERSION && format < RECORD_FORMAT_VERSION
        ? `its records are in the older format ${format} and cannot be read as format ${RECORD_FORMAT_VERSION}: record it again with this version of forkline`
        : `this forkline reads version ${REPLAY_VERSION} (records ${RECORD_FORMAT_VERSION})`;
    throw new ForklineError(
      'ERR_REPLAY_HEADER',
      `${file} is a recording of version ${version} (records ${format}); ${why}`,
      version !== REPLAY_VERSION ? 8 : 24,
    );
  }
  const bad = (field: string, at: number, value: bigint | number, want: string): never => {
    throw new ForklineError(
      'ERR_REPLAY_HEADER',
      `${file}: corrupt header: field ${field} (bytes ${at}..${at + (field === 'createdMs' ? 7 : 3)}) is ${value}, ${want}`,
      at,
    );
  };
  const headerBytes = dv.getUint32(12, true);
  if (headerBytes !== REPLAY_HEADER_BYTES) bad('headerBytes', 12, headerBytes, `a version ${REPLAY_VERSION} header is ${REPLAY_HEADER_BYTES} bytes`);
  const created = dv.getBigUint64(16, true);
  if (created === 0n || created > BigInt(Number.MAX_SAFE_INTEGER)) bad('createdMs', 16, created, 'not a time in milliseconds');
  if (f && Number(created) > f.mtimeMs + CREATED_SLACK_MS) {
    bad('createdMs', 16, created, `over a day after the file was last written (${new Date(f.mtimeMs).toISOString()})`);
  }
  const reserved = dv.getUint32(28, true);
  if (reserved !== 0) bad('reserved', 28, reserved, 'not 0');
  return headerBytes;
}

/** Opens a recording for reading; a missing, unreadable or non-regular file (a FIFO, which would block) is an ERR_REPLAY_FILE. */
async function openRecording(file: string): Promise<{ fh: FileHandle; size: number; mtimeMs: number }> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO does not wait for a writer; fstat then refuses it
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : `${e.code ?? ''} ${e.message}`.trim();
    throw new ForklineError('ERR_REPLAY_FILE', `cannot read ${file}: ${why}`);
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'not a regular file';
    throw new ForklineError('ERR_REPLAY_FILE', `cannot read ${file}: it is ${kind}; a recording is a regular file (forkline synth, forkline run --record)`);
  }
  return { fh, size: st.size, mtimeMs: st.mtimeMs };
}

/**
 * Appends records to a new recording file (an OutputFile: mode 0600, never
 * through a link), which appears at its path when closed.
 */
export class ReplayWriter {
  private constructor(
    private readonly out: OutputFile,
    readonly file: string,
  ) {}

  bytesWritten = REPLAY_HEADER_BYTES;

  /** Throws an OutputFileError when the file cannot be created. */
  static async create(file: string): Promise<ReplayWriter> {
    const out = await OutputFile.create(file);
    try {
      await out.write(header(Date.now()));
    } catch (err) {
      await out.abort();
      throw err;
    }
    return new ReplayWriter(out, file);
  }

  /** Writes whole records (bytes[from, to)). */
  async write(bytes: Uint8Array, from = 0, to = bytes.length): Promise<void> {
    await this.out.write(bytes, from, to);
    this.bytesWritten += to - from;
  }

  /** Completes the recording: renamed onto its path. */
  async close(): Promise<void> {
    await this.out.commit();
  }

  /** Drops the recording: its path is left as it was. */
  async abort(): Promise<void> {
    await this.out.abort();
  }
}

/**
 * Reads a recording in chunks of whole records. A file that ends inside a
 * record throws ERR_REPLAY_TRUNCATED with its offset, after every whole
 * record before it. A chunk's bytes are valid until the next chunk is asked
 * for (one buffer is reused).
 */
export class ReplaySource implements RecordSource {
  readonly name = 'replay';
  readonly replayable = true;
  totalBytes: number | undefined;

  constructor(readonly file: string) {}

  /** Checks the file and its header without reading the records (throws what chunks() would first). */
  async check(): Promise<void> {
    const { fh, size, mtimeMs } = await openRecording(this.file);
    try {
      const h = new Uint8Array(REPLAY_HEADER_BYTES);
      const { bytesRead } = await fh.read(h, 0, REPLAY_HEADER_BYTES, 0);
      checkHeader(h.subarray(0, bytesRead), this.file, { size, mtimeMs });
    } finally {
      await fh.close();
    }
  }

  async *chunks(): AsyncIterable<RecordChunk> {
    const { fh, size, mtimeMs } = await openRecording(this.file);
    try {
      this.totalBytes = size;
      const h = new Uint8Array(REPLAY_HEADER_BYTES);
      const { bytesRead } = await fh.read(h, 0, REPLAY_HEADER_BYTES, 0);
      let pos = checkHeader(h.subarray(0, bytesRead), this.file, { size, mtimeMs });
      // one buffer for the whole file: a chunk is routed (copied into the
      // rings) before the next is read, and what is left of a record that
      // did not fit (under MAX_RECORD_SIZE) moves to the front
      const buf = new Uint8Array(READ_CHUNK + MAX_RECORD_SIZE);
      const dv = new DataView(buf.buffer);
      let carry = 0;
      for (;;) {
        const { bytesRead: n } = await fh.read(buf, carry, READ_CHUNK, pos);
        pos += n;
        const end = carry + n;
        const whole = wholeRecords(dv, end);
        const streamOffset = pos - end;
        if (whole > 0) yield { bytes: buf.subarray(0, whole), streamOffset };
        buf.copyWithin(0, whole, end);
        carry = end - whole;
        if (n === 0) {
          if (carry > 0) {
            throw new ForklineError(
              'ERR_REPLAY_TRUNCATED',
              `${this.file}: truncated record at byte ${pos - carry} (${carry} bytes left of it); every record before it was applied`,
              pos - carry,
            );
          }
          return;
        }
      }
    } finally {
      await fh.close();
    }
  }
}

/**
 * Bytes of whole records at the start of dv[0, end): stops before a record
 * that does not fit, and also before a header that cannot frame a record
 * (the router then reports it as corrupt at its offset).
 */
function wholeRecords(dv: DataView, end: number): number {
  let at = 0;
  while (end - at >= 8) {
    const size = dv.getUint32(at + H_SIZE, true);
    if ((size & 7) !== 0 || size < 8 || size > MAX_RECORD_SIZE) return end; // corrupt: hand it over, the router reports it
    if (at + size > end) break;
    at += size;
  }
  return at;
}

/** A record of a recording that the pipeline drops as corrupt: where it starts in the file, and why. */
export interface BadRecord {
  offset: number;
  reason: string;
}

/**
 * The first record of a recording that validateRecord rejects or whose pid
 * the applier refuses, or undefined: run after a replay that counted
 * corrupt records, to name where the damage starts (the shard workers that
 * dropped them do not know file offsets). Reads the file again.
 */
export async function firstBadRecord(file: string): Promise<BadRecord | undefined> {
  try {
    for await (const chunk of new ReplaySource(file).chunks()) {
      const bytes = chunk.bytes;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let off = 0; off < bytes.length; ) {
        const reason = validateRecord(bytes, off, bytes.length - off) ?? refusedPidError(dv, off);
        if (reason !== undefined) return { offset: chunk.streamOffset + off, reason };
        off += dv.getUint32(off + H_SIZE, true);
      }
    }
  } catch (err) {
    if (err instanceof ForklineError && err.offset !== undefined) return { offset: err.offset, reason: err.message };
    throw err;
  }
  return undefined;
}
