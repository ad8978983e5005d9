// Validation and encoding of the public inputs (ForkInput, ExecInput, ...)
// into apply args. Everything is checked before anything is interned, so a
// rejected input leaves the tables untouched.

import { CTX_ALL, CTX_CGROUP, CTX_CONTAINER, CTX_TTY, type ExecArgs, type ForkArgs } from './args.js';
import { C } from './counters.js';
import { CRED_FIELDS } from '../record/spec.js';
import { credentialsToWords } from './creds.js';
import { internNamespaces } from './namespaces.js';
import { MAX_STRING_BYTES } from './strings.js';
import type { ProcessTable } from './table.js';
import type { ByteString, Credentials, ExecInput, ForkInput, NamespaceInput } from '../record/events.js';
import { timeHi, timeLo } from './time-words.js';

/** The kernel's largest pid_max. */
export const MAX_PID = 4194304;
export const PATH_MAX = 4096;
const UINT32_MAX = 4294967295;
const CAP_MAX = (1n << 64n) - 1n;

export interface InputLimits {
  maxArgvBytes: number;
  maxEnvpBytes: number;
}

export function checkPid(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${field} must be an integer pid, got ${describe(v)}`);
  }
  if (v < 0 || v > MAX_PID) throw new RangeError(`${field} must be in 0..${MAX_PID}, got ${v}`);
  return v;
}

export function checkTime(field: string, v: unknown): bigint {
  if (typeof v !== 'bigint') throw new TypeError(`${field} must be a bigint of nanoseconds, got ${describe(v)}`);
  if (v < 0n || v > 0x7fffffffffffffffn) throw new RangeError(`${field} must be in 0..2^63-1 nanoseconds, got ${v}`);
  return v;
}

function checkInode(field: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new TypeError(`${field} must be a non-negative safe integer, got ${describe(v)}`);
  }
  return v;
}

function checkBytes(field: string, v: unknown, optional: boolean): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
    throw new TypeError(`${field} must be a string or a Uint8Array, got ${describe(v)}`);
  }
  if (typeof v === 'string' ? v.includes('\0') : v.includes(0)) {
    throw new TypeError(`${field} contains a NUL byte, which no path, name or argument can hold`);
  }
}

function checkList(field: string, v: unknown): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new TypeError(`${field} must be an array, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) checkBytes(`${field}[${i}]`, v[i], false);
}

function checkText(field: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'string') throw new TypeError(`${field} must be a string, got ${describe(v)}`);
  if (v.includes('\0')) throw new TypeError(`${field} contains a NUL byte`);
}

function checkU32(field: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${field} must be an integer, got ${describe(v)}`);
  if (v < 0 || v > UINT32_MAX) throw new RangeError(`${field} must be in 0..${UINT32_MAX}, got ${v}`);
}

function checkNamespaces(what: string, ev: NamespaceInput & { pathTruncated?: unknown }): void {
  checkU32(`${what}.pidnsInode`, ev.pidnsInode);
  checkU32(`${what}.nsPid`, ev.nsPid);
  checkU32(`${what}.mountId`, ev.mountId);
  const cg = ev.cgroupId;
  if (cg !== undefined) {
    if (typeof cg !== 'bigint') throw new TypeError(`${what}.cgroupId must be a bigint, got ${describe(cg)}`);
    if (cg < 0n || cg > CAP_MAX) throw new RangeError(`${what}.cgroupId must be in 0..2^64-1, got ${cg}`);
  }
  const pt = ev.pathTruncated;
  if (pt !== undefined && typeof pt !== 'boolean') throw new TypeError(`${what}.pathTruncated must be a boolean, got ${describe(pt)}`);
}

export function checkCredentials(field: string, c: unknown): void {
  if (c === undefined) return;
  if (typeof c !== 'object' || c === null) throw new TypeError(`${field} must be an object, got ${describe(c)}`);
  const rec = c as Record<string, unknown>;
  for (const name of CRED_FIELDS) {
    const v = rec[name];
    if (v === undefined) continue;
    if (name === 'capEffective' || name === 'capPermitted') {
      if (typeof v !== 'bigint') throw new TypeError(`${field}.${name} must be a bigint, got ${describe(v)}`);
      if (v !== -1n && (v < 0n || v > CAP_MAX)) throw new RangeError(`${field}.${name} must be a 64-bit mask or -1n`);
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new TypeError(`${field}.${name} must be an integer, got ${describe(v)}`);
      }
      if (v < -1 || v > UINT32_MAX) throw new RangeError(`${field}.${name} must be in -1..${UINT32_MAX}, got ${v}`);
    }
  }
}

/** Encodes validated inputs into apply args, interning their strings. */
export class InputEncoder {
  private readonly encoder = new TextEncoder();
  private scratch = new Uint8Array(PATH_MAX * 4);
  private readonly listBlob: Uint8Array;

  constructor(
    private readonly table: ProcessTable,
    private readonly limits: InputLimits,
    private readonly withEnvs: boolean,
  ) {
    this.listBlob = new Uint8Array(Math.max(limits.maxArgvBytes, limits.maxEnvpBytes));
  }

  fork(ev: ForkInput, pidns: number, out: ForkArgs): void {
    if (typeof ev !== 'object' || ev === null) throw new TypeError(`fork event must be an object, got ${describe(ev)}`);
    const pid = checkPid('fork.pid', ev.pid);
    const ppid = checkPid('fork.ppid', ev.ppid);
    const time = checkTime('fork.time', ev.time);
    const inode = checkInode('fork.inode', ev.inode);
    checkBytes('fork.path', ev.path, true);
    checkBytes('fork.comm', ev.comm, true);
    checkCredentials('fork.credentials', ev.credentials);
    checkText('fork.tty', ev.tty);
    checkText('fork.containerId', ev.containerId);
    checkText('fork.cgroup', ev.cgroup);
    checkNamespaces('fork', ev);

    out.pid = pid;
    out.ppid = ppid;
    out.pidns = pidns;
    out.timeLo = timeLo(time);
    out.timeHi = timeHi(time);
    out.inode = inode;
    out.kernelThread = ev.kernelThread === true;
    this.pathCut = false;
    out.pathId = ev.path === undefined ? -1 : this.internPath(ev.path);
    out.pathTruncated = ev.pathTruncated === true || this.pathCut;
    out.commId = ev.comm === undefined ? -1 : this.internBounded(ev.comm, 15);
    out.credsMask = ev.credentials ? credentialsToWords(ev.credentials, out.creds, true) : 0;
    this.context(ev, out);
    this.namespaces(ev, out);
  }

  exec(ev: ExecInput, pidns: number, out: ExecArgs): void {
    if (typeof ev !== 'object' || ev === null) throw new TypeError(`exec event must be an object, got ${describe(ev)}`);
    const pid = checkPid('exec.pid', ev.pid);
    const ppid = ev.ppid === undefined ? -1 : checkPid('exec.ppid', ev.ppid);
    const time = checkTime('exec.time', ev.time);
    checkBytes('exec.path', ev.path, false);
    const inode = checkInode('exec.inode', ev.inode);
    const prevInode = checkInode('exec.prevInode', ev.prevInode);
    checkList('exec.argv', ev.argv);
    checkList('exec.envp', ev.envp);
    checkBytes('exec.interpreter', ev.interpreter, true);
    checkBytes('exec.comm', ev.comm, true);
    checkCredentials('exec.credentials', ev.credentials);
    checkText('exec.tty', ev.tty);
    checkText('exec.containerId', ev.containerId);
    checkText('exec.cgroup', ev.cgroup);
    checkNamespaces('exec', ev);

    out.pid = pid;
    out.ppid = ppid;
    out.pidns = pidns;
    out.timeLo = timeLo(time);
    out.timeHi = timeHi(time);
    out.inode = inode;
    out.prevInode = prevInode;
    this.pathCut = false;
    out.pathId = this.internPath(ev.path);
    out.pathTruncated = ev.pathTruncated === true || this.pathCut;
    out.commId = ev.comm === undefined ? -1 : this.internBounded(ev.comm, 15);
    const argv = this.internList(ev.argv ?? [], this.limits.maxArgvBytes);
    out.argvId = argv.id;
    out.argsTruncated = ev.argsTruncated === true || argv.truncated;
    if (argv.truncated) this.table.counters[C.argsTruncated]!++;
    if (this.withEnvs && ev.envp) {
      const envp = this.internList(ev.envp, this.limits.maxEnvpBytes);
      out.envpId = envp.id;
      out.envsTruncated = ev.envsTruncated === true || envp.truncated;
      if (envp.truncated) this.table.counters[C.envsTruncated]!++;
    } else {
      out.envpId = -1;
      out.envsTruncated = this.withEnvs && ev.envsTruncated === true;
    }
    out.interpId = ev.interpreter === undefined ? -1 : this.internPath(ev.interpreter);
    out.credsMask = ev.credentials ? credentialsToWords(ev.credentials, out.creds, true) : 0;
    this.context(ev, out);
    this.namespaces(ev, out);
  }

  /** Credential words and mask of a validated partial credentials object. */
  credentials(c: Partial<Credentials>, out: Uint32Array): number {
    return credentialsToWords(c, out, true);
  }

  private context(ev: { tty?: string; containerId?: string; cgroup?: string }, out: ForkArgs | ExecArgs): void {
    let mask = 0;
    if (ev.tty !== undefined) mask |= CTX_TTY;
    if (ev.containerId !== undefined) mask |= CTX_CONTAINER;
    if (ev.cgroup !== undefined) mask |= CTX_CGROUP;
    out.ctxMask = mask;
    if (mask === 0) {
      out.ctxId = -1;
      return;
    }
    const tty = ev.tty ?? '';
    const ctr = ev.containerId ?? '';
    const cg = ev.cgroup ?? '';
    out.ctxId = tty === '' && ctr === '' && cg === '' ? 0 : this.internBounded(`${tty}\0${ctr}\0${cg}`, MAX_STRING_BYTES);
    if (mask !== CTX_ALL && out.ctxId === 0) out.ctxId = this.internBounded('\0\0', 2);
  }

  /** The tuple of the namespace fields (validated), -1 when none is non-zero. */
  private namespaces(ev: NamespaceInput, out: ForkArgs | ExecArgs): void {
    const cg = ev.cgroupId ?? 0n;
    out.nsId = internNamespaces(
      this.table, ev.pidnsInode ?? 0, ev.nsPid ?? 0, ev.mountId ?? 0, Number(cg & 0xffffffffn), Number(cg >> 32n),
    );
  }

  /** internPath cut the last path it interned. */
  private pathCut = false;

  private internPath(v: ByteString): number {
    const len = this.load(v);
    if (len > PATH_MAX) {
      this.table.counters[C.pathTruncated]!++;
      this.pathCut = true;
    }
    return this.table.intern(this.scratch, 0, cutUtf8(this.scratch, PATH_MAX, len, typeof v === 'string'));
  }

  private internBounded(v: ByteString, max: number): number {
    const len = this.load(v);
    return this.table.intern(this.scratch, 0, cutUtf8(this.scratch, max, len, typeof v === 'string'));
  }


  /**
   * Interns a list as NUL-terminated items within `max` bytes (NULs
   * counted). An item that does not fit is cut (keeping at least one byte)
   * and the list is marked truncated.
   */
  private internList(items: readonly ByteString[], max: number): { id: number; truncated: boolean } {
    const blob = this.listBlob;
    let at = 0;
    let truncated = false;
    for (const item of items) {
      const len = this.load(item);
      if (at + len + 1 <= max) {
        blob.set(this.scratch.subarray(0, len), at);
        at += len;
        blob[at++] = 0;
        continue;
      }
      truncated = true;
      const room = max - at - 1;
      const cut = cutUtf8(this.scratch, Math.max(0, room), len, typeof item === 'string');
      if (cut > 0) {
        blob.set(this.scratch.subarray(0, cut), at);
        at += cut;
        blob[at++] = 0;
      }
      break;
    }
    return { id: at === 0 ? 0 : this.table.intern(blob, 0, at), truncated };
  }

  /** Puts the bytes of `v` at the start of the scratch buffer; returns their length. */
  private load(v: ByteString): number {
    if (typeof v === 'string') {
      if (this.scratch.length < v.length * 3) this.scratch = new Uint8Array(v.length * 3);
      return this.encoder.encodeInto(v, this.scratch).written;
    }
    if (this.scratch.length < v.length) this.scratch = new Uint8Array(v.length);
    this.scratch.set(v);
    return v.length;
  }
}

/**
 * How many of the `len` bytes to keep within `max`: all when they fit; else
 * `max`, backed off so that text is not cut inside a UTF-8 sequence (raw
 * bytes are cut as they are).
 */
function cutUtf8(bytes: Uint8Array, max: number, len: number, isText: boolean): number {
  if (len <= max) return len;
  if (!isText) return max;
  let cut = max;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v;
}
