// Errors with stable codes: callers and tests match on `code`, never on
// message text.

export type ForklineErrorCode =
  | 'ERR_REPLAY_HEADER' // not a forkline recording, or an unknown version
  | 'ERR_REPLAY_TRUNCATED' // the file ends inside a record
  | 'ERR_REPLAY_CORRUPT' // a record header cannot be framed
  | 'ERR_PIPELINE_STATE' // start/stop called in the wrong state
  | 'ERR_WORKER_FAILED'; // a shard worker could not be restarted

export class ForklineError extends Error {
  readonly code: ForklineErrorCode;
  /** Byte offset in the stream the error is about, when there is one. */
  readonly offset: number | undefined;

  constructor(code: ForklineErrorCode, message: string, offset?: number) {
    super(message);
    this.name = 'ForklineError';
    this.code = code;
    this.offset = offset;
  }
}
