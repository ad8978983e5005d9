// A deliberately simple reference model of the process-cache contract in
// docs/cache.md, used by test/cache/property.test.ts to check ProcessResolver.
//
// Plain objects, a Map from pid to the current entry, and `ancestor` links
// that the JS garbage collector keeps alive: no tables, no interning, no
// reclamation, no capacity. Short and obviously right rather than fast.
//
// Readings of docs/cache.md that the contract leaves open are marked
// "AMBIGUITY:" below.

import type { EntryNamespaces } from '../../src/cache/types.js';
import type {
  ByteString,
  Credentials,
  ExecInput,
  ExitInput,
  ForkInput,
  NamespaceInput,
} from '../../src/record/events.js';

export const UNSET_ID = 4294967295;
export const DEFAULT_EXITED_RETENTION = 5_000_000_000n;
export const DEFAULT_MAX_ARGV_BYTES = 4096;
export const DEFAULT_MAX_ENVP_BYTES = 8192;
const COMM_MAX_BYTES = 15;
const PATH_MAX_BYTES = 4096;

export interface ReferenceOptions {
  exitedRetention?: bigint;
  maxArgvBytes?: number;
  maxEnvpBytes?: number;
  envsResolution?: boolean;
}

/** Every field of ProcessEntry as a plain mutable value, and the ancestor link. */
export interface Node {
  pid: number;
  ppid: number;
  forkTime: bigint;
  execTime: bigint;
  exitTime: bigint;
  exitCode: number;
  path: string;
  pathTruncated: boolean;
  basename: string;
  inode: number;
  comm: string;
  argv: string[];
  argsTruncated: boolean;
  envp: string[];
  envsTruncated: boolean;
  credentials: Credentials;
  tty: string;
  containerId: string;
  cgroup: string;
  interpreter: string;
  isExec: boolean;
  isExecExec: boolean;
  isParentMissing: boolean;
  source: 'event';
  pidns: number;
  namespaces: EntryNamespaces;
  ancestor: Node | undefined;
}

export interface ReferenceStats {
  rejected: number;
  pidReuse: number;
  forkInodeMismatch: number;
  execPrevInodeMismatch: number;
  execBombs: number;
  exitMisses: number;
  flushed: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function bytesToString(b: ByteString): string {
  return typeof b === 'string' ? b : decoder.decode(b);
}

function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** The first `n` bytes of `s` (UTF-8), read back as a string. */
function cutBytes(s: string, n: number): string {
  const b = encoder.encode(s);
  return b.length <= n ? s : decoder.decode(b.subarray(0, n));
}

export function basenameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

export function commFromPath(path: string): string {
  return cutBytes(basenameOf(path), COMM_MAX_BYTES);
}

/**
 * Bounds a list of arguments to `max` bytes, counting one NUL per argument.
 * AMBIGUITY: "beyond it the arguments are cut". Read as the kernel's cmdline
 * buffer would be: whole arguments are kept while they fit (with their NUL);
 * the first one that does not fit is cut to the bytes left (keeping room for
 * its NUL), or dropped when not even one byte of it fits; the rest are dropped.
 */
export function boundArgs(
  args: readonly ByteString[] | undefined,
  max: number,
  truncatedIn: boolean | undefined,
): { values: string[]; truncated: boolean } {
  const values: string[] = [];
  let used = 0;
  let truncated = truncatedIn === true;
  for (const raw of args ?? []) {
    const a = bytesToString(raw);
    const need = byteLength(a) + 1;
    if (used + need <= max) {
      values.push(a);
      used += need;
      continue;
    }
    const room = max - used - 1;
    if (room > 0) values.push(cutBytes(a, room));
    truncated = true;
    break;
  }
  return { values, truncated };
}

export function defaultCredentials(): Credentials {
  return {
    uid: UNSET_ID,
    gid: UNSET_ID,
    euid: UNSET_ID,
    egid: UNSET_ID,
    fsuid: UNSET_ID,
    fsgid: UNSET_ID,
    auid: UNSET_ID,
    capEffective: 0n,
    capPermitted: 0n,
  };
}

const CRED_KEYS = [
  'uid',
  'gid',
  'euid',
  'egid',
  'fsuid',
  'fsgid',
  'auid',
  'capEffective',
  'capPermitted',
] as const;

/** `base` with every field that `given` has (not undefined) replaced. */
function mergeCredentials(base: Credentials, given: Partial<Credentials> | undefined): Credentials {
  const out: Credentials = { ...base };
  if (given === undefined) return out;
  for (const k of CRED_KEYS) {
    const v = given[k];
    if (v !== undefined) (out as unknown as Record<string, number | bigint>)[k] = v;
  }
  return out;
}

/** The namespace fields of an event, when it gives them: any of the four non-zero (docs/cache.md). */
function givenNamespaces(ev: NamespaceInput): EntryNamespaces | undefined {
  const ns = { pidnsInode: ev.pidnsInode ?? 0, nsPid: ev.nsPid ?? 0, mountId: ev.mountId ?? 0, cgroupId: ev.cgroupId ?? 0n };
  return ns.pidnsInode !== 0 || ns.nsPid !== 0 || ns.mountId !== 0 || ns.cgroupId !== 0n ? ns : undefined;
}

function noNamespaces(): EntryNamespaces {
  return { pidnsInode: 0, nsPid: 0, mountId: 0, cgroupId: 0n };
}

/** Whether the path an event gives is cut: the event says so, or it is over PATH_MAX (the cache cuts it). */
function pathCut(path: string, flag: boolean | undefined): boolean {
  return flag === true || byteLength(path) > PATH_MAX_BYTES;
}

function sameCredentials(a: Credentials, b: Credentials): boolean {
  return CRED_KEYS.every((k) => a[k] === b[k]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class ReferenceResolver {
  readonly exitedRetention: bigint;
  readonly maxArgvBytes: number;
  readonly maxEnvpBytes: number;
  readonly envsResolution: boolean;
  /** pid -> current entry: the live cache (exited but not yet flushed entries included). */
  readonly live = new Map<number, Node>();
  readonly stats: ReferenceStats = {
    rejected: 0,
    pidReuse: 0,
    forkInodeMismatch: 0,
    execPrevInodeMismatch: 0,
    execBombs: 0,
    exitMisses: 0,
    flushed: 0,
  };
  /** Newest event time applied so far: the default `now` of dequeueExited. */
  newestTime = 0n;

  constructor(options: ReferenceOptions = {}) {
    this.exitedRetention = options.exitedRetention ?? DEFAULT_EXITED_RETENTION;
    this.maxArgvBytes = options.maxArgvBytes ?? DEFAULT_MAX_ARGV_BYTES;
    this.maxEnvpBytes = options.maxEnvpBytes ?? DEFAULT_MAX_ENVP_BYTES;
    // AMBIGUITY: the contract does not say whether envsResolution is on by
    // default; the model defaults it to off (envp not stored).
    this.envsResolution = options.envsResolution ?? false;
  }

  /** Number of pids in the live cache. */
  get size(): number {
    return this.live.size;
  }

  /** Entries the tables must still hold: the live ones and every ancestor they reach. */
  reachableCount(): number {
    const seen = new Set<Node>();
    for (const start of this.live.values()) {
      for (let n: Node | undefined = start; n !== undefined && !seen.has(n); n = n.ancestor) seen.add(n);
    }
    return seen.size;
  }

  resolve(pid: number): Node | undefined {
    return this.live.get(pid);
  }

  // AMBIGUITY: "the newest event time applied so far". Read literally: the
  // time of a fork, exec, exit or deleteEntry that was applied; a rejected
  // event (kernel thread, pid 0) or a miss (exit or deleteEntry of an unknown
  // pid) is not applied and does not move the clock.
  private see(time: bigint): void {
    if (time > this.newestTime) this.newestTime = time;
  }

  addForkEntry(ev: ForkInput): Node | undefined {
    if (ev.pid === 0 || ev.pid === 2 || ev.ppid === 2 || ev.kernelThread === true) {
      this.stats.rejected++;
      return undefined;
    }
    this.see(ev.time);
    // AMBIGUITY: a fork whose ppid equals its own pid makes no sense; the
    // parent is looked up before the pid-reuse rule ends the old instance.
    const parent = this.live.get(ev.ppid);
    const old = this.live.get(ev.pid);
    if (old !== undefined) {
      if (old.exitTime === 0n) old.exitTime = ev.time;
      this.live.delete(ev.pid);
      this.stats.pidReuse++;
    }
    const eventPath = ev.path === undefined ? undefined : bytesToString(ev.path);
    const eventComm = ev.comm === undefined ? undefined : bytesToString(ev.comm);
    const eventInode = ev.inode ?? 0;
    let node: Node;
    if (parent !== undefined) {
      node = {
        pid: ev.pid,
        ppid: ev.ppid,
        forkTime: ev.time,
        execTime: parent.execTime,
        exitTime: 0n,
        exitCode: 0,
        path: parent.path,
        pathTruncated: parent.pathTruncated,
        basename: parent.basename,
        inode: parent.inode,
        comm: eventComm ?? parent.comm,
        argv: [...parent.argv],
        argsTruncated: parent.argsTruncated,
        envp: [...parent.envp],
        envsTruncated: parent.envsTruncated,
        credentials: mergeCredentials(parent.credentials, ev.credentials),
        tty: ev.tty ?? parent.tty,
        containerId: ev.containerId ?? parent.containerId,
        cgroup: ev.cgroup ?? parent.cgroup,
        interpreter: parent.interpreter,
        isExec: false,
        isExecExec: false,
        isParentMissing: false,
        source: 'event',
        pidns: 0,
        // not given: where the parent lives, running its image, but not its pid
        namespaces: givenNamespaces(ev) ?? { ...parent.namespaces, nsPid: 0 },
        ancestor: parent,
      };
      if (eventInode !== 0 && eventInode !== parent.inode) {
        // The event's image wins: an exec of the parent we never saw (both
        // inodes known), or a parent whose image was never known (inode 0,
        // nothing missed). A parent running another image gives none of it:
        // path, comm, argv, envp and interpreter are the event's or unknown.
        if (parent.inode !== 0) {
          node.isParentMissing = true;
          this.stats.forkInodeMismatch++;
          node.path = '';
          node.pathTruncated = false;
          node.basename = '';
          node.comm = eventComm ?? '';
          node.argv = [];
          node.argsTruncated = false;
          node.envp = [];
          node.envsTruncated = false;
          node.interpreter = '';
        }
        node.inode = eventInode;
        if (eventPath !== undefined) {
          node.path = eventPath;
          node.pathTruncated = pathCut(eventPath, ev.pathTruncated);
          node.basename = basenameOf(eventPath);
        }
      }
    } else {
      const path = eventPath ?? '';
      node = {
        pid: ev.pid,
        ppid: ev.ppid,
        forkTime: ev.time,
        execTime: 0n,
        exitTime: 0n,
        exitCode: 0,
        path,
        pathTruncated: eventPath !== undefined && pathCut(eventPath, ev.pathTruncated),
        basename: basenameOf(path),
        inode: eventInode,
        // AMBIGUITY: parent unknown and no comm in the event: '' (the contract
        // says the comm is taken from the event; deriving it from the path is
        // specified for exec only).
        comm: eventComm ?? '',
        argv: [],
        argsTruncated: false,
        envp: [],
        envsTruncated: false,
        credentials: mergeCredentials(defaultCredentials(), ev.credentials),
        tty: ev.tty ?? '',
        containerId: ev.containerId ?? '',
        cgroup: ev.cgroup ?? '',
        interpreter: '',
        isExec: false,
        isExecExec: false,
        // ppid 0: started by the kernel (pid 1), there is no parent to miss.
        isParentMissing: ev.ppid !== 0,
        source: 'event',
        pidns: 0,
        namespaces: givenNamespaces(ev) ?? noNamespaces(),
        ancestor: undefined,
      };
    }
    this.live.set(ev.pid, node);
    return node;
  }

  addExecEntry(ev: ExecInput): Node | undefined {
    if (ev.pid === 0) {
      this.stats.rejected++;
      return undefined;
    }
    this.see(ev.time);
    let prev = this.live.get(ev.pid);
    if (prev !== undefined && prev.exitTime !== 0n) {
      // AMBIGUITY: "the previous entry is the current entry of pid", but an
      // exited process cannot exec: the exec belongs to a new instance of a
      // reused pid whose fork was lost. The exited entry ends as with pid
      // reuse (its exit time kept, counted in pidReuse) and is not linked;
      // the exec is handled as one with no previous entry.
      this.live.delete(ev.pid);
      this.stats.pidReuse++;
      prev = undefined;
    }
    const path = bytesToString(ev.path);
    const argv = boundArgs(ev.argv, this.maxArgvBytes, ev.argsTruncated);
    const envp = this.envsResolution
      ? boundArgs(ev.envp, this.maxEnvpBytes, ev.envsTruncated)
      : { values: [] as string[], truncated: false };
    const credentials = mergeCredentials(prev?.credentials ?? defaultCredentials(), ev.credentials);

    // A non-zero prevInode that differs from the previous entry's non-zero inode: an exec was lost.
    const prevInode = ev.prevInode ?? 0;
    const lostExec = prev !== undefined && prevInode !== 0 && prev.inode !== 0 && prevInode !== prev.inode;

    // AMBIGUITY: an exec whose prevInode shows a lost exec in between is not
    // an exec bomb even when it looks like the previous entry: the kernel ran
    // another image in between, so it is a new entry (isParentMissing).
    if (
      prev !== undefined &&
      !lostExec &&
      prev.isExec &&
      prev.path === path &&
      prev.inode === ev.inode &&
      sameList(prev.argv, argv.values) &&
      sameList(prev.envp, envp.values) &&
      sameCredentials(prev.credentials, credentials)
    ) {
      prev.execTime = ev.time;
      this.stats.execBombs++;
      return prev;
    }

    const node: Node = {
      pid: ev.pid,
      ppid: ev.ppid ?? prev?.ppid ?? 0,
      forkTime: prev?.forkTime ?? ev.time,
      execTime: ev.time,
      exitTime: 0n,
      exitCode: 0,
      path,
      pathTruncated: pathCut(path, ev.pathTruncated),
      basename: basenameOf(path),
      inode: ev.inode,
      comm: ev.comm !== undefined ? bytesToString(ev.comm) : commFromPath(path),
      argv: argv.values,
      argsTruncated: argv.truncated,
      envp: envp.values,
      envsTruncated: envp.truncated,
      credentials,
      tty: ev.tty ?? prev?.tty ?? '',
      containerId: ev.containerId ?? prev?.containerId ?? '',
      cgroup: ev.cgroup ?? prev?.cgroup ?? '',
      // AMBIGUITY: the interpreter belongs to the new image: the event's, else ''.
      interpreter: ev.interpreter !== undefined ? bytesToString(ev.interpreter) : '',
      isExec: true,
      isExecExec: prev?.isExec ?? false,
      // AMBIGUITY: with a known previous entry and no prevInode mismatch the
      // new image has isParentMissing false (not inherited from the previous).
      // ppid 0 given: a child of the kernel, as for a fork (docs/cache.md)
      isParentMissing: prev === undefined && ev.ppid !== 0,
      source: 'event',
      pidns: 0,
      // not given: the same process in the same place, running another image (mount unknown)
      namespaces: givenNamespaces(ev) ?? (prev ? { ...prev.namespaces, mountId: 0 } : noNamespaces()),
      ancestor: prev,
    };
    if (prev !== undefined) {
      prev.exitTime = ev.time; // still running: see above
      if (lostExec) {
        node.isParentMissing = true;
        this.stats.execPrevInodeMismatch++;
      }
    }
    this.live.set(ev.pid, node);
    return node;
  }

  applyExitEntry(ev: ExitInput): boolean {
    const cur = this.live.get(ev.pid);
    if (cur === undefined) {
      this.stats.exitMisses++;
      return false;
    }
    this.see(ev.time);
    // AMBIGUITY: a second exit of an exited entry (the pid was reused and
    // the new instance's fork lost) is not about this entry: the first exit
    // time and code are kept (and so is its place in the retention window).
    if (cur.exitTime === 0n) {
      cur.exitTime = ev.time;
      cur.exitCode = ev.exitCode ?? 0;
    }
    return true;
  }

  /** Flushes every pid whose current entry exited at least exitedRetention before `now`; returns how many. */
  dequeueExited(now?: bigint): number {
    const t = now ?? this.newestTime;
    let n = 0;
    for (const [pid, node] of [...this.live]) {
      if (node.exitTime !== 0n && t - node.exitTime >= this.exitedRetention) {
        this.live.delete(pid);
        n++;
      }
    }
    // AMBIGUITY: stats().flushed is named for deleteEntry; pids flushed by
    // dequeueExited are counted there too (a flush is a flush).
    this.stats.flushed += n;
    return n;
  }

  deleteEntry(pid: number, time: bigint): boolean {
    const cur = this.live.get(pid);
    if (cur === undefined) return false;
    this.see(time);
    if (cur.exitTime === 0n) cur.exitTime = time;
    this.live.delete(pid);
    this.stats.flushed++;
    return true;
  }

  updateUid(pid: number, ids: { uid?: number; euid?: number; fsuid?: number }): boolean {
    const cur = this.live.get(pid);
    if (cur === undefined) return false;
    const c = cur.credentials;
    if (ids.uid !== undefined && ids.uid !== -1) c.uid = ids.uid;
    if (ids.euid !== undefined && ids.euid !== -1) c.euid = ids.euid;
    if (ids.fsuid !== undefined && ids.fsuid !== -1) c.fsuid = ids.fsuid;
    return true;
  }

  updateGid(pid: number, ids: { gid?: number; egid?: number; fsgid?: number }): boolean {
    const cur = this.live.get(pid);
    if (cur === undefined) return false;
    const c = cur.credentials;
    if (ids.gid !== undefined && ids.gid !== -1) c.gid = ids.gid;
    if (ids.egid !== undefined && ids.egid !== -1) c.egid = ids.egid;
    if (ids.fsgid !== undefined && ids.fsgid !== -1) c.fsgid = ids.fsgid;
    return true;
  }

  updateCapset(pid: number, caps: { effective: bigint; permitted: bigint }): boolean {
    const cur = this.live.get(pid);
    if (cur === undefined) return false;
    cur.credentials.capEffective = caps.effective;
    cur.credentials.capPermitted = caps.permitted;
    return true;
  }

  updateLoginUid(pid: number, auid: number): boolean {
    const cur = this.live.get(pid);
    if (cur === undefined) return false;
    cur.credentials.auid = auid;
    return true;
  }
}
