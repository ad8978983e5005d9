// EbpflessResolver: the same cache keyed by (pid, pid-namespace id), for
// sources that see namespaced pids (the seed's EBPFLess resolver, fed by a
// ptrace or netlink tracer inside containers). Parents are looked up in the
// child's namespace.

import { CacheCore, GID_FIELDS, UID_FIELDS, type ContextUpdate, type ResolverOptions, type ResolverStats } from './core.js';
import type { ByteString, ProcessImage } from '../record/events.js';
import type { ProcessEntry, ValuesWithTruncation } from './types.js';
import type { TracerNames } from './users.js';

export interface CacheResolverKey {
  /** Pid as seen in its namespace. */
  pid: number;
  /** Inode number of the pid namespace (nsfs inodes are 32-bit). */
  nsid: number;
}

/** An exec (or an entry read from /proc) for EbpflessResolver: the image as the seed's EBPFLess resolver takes it. */
export interface EbpflessExec
  extends Pick<ProcessImage, 'inode' | 'argv' | 'argsTruncated' | 'envp' | 'envsTruncated' | 'containerId' | 'tty'> {
  ppid: number;
  time: bigint;
  path: ByteString;
}

export class EbpflessResolver {
  private readonly core: CacheCore;

  constructor(options?: ResolverOptions) {
    this.core = new CacheCore(options, true);
  }

  get size(): number {
    return this.core.size;
  }

  addForkEntry(key: CacheResolverKey, ppid: number, time: bigint): ProcessEntry | undefined {
    const k = checkKey(key);
    return this.core.addFork({ pid: k.pid, ppid, time }, k.nsid);
  }

  addExecEntry(key: CacheResolverKey, ev: EbpflessExec): ProcessEntry | undefined {
    const k = checkKey(key);
    return this.core.addExec({ ...execFields(ev), pid: k.pid }, k.nsid);
  }

  /** An entry read from /proc by the caller; an already cached key keeps its entry. */
  addProcFSEntry(key: CacheResolverKey, ev: EbpflessExec): ProcessEntry | undefined {
    const k = checkKey(key);
    return this.core.addProcfs({ ...execFields(ev), pid: k.pid }, k.nsid);
  }

  deleteEntry(key: CacheResolverKey, exitTime: bigint): void {
    const k = checkKey(key);
    this.core.delete(k.pid, exitTime, k.nsid);
  }

  resolve(key: CacheResolverKey): ProcessEntry | undefined {
    const k = checkKey(key);
    return this.core.resolve(k.pid, k.nsid);
  }

  /**
   * Sets user ids of the process (-1 or absent: unchanged) and, when given,
   * their names as the tracer read them inside the process's namespace (the
   * seed's UpdateUser(key, uid, euid, user, euser)). The names hold for
   * that id in that pid namespace, for every entry.
   */
  updateUser(key: CacheResolverKey, c: UserUpdate): boolean {
    const k = checkKey(key);
    const names = namedIds(c, USER_NAMES); // checked before anything changes
    const ok = this.core.updateCredentials(k.pid, k.nsid, c, UID_FIELDS);
    if (ok) for (const [id, name] of names) this.names.setUser(k.nsid, id, name);
    return ok;
  }

  /** The same for group ids and names (the seed's UpdateGroup). */
  updateGroup(key: CacheResolverKey, c: GroupUpdate): boolean {
    const k = checkKey(key);
    const names = namedIds(c, GROUP_NAMES);
    const ok = this.core.updateCredentials(k.pid, k.nsid, c, GID_FIELDS);
    if (ok) for (const [id, name] of names) this.names.setGroup(k.nsid, id, name);
    return ok;
  }

  private get names(): TracerNames {
    return this.core.tracerNames!;
  }

  /**
   * A process moved to another cgroup, or its container became known (the
   * seed's UpdateProcessContexts): its current entry takes the fields given,
   * in place. False (counted in updateMisses) for an unknown key.
   */
  updateProcessContexts(key: CacheResolverKey, contexts: ContextUpdate): boolean {
    const k = checkKey(key);
    return this.core.updateContexts(k.pid, k.nsid, contexts);
  }

  /** The current entry of key, counting neither a hit nor a miss (the seed's Get). */
  peek(key: CacheResolverKey): ProcessEntry | undefined {
    const k = checkKey(key);
    return this.core.peek(k.pid, k.nsid);
  }

  walk(cb: (entry: ProcessEntry) => void): void {
    this.core.walk(cb);
  }

  dump(format: 'json' | 'dot' = 'json'): Promise<string> {
    return this.core.dump(format);
  }

  getProcessArgvScrubbed(entry: ProcessEntry): ValuesWithTruncation {
    return this.core.argvScrubbed(entry);
  }

  getProcessEnvs(entry: ProcessEntry): ValuesWithTruncation {
    return this.core.envs(entry);
  }

  getProcessEnvp(entry: ProcessEntry): ValuesWithTruncation {
    return this.core.envp(entry);
  }

  /** Reads /proc, keying each process by its pid in its own namespace. */
  snapshot(): Promise<void> {
    return this.core.snapshot((p, byPid) => {
      const parent = byPid.get(p.ppid);
      const ppid = parent && parent.pidns === p.pidns ? parent.nspid : 0;
      return { pid: p.nspid, ppid, pidns: p.pidns };
    });
  }

  stats(): ResolverStats {
    return this.core.stats();
  }

  /**
   * Runs the resolver in the background (the seed's Start): exited entries
   * are flushed by the clock every `dequeueIntervalMs`, and with `statsd`
   * the counters are sent every `statsIntervalMs`. Timers do not keep the
   * process alive.
   */
  start(): void {
    this.core.runner.start();
  }

  /** Stops the background work; with `statsd`, sends the counters a last time and closes a client it made. */
  stop(): Promise<void> {
    return this.core.runner.stop();
  }

  /** Sends the counters now (the seed's SendStats): growth since the last send as counts, levels as gauges. False without `statsd`. */
  sendStats(): boolean {
    return this.core.runner.sendStats();
  }
}

/** updateUser's argument: ids, and the names the tracer read for them. */
export interface UserUpdate {
  uid?: number;
  euid?: number;
  fsuid?: number;
  user?: string;
  euser?: string;
  fsuser?: string;
}

/** updateGroup's argument: ids, and the names the tracer read for them. */
export interface GroupUpdate {
  gid?: number;
  egid?: number;
  fsgid?: number;
  group?: string;
  egroup?: string;
  fsgroup?: string;
}

const USER_NAMES = [['uid', 'user'], ['euid', 'euser'], ['fsuid', 'fsuser']] as const;
const GROUP_NAMES = [['gid', 'group'], ['egid', 'egroup'], ['fsgid', 'fsgroup']] as const;

/** The [id, name] pairs of an update that gives a name with its id; a name that is not a string is a TypeError. */
function namedIds(c: object, pairs: readonly (readonly [string, string])[]): [number, string][] {
  if (typeof c !== 'object' || c === null) throw new TypeError('credentials must be an object');
  const out: [number, string][] = [];
  for (const [idKey, nameKey] of pairs) {
    const name = (c as Record<string, unknown>)[nameKey];
    if (name === undefined) continue;
    if (typeof name !== 'string') throw new TypeError(`${nameKey} must be a string, got ${typeof name}`);
    const id = (c as Record<string, unknown>)[idKey];
    if (typeof id === 'number' && id >= 0) out.push([id, name]);
  }
  return out;
}

function execFields(ev: EbpflessExec) {
  if (typeof ev !== 'object' || ev === null) throw new TypeError('exec event must be an object');
  return {
    ppid: ev.ppid,
    time: ev.time,
    path: ev.path,
    inode: ev.inode ?? 0,
    argv: ev.argv,
    argsTruncated: ev.argsTruncated,
    envp: ev.envp,
    envsTruncated: ev.envsTruncated,
    containerId: ev.containerId,
    tty: ev.tty,
  };
}

function checkKey(key: CacheResolverKey): CacheResolverKey {
  if (typeof key !== 'object' || key === null) throw new TypeError('key must be an object { pid, nsid }');
  if (typeof key.nsid !== 'number' || !Number.isInteger(key.nsid) || key.nsid < 0 || key.nsid > 0xffffffff) {
    throw new RangeError(`key.nsid must be a pid namespace inode number in 0..4294967295, got ${String(key.nsid)}`);
  }
  return key;
}
