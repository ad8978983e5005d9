// The /proc reader: reads processes from the host's /proc, one at a time
// (readProcess) or all of them (scanProcfs), for the startup snapshot, the
// cache's fallback when a pid is missing, and the procfs polling source.
//
// Any process may exit (and its pid be reused) between two reads of its
// files. A process whose stat file is gone is "vanished"; any other file that
// cannot be read gives that field its "unknown" value (documented on
// ProcfsProcess). Only unexpected errors (EMFILE, EIO, ...) are thrown.

import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { readdir, readFile, readlink, stat as statFile } from 'node:fs/promises';
import { uptime as osUptime } from 'node:os';
import { join, posix } from 'node:path';
import {
  containerIdFromCgroup,
  cgroupV2Path,
  parseCgroup,
  parseNsLink,
  parseStatLine,
  parseStatus,
  parseTtyNr,
  splitNul,
  stripDeletedSuffix,
  ticksToNs,
  UNSET_ID,
  type StatFields,
} from './parse.js';
import { orderParentsFirst, type ProcfsProcess, type ProcfsScan } from './process.js';

const PF_KTHREAD = 0x00200000;
const KTHREADD_PID = 2;
const SCAN_CONCURRENCY = 32;

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

function assemble(dir: string, pid: number, stat: StatFields, raw: RawFiles, envs: boolean): ProcfsProcess {
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
  proc.symlinkPath = invokedPath(dir, proc);
  return proc;
}

/**
 * The path the process was started by when it is not its executable's (a
 * symlink: /usr/bin/python3 -> python3.11, /bin/sh -> dash, busybox
 * applets): argv[0] when it names a file (holds a '/'), resolved against
 * the process's cwd when relative, and that file, seen from the process's
 * root, is the executable (same inode). '' otherwise: argv[0] without a '/'
 * was found in a PATH we do not know, and a program may set its argv[0] to
 * anything ("sshd: user@pts/0").
 */
function invokedPath(dir: string, p: ProcfsProcess): string {
  const arg0 = p.argv[0];
  if (arg0 === undefined || p.inode === 0 || !arg0.includes(0x2f)) return '';
  const a = Buffer.from(arg0).toString('utf8');
  const exe = Buffer.from(p.path).toString('utf8');
  let invoked: string;
  let seen: string;
  if (a.startsWith('/')) {
    invoked = posix.normalize(a);
    seen = `${dir}/root${invoked}`;
  } else {
    const cwd = linkTextSync(`${dir}/cwd`);
    if (cwd === undefined) return '';
    invoked = posix.join(cwd, a);
    seen = `${dir}/cwd/${a}`;
  }
  if (invoked === exe) return '';
  try {
    return statSync(seen).ino === p.inode ? invoked : '';
  } catch {
    return ''; // not a file we can see (gone, a loop, a name too long): not how it was started
  }
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
  return assemble(dir, pid, stat, raw, envs);
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
  return assemble(dir, pid, stat, raw, envs);
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

/**
 * When the host booted, in ms since the Unix epoch: now minus the time
 * since boot (`<procRoot>/uptime`, the boot clock, suspend included: the
 * clock of the kernel's event times, bpf_ktime_get_boot_ns). Read once by
 * whoever converts boot-clock times to wall-clock times (the seed's
 * ApplyBootTime). Without a readable uptime file: the system's own uptime.
 */
export function readBootTimeMs(procRoot = '/proc'): number {
  let uptimeS = Number.NaN;
  try {
    uptimeS = Number.parseFloat(readFileSync(join(procRoot, 'uptime'), 'latin1'));
  } catch {
    // a procRoot with no uptime file (a copied tree): fall through
  }
  if (!Number.isFinite(uptimeS) || uptimeS < 0) uptimeS = osUptime();
  return Date.now() - uptimeS * 1000;
}
