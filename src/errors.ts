// Errors with stable codes: callers and tests match on `code`, never on
// message text.

export type ForklineErrorCode =
  | 'ERR_REPLAY_FILE' // the recording is missing, unreadable, or not a regular file
  | 'ERR_REPLAY_HEADER' // not a forkline recording, an unknown version, or a header field that disagrees with the file
  | 'ERR_REPLAY_TRUNCATED' // the file ends inside a record
  | 'ERR_REPLAY_CORRUPT' // a record header cannot be framed
  | 'ERR_PIPELINE_STATE' // start/stop called in the wrong state
  | 'ERR_WORKER_FAILED' // a shard worker could not be restarted
  | 'ERR_NATIVE_MISSING' // the addon (build/Release/forkline.node) is not built
  | 'ERR_CAPTURE_STATE' // a live source started twice, or read before start()
  | 'ERR_CAPTURE_RING' // the capture ring handed to the addon is not usable
  | 'ERR_BPF_PRIVILEGE' // BPF needs root (CAP_BPF + CAP_PERFMON)
  | 'ERR_BPF_BTF' // the kernel has no BTF (/sys/kernel/btf/vmlinux)
  | 'ERR_BPF_OBJECT' // the BPF object is missing or unreadable
  | 'ERR_BPF_REJECTED' // the verifier rejected a program (log saved to a file)
  | 'ERR_BPF_ATTACH' // a tracepoint could not be attached
  | 'ERR_BPF_MAP' // a BPF map could not be created or mapped
  | 'ERR_BPF_OPTIONS' // a capture option is out of range
  | 'ERR_NETLINK_PRIVILEGE' // the proc connector needs root (CAP_NET_ADMIN)
  | 'ERR_NETLINK_UNSUPPORTED' // no proc connector here (kernel option, namespace)
  | 'ERR_NETLINK_SOCKET'; // another socket error, named in the message

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
