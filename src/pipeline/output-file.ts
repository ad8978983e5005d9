// Every file the agent writes (recordings, summaries, dumps) goes through
// OutputFile: the bytes go to a new file created O_EXCL|O_NOFOLLOW, mode
// 0600, in the target's directory, and that file is renamed onto the target
// only once complete. A file that already exists keeps none of its mode, a
// symbolic link planted at the target is refused (and, planted later, is
// replaced by the rename, never followed), and a reader never sees half a file.
// It lives in the lowest stage that writes files (the replay writer).

import { constants } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

/** An output file that cannot be written: the message names the file and why. */
export class OutputFileError extends Error {
  readonly code = 'ERR_OUTPUT_FILE';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`cannot write ${file}: ${reason}`);
    this.name = 'OutputFileError';
  }
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW; // libuv adds O_CLOEXEC

function reasonOf(err: unknown, dir: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return `its directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${dir} is not a directory`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${e.code}) in ${dir}`;
    case 'EROFS':
      return `${dir} is on a read-only file system`;
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return e.code ? `${e.code}: ${e.message}` : String(e.message ?? e);
  }
}

export class OutputFile {
  private done = false;

  private constructor(
    /** The path asked for. */
    readonly file: string,
    private readonly target: string,
    private readonly temp: string,
    private readonly fh: FileHandle,
  ) {}

  /**
   * Opens a new temporary file next to `file`. Refuses (OutputFileError) a
   * target that is a symbolic link or not a regular file, and a directory
   * that cannot be written.
   */
  static async create(file: string): Promise<OutputFile> {
    const target = resolve(file);
    const dir = dirname(target);
    let existing;
    try {
      existing = await lstat(target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new OutputFileError(file, reasonOf(err, dir));
    }
    if (existing?.isSymbolicLink()) throw new OutputFileError(file, 'it is a symbolic link (forkline never writes through a link): remove it or choose another path');
    if (existing && !existing.isFile()) throw new OutputFileError(file, 'it exists and is not a regular file');
    const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    let fh: FileHandle;
    try {
      fh = await open(temp, CREATE_FLAGS, 0o600);
    } catch (err) {
      throw new OutputFileError(file, reasonOf(err, dir));
    }
    return new OutputFile(file, target, temp, fh);
  }

  /**
   * Whether `file` could be created, checked before a long command starts
   * (so that a bad --summary-json is not found out at the end). Throws the
   * OutputFileError create() would.
   */
  static async check(file: string): Promise<void> {
    const out = await OutputFile.create(file);
    await out.abort();
  }

  /** Opens, writes `data` and commits: the whole file at once. */
  static async write(file: string, data: string | Uint8Array): Promise<void> {
    const out = await OutputFile.create(file);
    try {
      await out.write(typeof data === 'string' ? Buffer.from(data) : data);
    } catch (err) {
      await out.abort();
      throw err;
    }
    await out.commit();
  }

  /** Appends bytes[from, to). */
  async write(bytes: Uint8Array, from = 0, to = bytes.length): Promise<void> {
    try {
      let at = from;
      while (at < to) at += (await this.fh.write(bytes, at, to - at)).bytesWritten;
    } catch (err) {
      throw new OutputFileError(this.file, reasonOf(err, dirname(this.target)));
    }
  }

  /** Flushes, closes and renames the file onto the target (replacing a file there, never following a link). */
  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.fh.sync();
      await this.fh.close();
      await rename(this.temp, this.target);
    } catch (err) {
      await unlink(this.temp).catch(() => undefined);
      throw new OutputFileError(this.file, reasonOf(err, dirname(this.target)));
    }
  }

  /** Closes and removes the temporary file; the target is left as it was. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.fh.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }
}
