// procfs source: reads processes from /proc, for the startup snapshot and for
// the fallback when a pid is missing from the cache.
//
// Any process may exit (and its pid be reused) between two reads of its
// files. A process whose stat file is gone is "vanished"; any other file that
// cannot be read gives that field its "unknown" value (documented on
// ProcfsProcess). Only unexpected errors (EMFILE, EIO, ...) are thrown.

import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { readdir, readFile, readlink, stat as statFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Credentials, ExecInput } from '../../record/events.js';

/** Clock ticks per second of the times in /proc/<pid>/stat (sysconf(_SC_CLK_TCK)): 100 on every Linux ABI. */
export const CLK_TCK = 100;
const NS_PER_TICK = BigInt(1_000_000_000 / CLK_TCK);

/** (uid_t)-1: the login uid of a process that has none; also the uid/gid reported when status cannot be read. */
export const UNSET_ID = 4294967295;

const PF_KTHREAD = 0x00200000;
const KTHREADD_PID = 2;
const DELETED_SUFFIX = Buffer.from(' (deleted)', 'latin1');
const SCAN_CONCURRENCY = 32;

export interface ProcfsProcess {
  /** Host-view pid: the /proc/<pid> directory name. */
  pid: number;
  /** stat field 4. */
  ppid: number;
  /** The pid as seen in its own pid namespace (last value of NSpid:); = pid when absent. */
  nspid: number;
  /** Inode number of the pid namespace (ns/pid -> "pid:[N]"); 0 when unreadable. */
  pidns: number;
  /** stat field 22 (starttime) in nanoseconds since boot. */
  startTime: bigint;
  /** Raw bytes of the exe link, " (deleted)" removed; empty when unreadable. */
  path: Uint8Array;
  /** The exe link ended in " (deleted)". */
  pathDeleted: boolean;
  /** st_ino of the executable (through the exe link, works for deleted files); 0 when unreadable. */
  inode: number;
  /** /proc/<pid>/comm without its newline (the comm of stat when comm cannot be read). */
  comm: string;
  /** cmdline split on NUL, raw bytes; [] when unreadable or empty (zombies). */
  argv: Uint8Array[];
  /** environ split on NUL, only when `envs` was asked; [] when unreadable. */
  envp?: Uint8Array[];
  /** uid/gid fields are UNSET_ID and capabilities 0n when status cannot be read; auid is UNSET_ID when unset or unreadable. */
  credentials: Credentials;
  /** Controlling terminal ('pts/3', 'ttyS0', ...); '' for none. */
  tty: string;
  /** cgroup v2 path ("0::<path>"), else the first line's path; '' when unreadable. */
  cgroup: string;
  /**
   * cgroup v2 id: the inode of the cgroup's directory under the cgroup2
   * mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid layout):
   * the kernfs node id, what bpf_get_current_cgroup_id() gives; 0n when
   * unknown (no "0::" line, no cgroup v2 mount there, a path outside our
   * cgroup namespace, or gone).
   */
  cgroupId: bigint;
  /** 64-hex container id found in the cgroup path; '' when none. */
  containerId: string;
  /** PF_KTHREAD, or kthreadd (pid 2), or a child of kthreadd. */
  kernelThread: boolean;
}

/**
 * A process read from /proc as an exec input of the cache: its image, argv,
 * credentials and context at `time` (its start time unless given). `pid` and
 * `ppid` may be replaced by namespaced ones.
 */
export function procfsExecInput(p: ProcfsProcess, time = p.startTime, pid = p.pid, ppid = p.ppid): ExecInput {
  return {
    pid,
    ppid,
    time,
    path: p.path,
    inode: p.inode,
    argv: p.argv,
    envp: p.envp,
    comm: p.comm,
    credentials: p.credentials,
    tty: p.tty,
    containerId: p.containerId,
    cgroup: p.cgroup,
    pidnsInode: p.pidns,
    nsPid: p.pidns === 0 ? 0 : p.nspid, // a pid in an unknown namespace says nothing
    cgroupId: p.cgroupId,
  };
}

export interface ProcfsReadOptions {
  /** Also read /proc/<pid>/environ. */
  envs?: boolean;
  /** Where cgroups are mounted (default: cgroupRootOf(procRoot)); cgroup v2 is there or in its `unified` directory. */
  cgroupRoot?: string;
}

/** The cgroup2 mount of the host whose /proc is `procRoot`: /sys/fs/cgroup for /proc, else <procRoot>/../sys/fs/cgroup. */
export function cgroupRootOf(procRoot: string): string {
  return procRoot === '/proc' ? '/sys/fs/cgroup' : join(procRoot, '..', 'sys', 'fs', 'cgroup');
}

export interface ProcfsScan {
  /** User processes, parents before children; siblings (and roots) by startTime then pid. */
  processes: ProcfsProcess[];
  /** Pids listed but gone before they could be read. */
  vanished: number;
  /** Kernel threads, skipped. */
  kernelThreads: number;
}

// ---------------------------------------------------------------- pure parsers

export interface StatFields {
  comm: string;
  state: string;
  ppid: number;
  ttyNr: number;
  flags: number;
  /** starttime in clock ticks since boot. */
  startTicks: bigint;
}

/**
 * Parses /proc/<pid>/stat. The comm (field 2) is in parentheses and may hold
 * spaces and ')' itself, so the numeric fields are those after the LAST ')'.
 * Returns undefined for a malformed line.
 */
export function parseStatLine(line: string): StatFields | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // f[0] is field 3 (state): field n is f[n - 3].
  const f = line.slice(close + 2).split(' ');
  if (f.length < 20) return undefined;
  const ppid = Number(f[1]);
  const ttyNr = Number(f[4]);
  const flags = Number(f[6]);
  const start = f[19]!;
  if (!Number.isInteger(ppid) || !Number.isInteger(ttyNr) || !Number.isInteger(flags) || !/^\d+$/.test(start)) {
    return undefined;
  }
  return { comm: line.slice(open + 1, close), state: f[0]!, ppid, ttyNr, flags, startTicks: BigInt(start) };
}

/** Clock ticks since boot to nanoseconds. */
export function ticksToNs(ticks: bigint): bigint {
  return ticks * NS_PER_TICK;
}

export interface StatusFields {
  /** Last NSpid value, undefined when the line is absent. */
  nspid: number | undefined;
  /** Credentials without auid (which comes from loginuid). */
  credentials: Omit<Credentials, 'auid'>;
}

/** Parses the lines of /proc/<pid>/status that matter here; missing lines keep the unknown values. */
export function parseStatus(text: string): StatusFields {
  const c = { uid: UNSET_ID, gid: UNSET_ID, euid: UNSET_ID, egid: UNSET_ID, fsuid: UNSET_ID, fsgid: UNSET_ID, capEffective: 0n, capPermitted: 0n };
  let nspid: number | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    switch (key) {
      case 'Uid':
      case 'Gid': {
        // "real effective saved fs"
        const v = line.slice(colon + 1).trim().split(/\s+/).map(Number);
        if (v.length < 4 || !v.every(Number.isInteger)) break;
        if (key === 'Uid') [c.uid, c.euid, , c.fsuid] = v as [number, number, number, number];
        else [c.gid, c.egid, , c.fsgid] = v as [number, number, number, number];
        break;
      }
      case 'NSpid': {
        const v = line.slice(colon + 1).trim().split(/\s+/);
        const last = Number(v[v.length - 1]);
        if (Number.isInteger(last) && last > 0) nspid = last;
        break;
      }
      case 'CapEff':
      case 'CapPrm': {
        const hex = line.slice(colon + 1).trim();
        if (!/^[0-9a-fA-F]+$/.test(hex)) break;
        if (key === 'CapEff') c.capEffective = BigInt('0x' + hex);
        else c.capPermitted = BigInt('0x' + hex);
        break;
      }
    }
  }
  return { nspid, credentials: c };
}

/** Decodes stat's tty_nr (a kernel dev_t in new_encode_dev form) to a terminal name. */
export function parseTtyNr(ttyNr: number): string {
  if (ttyNr === 0) return '';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  if (major === 5 && minor === 0) return 'tty';
  return `${major}:${minor}`;
}

/** The cgroup path of /proc/<pid>/cgroup: the v2 line "0::<path>", else the first line's path. */
export function parseCgroup(text: string): string {
  let first: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('0::')) return line.slice(3);
    // "id:controllers:path"; the path itself may contain ':'.
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (first === undefined && b >= 0) first = line.slice(b + 1);
  }
  return first ?? '';
}

// docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>(.scope), libpod-<id>(.scope), /docker/<id>.
// "libpod-conmon-<id>" and "crio-conmon-<id>" are the monitors, outside the container: no match.
const CONTAINER_ID = /(?:^|\/)(?:docker-|cri-containerd-|crio-|libpod-|docker\/)([0-9a-f]{64})(?=\.scope|\/|$)/g;

/** The container id in a cgroup path; the innermost (last) one when containers nest; '' when none. */
export function containerIdFromCgroup(path: string): string {
  let id = '';
  for (const m of path.matchAll(CONTAINER_ID)) id = m[1]!;
  return id;
}

/** The path of the "0::" (cgroup v2) line of /proc/<pid>/cgroup; undefined when there is none. */
export function cgroupV2Path(text: string): string | undefined {
  for (const line of text.split('\n')) if (line.startsWith('0::')) return line.slice(3);
  return undefined;
}

/** Inode of a namespace link ("pid:[4026531836]" -> 4026531836); 0 when it does not parse. */
export function parseNsLink(link: string): number {
  const m = /\[(\d+)\]$/.exec(link);
  return m === null ? 0 : Number(m[1]);
}

/** Removes the " (deleted)" the kernel appends to the exe link of an unlinked binary; `path` is a view of `link`. */
export function stripDeletedSuffix(link: Uint8Array): { path: Uint8Array; deleted: boolean } {
  const n = link.length - DELETED_SUFFIX.length;
  if (n >= 0 && Buffer.from(link.buffer, link.byteOffset + n, DELETED_SUFFIX.length).equals(DELETED_SUFFIX)) {
    return { path: link.subarray(0, n), deleted: true };
  }
  return { path: link, deleted: false };
}

/**
 * Splits NUL-terminated strings (cmdline, environ) into copies (plain
 * Uint8Arrays, not views that would pin the read buffer); the empty element
 * after the final NUL is dropped.
 */
export function splitNul(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      out.push(new Uint8Array(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  // A process that rewrote its argv area may leave no final NUL.
  if (start < bytes.length) out.push(new Uint8Array(bytes.subarray(start)));
  return out;
}

/**
 * Orders processes parents before children: roots (parent not in the list)
 * first, each followed by its subtree; siblings by startTime then pid.
 * A "parent" that started after its child holds a reused pid (the real
 * parent is gone): the child counts as a root.
 */
export function orderParentsFirst(processes: readonly ProcfsProcess[]): ProcfsProcess[] {
  const byPid = new Map<number, ProcfsProcess>();
  for (const p of processes) byPid.set(p.pid, p);
  const sorted = [...processes].sort(byStartThenPid);
  const roots: ProcfsProcess[] = [];
  const children = new Map<number, ProcfsProcess[]>();
  for (const p of sorted) {
    const parent = byPid.get(p.ppid);
    if (parent === undefined || parent === p || parent.startTime > p.startTime) {
      roots.push(p);
      continue;
    }
    const list = children.get(p.ppid);
    if (list === undefined) children.set(p.ppid, [p]);
    else list.push(p);
  }
  const out: ProcfsProcess[] = [];
  const seen = new Set<number>();
  const stack: ProcfsProcess[] = [];
  const visit = (root: ProcfsProcess): void => {
    stack.push(root);
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      out.push(p);
      const kids = children.get(p.pid);
      // Pushed in reverse so the earliest sibling is visited first.
      if (kids !== undefined) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
  };
  for (const r of roots) visit(r);
  // A ppid cycle (pid reuse within one clock tick during the scan) has no root: break it in start order.
  if (out.length < byPid.size) for (const p of sorted) if (!seen.has(p.pid)) visit(p);
  return out;
}

function byStartThenPid(a: ProcfsProcess, b: ProcfsProcess): number {
  if (a.startTime !== b.startTime) return a.startTime < b.startTime ? -1 : 1;
  return a.pid - b.pid;
}

// ---------------------------------------------------------------- reading

/** Errors meaning "the process (or this file of it) is gone". */
function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

/** Errors that make one field unknown: gone, or not ours to read. */
function unknownOn(err: unknown): undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (isGone(err) || code === 'EACCES' || code === 'EPERM') return undefined;
  throw err;
}

/** Everything read after stat, as it came from the files; undefined = unreadable. */
interface RawFiles {
  status: string | undefined;
  pidNs: string | undefined;
  exe: Buffer | undefined;
  exeIno: number | undefined;
  comm: string | undefined;
  cmdline: Buffer | undefined;
  environ: Buffer | undefined;
  loginuid: string | undefined;
  cgroup: string | undefined;
  /** Inode of the cgroup v2 directory; undefined when unknown. */
  cgroupIno: bigint | undefined;
}

function isKernelThread(pid: number, stat: StatFields): boolean {
  return (stat.flags & PF_KTHREAD) !== 0 || pid === KTHREADD_PID || stat.ppid === KTHREADD_PID;
}

function assemble(pid: number, stat: StatFields, raw: RawFiles, envs: boolean): ProcfsProcess {
  const status = parseStatus(raw.status ?? '');
  const exe = raw.exe === undefined ? undefined : stripDeletedSuffix(raw.exe);
  const auid = raw.loginuid === undefined ? NaN : Number(raw.loginuid.trim());
  const cgroup = raw.cgroup === undefined ? '' : parseCgroup(raw.cgroup);
  const proc: ProcfsProcess = {
    pid,
    ppid: stat.ppid,
    nspid: status.nspid ?? pid,
    pidns: raw.pidNs === undefined ? 0 : parseNsLink(raw.pidNs),
    startTime: ticksToNs(stat.startTicks),
    // Copied into a plain Uint8Array: the read buffer may be a slice of a shared pool.
    path: exe === undefined ? new Uint8Array(0) : new Uint8Array(exe.path),
    pathDeleted: exe?.deleted ?? false,
    inode: raw.exeIno ?? 0,
    comm: raw.comm === undefined ? stat.comm : raw.comm.replace(/\n$/, ''),
    argv: raw.cmdline === undefined ? [] : splitNul(raw.cmdline),
    credentials: { ...status.credentials, auid: Number.isInteger(auid) ? auid : UNSET_ID },
    tty: parseTtyNr(stat.ttyNr),
    cgroup,
    cgroupId: raw.cgroupIno ?? 0n,
    containerId: containerIdFromCgroup(cgroup),
    kernelThread: isKernelThread(pid, stat),
  };
  if (envs) proc.envp = raw.environ === undefined ? [] : splitNul(raw.environ);
  return proc;
}

// Synchronous reads: one helper per kind, no closures on the per-file path.

function readStatSync(dir: string): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`${dir}/stat`, 'utf8');
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
  // An empty or torn stat only comes from a process being torn down: treat it as vanished.
  return parseStatLine(text);
}

function textSync(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return unknownOn(err);
  }
}

function bytesSync(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    return unknownOn(err);
  }
}

function linkTextSync(path: string): string | undefined {
  try {
    return readlinkSync(path, 'utf8');
  } catch (err) {
    return unknownOn(err);
  }
}

function linkBytesSync(path: string): Buffer | undefined {
  try {
    return readlinkSync(path, { encoding: 'buffer' });
  } catch (err) {
    return unknownOn(err);
  }
}

function inodeSync(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (err) {
    return unknownOn(err);
  }
}

/**
 * Where the cgroup v2 hierarchy is mounted under `root`: `root` itself (the
 * unified layout), or `root`/unified (systemd's hybrid layout, cgroup v1
 * controllers beside it); the one whose top has cgroup.controllers.
 * Undefined when neither (cgroup v1 only). Remembered per root.
 */
const cgroup2Mounts = new Map<string, string | undefined>();
export function cgroup2MountOf(root: string): string | undefined {
  if (cgroup2Mounts.has(root)) return cgroup2Mounts.get(root);
  const found = [root, join(root, 'unified')].find((dir) => existsSync(join(dir, 'cgroup.controllers')));
  if (cgroup2Mounts.size > 64) cgroup2Mounts.clear();
  cgroup2Mounts.set(root, found);
  return found;
}

/** The directory of a cgroup v2 path under `root`, or undefined when it cannot be one of ours. */
function cgroupDir(root: string, cgroupFile: string | undefined): string | undefined {
  const path = cgroupFile === undefined ? undefined : cgroupV2Path(cgroupFile);
  // "/.." leads out of our cgroup namespace: not a directory of our mount
  if (path === undefined || !path.startsWith('/') || path.includes('/..')) return undefined;
  const mount = cgroup2MountOf(root);
  return mount === undefined ? undefined : mount + (path === '/' ? '' : path);
}

function cgroupInoSync(root: string, cgroupFile: string | undefined): bigint | undefined {
  const dir = cgroupDir(root, cgroupFile);
  if (dir === undefined) return undefined;
  try {
    return statSync(dir, { bigint: true }).ino;
  } catch (err) {
    return unknownOn(err);
  }
}

/** The async twin, with a cache per scan: most processes share a few cgroups. */
async function cgroupInoAsync(root: string, cgroupFile: string | undefined, seen: Map<string, bigint | undefined>): Promise<bigint | undefined> {
  const dir = cgroupDir(root, cgroupFile);
  if (dir === undefined) return undefined;
  if (seen.has(dir)) return seen.get(dir);
  const ino = await statFile(dir, { bigint: true }).then((st) => st.ino, unknownOn);
  seen.set(dir, ino);
  return ino;
}

/**
 * Reads one process synchronously. Returns undefined when the process
 * vanished (its stat file is gone or empty); never throws for a vanished
 * process. Fields that cannot be read take their unknown value.
 */
export function readProcess(procRoot: string, pid: number, opts: ProcfsReadOptions = {}): ProcfsProcess | undefined {
  const dir = `${procRoot}/${pid}`;
  const stat = readStatSync(dir);
  if (stat === undefined) return undefined;
  const envs = opts.envs === true;
  const cgroup = textSync(`${dir}/cgroup`);
  const raw: RawFiles = {
    status: textSync(`${dir}/status`),
    pidNs: linkTextSync(`${dir}/ns/pid`),
    exe: linkBytesSync(`${dir}/exe`),
    exeIno: inodeSync(`${dir}/exe`),
    comm: textSync(`${dir}/comm`),
    cmdline: bytesSync(`${dir}/cmdline`),
    environ: envs ? bytesSync(`${dir}/environ`) : undefined,
    loginuid: textSync(`${dir}/loginuid`),
    cgroup,
    cgroupIno: cgroupInoSync(opts.cgroupRoot ?? cgroupRootOf(procRoot), cgroup),
  };
  return assemble(pid, stat, raw, envs);
}

const KERNEL_THREAD = Symbol('kernel thread');

/** The asynchronous twin of readProcess; with skipKernel, a kernel thread is reported without reading the rest. */
async function readProcessAsync(
  procRoot: string,
  pid: number,
  envs: boolean,
  skipKernel: boolean,
  cgroupRoot: string,
  cgroupInos: Map<string, bigint | undefined>,
): Promise<ProcfsProcess | undefined | typeof KERNEL_THREAD> {
  const dir = `${procRoot}/${pid}`;
  let text: string;
  try {
    text = await readFile(`${dir}/stat`, 'utf8');
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
  const stat = parseStatLine(text);
  if (stat === undefined) return undefined;
  if (skipKernel && isKernelThread(pid, stat)) return KERNEL_THREAD;
  // One file at a time per process: the scan's parallelism is across processes.
  const cgroup = await readFile(`${dir}/cgroup`, 'utf8').catch(unknownOn);
  const raw: RawFiles = {
    status: await readFile(`${dir}/status`, 'utf8').catch(unknownOn),
    pidNs: await readlink(`${dir}/ns/pid`, 'utf8').catch(unknownOn),
    exe: await readlink(`${dir}/exe`, { encoding: 'buffer' }).catch(unknownOn),
    exeIno: await inodeAsync(`${dir}/exe`),
    comm: await readFile(`${dir}/comm`, 'utf8').catch(unknownOn),
    cmdline: await readFile(`${dir}/cmdline`).catch(unknownOn),
    environ: envs ? await readFile(`${dir}/environ`).catch(unknownOn) : undefined,
    loginuid: await readFile(`${dir}/loginuid`, 'utf8').catch(unknownOn),
    cgroup,
    cgroupIno: await cgroupInoAsync(cgroupRoot, cgroup, cgroupInos),
  };
  return assemble(pid, stat, raw, envs);
}

function inodeAsync(path: string): Promise<number | undefined> {
  return statFile(path).then((s) => s.ino, unknownOn);
}

/** All numeric entries of procRoot, ascending. */
export async function listPids(procRoot: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir(procRoot)) {
    if (/^\d+$/.test(name)) pids.push(Number(name));
  }
  return pids.sort((a, b) => a - b);
}

/** Scans every process of procRoot, SCAN_CONCURRENCY reads in flight; kernel threads are counted and skipped. */
export async function scanProcfs(procRoot: string, opts: ProcfsReadOptions = {}): Promise<ProcfsScan> {
  const pids = await listPids(procRoot);
  const envs = opts.envs === true;
  const cgroupRoot = opts.cgroupRoot ?? cgroupRootOf(procRoot);
  const cgroupInos = new Map<string, bigint | undefined>();
  const found: ProcfsProcess[] = [];
  let vanished = 0;
  let kernelThreads = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pids.length) {
      const pid = pids[next++]!;
      const r = await readProcessAsync(procRoot, pid, envs, true, cgroupRoot, cgroupInos);
      if (r === undefined) vanished++;
      else if (r === KERNEL_THREAD) kernelThreads++;
      else found.push(r);
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(SCAN_CONCURRENCY, pids.length); i++) workers.push(worker());
  await Promise.all(workers);
  return { processes: orderParentsFirst(found), vanished, kernelThreads };
}
