// The events the record format carries, as objects: what sources produce,
// what encodeEvent (encode.ts) takes and decodeEvent (decode.ts) gives back,
// and the public input shapes of the process cache that are events
// (ForkInput, ExecInput, ExitInput). A fork or exec event carries the full
// state of the process image (self-contained events: docs/architecture.md,
// invariant 2),
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

// ---------------------------------------------------------------------------
// The process image: one shape for what fork and exec events, the cache's
// fork and exec inputs and the EbpflessResolver's exec say about a process.

/**
 * Where the process lives: its pid namespace, its pid there, the mount of its
 * executable and its cgroup. Given together: the cache takes the four as a
 * whole when any is non-zero, and inherits or keeps them otherwise
 * (docs/cache.md, "Namespaces and cgroup"). Absent = 0 = unknown.
 */
export interface NamespaceInput {
  /** Inode of the process's own (active) pid namespace, as /proc/<pid>/ns/pid shows it. */
  pidnsInode?: number;
  /** The pid as seen in that pid namespace. */
  nsPid?: number;
  /** Mount id of the executable (mnt_id of /proc/<pid>/mountinfo). */
  mountId?: number;
  /** cgroup v2 id: the inode of the cgroup's directory under /sys/fs/cgroup. */
  cgroupId?: bigint;
}

/**
 * The state of a process image: its binary, arguments, environment,
 * credentials and context, and where it lives. Absent fields are not given:
 * the cache inherits them from the parent it can see (a fork) or keeps the
 * previous image's (an exec). The events and inputs below take these fields
 * as they are, or a subset; some make a field required.
 */
export interface ProcessImage extends NamespaceInput {
  /** Path of the executable. */
  path?: ByteString;
  /**
   * The path was cut (by the kernel's bounded walk, or by its source): the
   * deepest components are kept, and the path is then not absolute.
   */
  pathTruncated?: boolean;
  /** Inode of the executable; 0 when unknown. */
  inode?: number;
  comm?: ByteString;
  argv?: readonly ByteString[];
  argsTruncated?: boolean;
  envp?: readonly ByteString[];
  envsTruncated?: boolean;
  credentials?: Partial<Credentials>;
  tty?: string;
  containerId?: string;
  cgroup?: string;
  /** Interpreter of a script (the kernel ran it for a `#!` line). */
  interpreter?: ByteString;
}

// ---------------------------------------------------------------------------
// Stream events

interface Base {
  /** Kernel clock, nanoseconds. */
  time: bigint;
  /** CPU that emitted the event (0 for sources without CPUs). */
  cpu: number;
}

/** A new process (the child), carrying the image it inherits. */
export interface ForkEvent extends Base, ProcessImage {
  type: 'fork';
  pid: number;
  ppid: number;
  /** Pid namespace id (0 = host keys). */
  pidns: number;
  /** Inode of the image the child inherits; 0 when unknown. */
  inode: number;
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

/** A process ran a new image. */
export interface ExecEvent extends Base, ProcessImage {
  type: 'exec';
  pid: number;
  /** -1 when unknown. */
  ppid: number;
  pidns: number;
  /** Inode of the new image; 0 when unknown. */
  inode: number;
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

/** A fork (ProcessResolver.addForkEntry): the child, with what the source knows of the image it inherits. */
export interface ForkInput extends Omit<ProcessImage, 'argv' | 'argsTruncated' | 'envp' | 'envsTruncated' | 'interpreter'> {
  pid: number;
  ppid: number;
  time: bigint;
  /** The kernel's view of the child's executable inode at fork time; 0 or absent when unknown. */
  inode?: number;
  /** Used only when the parent is unknown (or its inode does not match). */
  path?: ByteString;
  /** True for kernel threads (PF_KTHREAD): they are rejected. */
  kernelThread?: boolean;
}

/** An exec (ProcessResolver.addExecEntry): the new image, whose path and inode are required. */
export interface ExecInput extends ProcessImage {
  pid: number;
  ppid?: number;
  time: bigint;
  path: ByteString;
  inode: number;
  /** The kernel's view of the image the process ran before this exec; 0 or absent when unknown. */
  prevInode?: number;
  /** The path as invoked, when it differs from `path` (a symlink to the executable); docs/cache.md. */
  symlinkPath?: ByteString;
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
