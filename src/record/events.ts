// The events the record format carries, as objects: what sources produce,
// what encodeEvent (encode.ts) takes and decodeEvent (decode.ts) gives back,
// and the public input shapes of the process cache that are events
// (ForkInput, ExecInput, ExitInput). A fork or exec event carries the full
// state of the process image (DESIGN.md invariant 2: self-contained events),
// as the BPF programs read it in the kernel; the apply code takes what is
// given and inherits the rest from a parent it can see.

/** Bytes of a path or an argument: a string (stored as UTF-8) or raw bytes. */
export type ByteString = string | Uint8Array;

export interface Credentials {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  fsuid: number;
  fsgid: number;
  /** Login uid; 4294967295 when unset, as the kernel shows it. */
  auid: number;
  capEffective: bigint;
  capPermitted: bigint;
}

interface Base {
  /** Kernel clock, nanoseconds. */
  time: bigint;
  /** CPU that emitted the event (0 for sources without CPUs). */
  cpu: number;
}

/** The state of a process image, as carried by fork and exec events. */
export interface ImageState {
  path?: ByteString;
  /** Inode of the executable; 0 when unknown. */
  inode: number;
  comm?: ByteString;
  argv?: readonly ByteString[];
  argsTruncated?: boolean;
  envp?: readonly ByteString[];
  envsTruncated?: boolean;
  credentials?: Partial<Credentials>;
  tty?: string;
  containerId?: string;
  cgroup?: string;
  interpreter?: ByteString;
  /**
   * The kernel had to cut the path (a walk deeper than its bounds): the
   * deepest components are kept, and the path is then not absolute.
   */
  pathTruncated?: boolean;
  // Where the process lives. Given together: the cache takes the four as a
  // whole when any is non-zero, and inherits or keeps them otherwise
  // (docs/cache.md, "Namespaces and cgroup"). Absent = 0 = unknown.
  /** Mount id of the executable (mnt_id of /proc/<pid>/mountinfo). */
  mountId?: number;
  /** The pid as seen in the process's own pid namespace. */
  nsPid?: number;
  /** Inode of that pid namespace, as /proc/<pid>/ns/pid shows it. */
  pidnsInode?: number;
  /** cgroup v2 id: the inode of the cgroup's directory under /sys/fs/cgroup. */
  cgroupId?: bigint;
}

export interface ForkEvent extends Base, ImageState {
  type: 'fork';
  pid: number;
  ppid: number;
  /** Pid namespace id (0 = host keys). */
  pidns: number;
  /** Exec time of the image the child inherits (0n when unknown). */
  execTime: bigint;
  kernelThread?: boolean;
  /**
   * Not a fork seen live: a process read from /proc at startup (the cache's
   * source `snapshot`), sent as a fork so that it links to its parent by key
   * like any child. Its fork and exec times are its start time.
   */
  snapshot?: boolean;
}

export interface ExecEvent extends Base, ImageState {
  type: 'exec';
  pid: number;
  /** -1 when unknown. */
  ppid: number;
  pidns: number;
  /** Inode of the image run before this exec; 0 when unknown. */
  prevInode: number;
}

export interface ExitEvent extends Base {
  type: 'exit';
  pid: number;
  pidns: number;
  exitCode: number;
}

/** Credential change (setuid family, setgid family, capset, login uid): -1 / -1n fields are unchanged. */
export interface CredsEvent extends Base {
  type: 'creds';
  pid: number;
  pidns: number;
  credentials: Partial<Credentials>;
}

/** comm change (prctl PR_SET_NAME, task_rename). */
export interface RenameEvent extends Base {
  type: 'rename';
  pid: number;
  pidns: number;
  comm: ByteString;
}

/** The kernel (or a ring) lost `count` events of this CPU. */
export interface LostEvent extends Base {
  type: 'lost';
  count: number;
}

/** Flush exited pids older than the retention at `time` (dequeueExited(time)); sent to every shard. */
export interface FlushEvent extends Base {
  type: 'flush';
}

/** Flush a pid from the live cache now (deleteEntry). */
export interface DeleteEvent extends Base {
  type: 'delete';
  pid: number;
  pidns: number;
}

/** The kernel reports a new parent for a process (reparenting to a subreaper or init). */
export interface ReparentEvent extends Base {
  type: 'reparent';
  pid: number;
  pidns: number;
  ppid: number;
}

export type StreamEvent =
  | ForkEvent
  | ExecEvent
  | ExitEvent
  | CredsEvent
  | RenameEvent
  | LostEvent
  | FlushEvent
  | DeleteEvent
  | ReparentEvent;

export type StreamEventType = StreamEvent['type'];

// ---------------------------------------------------------------------------
// The process cache's public inputs (ProcessResolver.addForkEntry, ...)

/**
 * The namespace fields an event may give (docs/cache.md, "Namespaces and
 * cgroup"): given together when any is non-zero, absent = 0 = unknown.
 */
export interface NamespaceInput {
  pidnsInode?: number;
  nsPid?: number;
  mountId?: number;
  cgroupId?: bigint;
}

export interface ForkInput extends NamespaceInput {
  pid: number;
  ppid: number;
  time: bigint;
  /** The kernel's view of the child's executable inode at fork time; 0 or absent when unknown. */
  inode?: number;
  /** Used only when the parent is unknown (or its inode does not match). */
  path?: ByteString;
  /** The source had to cut `path` (it is then not absolute); goes with the path. */
  pathTruncated?: boolean;
  comm?: ByteString;
  credentials?: Partial<Credentials>;
  tty?: string;
  containerId?: string;
  cgroup?: string;
  /** True for kernel threads (PF_KTHREAD): they are rejected. */
  kernelThread?: boolean;
}

export interface ExecInput extends NamespaceInput {
  pid: number;
  ppid?: number;
  time: bigint;
  path: ByteString;
  /** The source had to cut `path` (it is then not absolute). */
  pathTruncated?: boolean;
  inode: number;
  /** The kernel's view of the image the process ran before this exec; 0 or absent when unknown. */
  prevInode?: number;
  argv?: readonly ByteString[];
  argsTruncated?: boolean;
  envp?: readonly ByteString[];
  envsTruncated?: boolean;
  credentials?: Partial<Credentials>;
  tty?: string;
  containerId?: string;
  cgroup?: string;
  interpreter?: ByteString;
  comm?: ByteString;
}

export interface ExitInput {
  pid: number;
  time: bigint;
  exitCode?: number;
}

// ---------------------------------------------------------------------------
// Event shapes that are not stream events

/** Internal (router -> parent's shard): link the child forked at `forkTime` to the parent generation alive then. */
export interface LinkEvent {
  type: 'link';
  time: bigint;
  cpu: number;
  pidns: number;
  ppid: number;
  /** The child's image inode at fork (0 unknown). */
  inode: number;
  forkTime: bigint;
}

/** Internal: drop the link of (ppid, forkTime). */
export interface UnlinkEvent {
  type: 'unlink';
  time: bigint;
  cpu: number;
  pidns: number;
  ppid: number;
  forkTime: bigint;
}

/** Wall clock (`wallTime`, CLOCK_REALTIME ns) at kernel time `time`. */
export interface ClockEvent {
  type: 'clock';
  time: bigint;
  cpu: number;
  wallTime: bigint;
}

/** Filler; carries nothing. */
export interface PadRecord {
  type: 'pad';
  size: number;
}

/** Everything encodeEvent takes. */
export type RecordEvent = StreamEvent | LinkEvent | UnlinkEvent | ClockEvent;
/** Everything decodeEvent returns. */
export type DecodedRecord = RecordEvent | PadRecord;
