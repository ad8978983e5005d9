// Recorded streams: a versioned header and the records back to back, as
// they were routed (docs/record-format.md, "Versions"). `forkline run --record` and
// `forkline synth` write them; the replay source reads them back.

import { open, type FileHandle } from 'node:fs/promises';
import { ForklineError } from '../../errors.js';
import { H_SIZE, MAX_RECORD_SIZE } from '../../record/constants.js';
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

/** Checks a replay header; returns where the records start. */
export function checkHeader(h: Uint8Array, file: string): number {
  if (h.length < REPLAY_HEADER_BYTES || Buffer.from(h.subarray(0, 8)).toString('latin1') !== REPLAY_MAGIC) {
    throw new ForklineError('ERR_REPLAY_HEADER', `${file} is not a forkline recording (no "${REPLAY_MAGIC}" header)`, 0);
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
  return dv.getUint32(12, true);
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

/** Reads a recording in chunks of whole records. A file that ends inside a record throws ERR_REPLAY_TRUNCATED with its offset, after every whole record before it. */
export class ReplaySource implements RecordSource {
  readonly name = 'replay';
  readonly replayable = true;
  totalBytes: number | undefined;

  constructor(readonly file: string) {}

  async *chunks(): AsyncIterable<RecordChunk> {
    const fh = await open(this.file, 'r');
    try {
      this.totalBytes = (await fh.stat()).size;
      const h = new Uint8Array(REPLAY_HEADER_BYTES);
      const { bytesRead } = await fh.read(h, 0, REPLAY_HEADER_BYTES, 0);
      let pos = checkHeader(h.subarray(0, bytesRead), this.file);
      let carry = new Uint8Array(0);
      for (;;) {
        const buf = new Uint8Array(carry.length + READ_CHUNK);
        buf.set(carry, 0);
        const { bytesRead: n } = await fh.read(buf, carry.length, READ_CHUNK, pos);
        pos += n;
        const end = carry.length + n;
        const whole = wholeRecords(buf, end);
        const streamOffset = pos - end;
        if (whole > 0) yield { bytes: buf.subarray(0, whole), streamOffset };
        carry = buf.slice(whole, end);
        if (n === 0) {
          if (carry.length > 0) {
            throw new ForklineError(
              'ERR_REPLAY_TRUNCATED',
              `${this.file}: truncated record at byte ${pos - carry.length} (${carry.length} bytes left of it); every record before it was applied`,
              pos - carry.length,
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
 * Bytes of whole records at the start of buf[0, end): stops before a record
 * that does not fit, and also before a header that cannot frame a record
 * (the router then reports it as corrupt at its offset).
 */
function wholeRecords(buf: Uint8Array, end: number): number {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (end - at >= 8) {
    const size = dv.getUint32(at + H_SIZE, true);
    if ((size & 7) !== 0 || size < 8 || size > MAX_RECORD_SIZE) return end; // corrupt: hand it over, the router reports it
    if (at + size > end) break;
    at += size;
  }
  return at;
}
