// Validation and encoding of the public inputs (ForkInput, ExecInput, ...)
// into apply args. Everything is checked before anything is interned, so a
// rejected input leaves the tables untouched.

import { CTX_ALL, CTX_CGROUP, CTX_CONTAINER, CTX_TTY, type ExecArgs, type ForkArgs } from './args.js';
import { C } from './counters.js';
import { credentialsToWords } from './creds.js';
import { hashBytes } from './hash.js';
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

/** `index`: the item of a list (argv, envp), -1 for a field of its own; names only go into error messages. */
function checkBytes(field: string, v: unknown, optional: boolean, index = -1): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
    throw new TypeError(`${itemName(field, index)} must be a string or a Uint8Array, got ${describe(v)}`);
  }
  if (typeof v === 'string' ? v.includes('\0') : v.includes(0)) {
    throw new TypeError(`${itemName(field, index)} contains a NUL byte, which no path, name or argument can hold`);
  }
}

function itemName(field: string, index: number): string {
  return index < 0 ? field : `${field}[${index}]`;
}

function checkList(field: string, v: unknown): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new TypeError(`${field} must be an array, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) checkBytes(field, v[i], false, i);
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
  // each field by name: a loop over the names would make every load a keyed, megamorphic one
  const r = c as Record<keyof Credentials, unknown>;
  checkCredId(field, 'uid', r.uid);
  checkCredId(field, 'gid', r.gid);
  checkCredId(field, 'euid', r.euid);
  checkCredId(field, 'egid', r.egid);
  checkCredId(field, 'fsuid', r.fsuid);
  checkCredId(field, 'fsgid', r.fsgid);
  checkCredId(field, 'auid', r.auid);
  checkCapMask(field, 'capEffective', r.capEffective);
  checkCapMask(field, 'capPermitted', r.capPermitted);
}

function checkCredId(field: string, name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${field}.${name} must be an integer, got ${describe(v)}`);
  if (v < -1 || v > UINT32_MAX) throw new RangeError(`${field}.${name} must be in -1..${UINT32_MAX}, got ${v}`);
}

function checkCapMask(field: string, name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'bigint') throw new TypeError(`${field}.${name} must be a bigint, got ${describe(v)}`);
  if (v !== -1n && (v < 0n || v > CAP_MAX)) throw new RangeError(`${field}.${name} must be a 64-bit mask or -1n`);
}

/**
 * A string, or a list of strings, as it was validated and encoded: its
 * bytes and their hash, and the id they were last interned at (current
 * while the id's generation is `gen`; once released, the bytes are interned
 * again without encoding or hashing them).
 */
class Encoded {
  id = 0;
  gen = -1;
  constructor(
    /** Where the bytes are in the encoder's store, and how many. */
    readonly at: number,
    readonly len: number,
    readonly hash: number,
    /** argv/envp: the items, compared by identity on the next use (ctx: tty and container id). */
    readonly items: readonly string[] | undefined,
    /** argv/envp: the list did not fit in its bound. */
    readonly truncated: boolean,
    /** What an entry reader decodes these bytes to (SEED_*), when it is the input itself; else undefined. */
    readonly kind = SEED_TEXT,
    readonly value: unknown = undefined,
  ) {}
}

/**
 * Kinds of decoded values. An entry is built right after an add, from the
 * ids the input was interned at: the input's own strings (and a frozen copy
 * of its argv) are what decoding those bytes would give back, so the encoder
 * hands them to the entry reader's caches instead of it decoding them again
 * (UTF-8 decoding from shared memory is a native call per string).
 */
export const SEED_TEXT = 0;
export const SEED_LIST = 1;
export const SEED_CTX = 2;

/** Takes decoded values for ids (EntryDecoder). */
export interface DecodedSeeds {
  seed(kind: number, id: number, value: unknown): void;
}

/**
 * Bytes of the encodings the caches keep, in one buffer: a small ArrayBuffer
 * or DataView of its own per string would cost more to allocate (~0.8 us)
 * than encoding the string again. Full, it is emptied with every cache.
 */
const STORE_BYTES = 1 << 20;

/** Bound on each cache of JS strings; a full cache is emptied (they refill at once with what is hot). */
const CACHE_MAX = 4096;

/**
 * Encodes validated inputs into apply args, interning their strings.
 *
 * Callers send the same paths, comms, argv arrays and contexts again and
 * again (one binary runs many times; a tracer keeps its strings). A string
 * seen before was validated and interned already: the caches below map it
 * to its id, so a repeat costs a Map lookup instead of a NUL scan, a UTF-8
 * encoding, a hash and a probe. A cached id is used only while its
 * generation is current; caches hold no reference, so the tables still
 * return to empty when their processes are gone.
 */
export class InputEncoder {
  private readonly encoder = new TextEncoder();
  private scratch = new Uint8Array(PATH_MAX * 4);
  private scratchDv = new DataView(this.scratch.buffer);
  private readonly listBlob: Uint8Array;
  private readonly listBlobDv: DataView;
  private readonly paths = new Map<string, Encoded>();
  private readonly comms = new Map<string, Encoded>();
  /** argv/envp lists by their first item (a command runs with the same arguments again and again). */
  private readonly lists = new Map<string, Encoded>();
  private readonly store = new Uint8Array(STORE_BYTES);
  private readonly storeDv = new DataView(this.store.buffer);
  private storeUsed = 0;
  /** Contexts by cgroup (what sets them apart), with the tty and container id they were encoded with. */
  private readonly contexts = new Map<string, Encoded>();
  private readonly nsWords = new Int32Array(6);
  private nsRef = EMPTY;

  /** Length of the last context blob encoded, before any cut. */
  private ctxLength = 0;

  constructor(
    private readonly table: ProcessTable,
    private readonly limits: InputLimits,
    private readonly withEnvs: boolean,
    /** Where decoded values of fresh ids go (the entry reader of the same table), if anywhere. */
    private readonly seeds?: DecodedSeeds,
  ) {
    this.listBlob = new Uint8Array(Math.max(limits.maxArgvBytes, limits.maxEnvpBytes));
    this.listBlobDv = new DataView(this.listBlob.buffer);
  }

  fork(ev: ForkInput, pidns: number, out: ForkArgs): void {
    if (typeof ev !== 'object' || ev === null) throw new TypeError(`fork event must be an object, got ${describe(ev)}`);
    const pid = checkPid('fork.pid', ev.pid);
    const ppid = checkPid('fork.ppid', ev.ppid);
    const time = checkTime('fork.time', ev.time);
    const inode = checkInode('fork.inode', ev.inode);
    const path = ev.path;
    const pathRef = path === undefined ? undefined : this.cached(this.paths, path);
    if (pathRef === undefined) checkBytes('fork.path', path, true);
    const comm = ev.comm;
    const commRef = comm === undefined ? undefined : this.cached(this.comms, comm);
    if (commRef === undefined) checkBytes('fork.comm', comm, true);
    checkCredentials('fork.credentials', ev.credentials);
    checkText('fork.tty', ev.tty);
    checkText('fork.containerId', ev.containerId);
    checkText('fork.cgroup', ev.cgroup);
    checkNamespaces('fork', ev);

    // checked: from here on only interning
    out.pid = pid;
    out.ppid = ppid;
    out.pidns = pidns;
    out.timeLo = timeLo(time);
    out.timeHi = timeHi(time);
    out.inode = inode;
    out.kernelThread = ev.kernelThread === true;
    this.pathCut = false;
    out.pathId = path === undefined ? -1 : pathRef !== undefined ? this.take(pathRef) : this.internPath(path);
    out.pathTruncated = ev.pathTruncated === true || this.pathCut;
    out.commId = comm === undefined ? -1 : commRef !== undefined ? this.take(commRef) : this.internComm(comm);
    out.credsMask = ev.credentials ? credentialsToWords(ev.credentials, out.creds, true) : 0;
    this.context(ev, out);
    this.namespaces(ev, out);
  }

  exec(ev: ExecInput, pidns: number, out: ExecArgs): void {
    if (typeof ev !== 'object' || ev === null) throw new TypeError(`exec event must be an object, got ${describe(ev)}`);
    const pid = checkPid('exec.pid', ev.pid);
    const ppid = ev.ppid === undefined ? -1 : checkPid('exec.ppid', ev.ppid);
    const time = checkTime('exec.time', ev.time);
    const path = ev.path;
    const pathRef = this.cached(this.paths, path);
    if (pathRef === undefined) checkBytes('exec.path', path, false);
    const inode = checkInode('exec.inode', ev.inode);
    const prevInode = checkInode('exec.prevInode', ev.prevInode);
    const argv = ev.argv;
    const argvRef = argv === undefined ? undefined : this.cachedList(argv);
    if (argvRef === undefined) checkList('exec.argv', argv);
    const envp = this.withEnvs ? ev.envp : undefined;
    const envpRef = envp === undefined ? undefined : this.cachedList(envp);
    if (envpRef === undefined) checkList('exec.envp', ev.envp);
    const interp = ev.interpreter;
    const interpRef = interp === undefined ? undefined : this.cached(this.paths, interp);
    if (interpRef === undefined) checkBytes('exec.interpreter', interp, true);
    const comm = ev.comm;
    const commRef = comm === undefined ? undefined : this.cached(this.comms, comm);
    if (commRef === undefined) checkBytes('exec.comm', comm, true);
    checkCredentials('exec.credentials', ev.credentials);
    checkText('exec.tty', ev.tty);
    checkText('exec.containerId', ev.containerId);
    checkText('exec.cgroup', ev.cgroup);
    checkNamespaces('exec', ev);

    // checked: from here on only interning
    out.pid = pid;
    out.ppid = ppid;
    out.pidns = pidns;
    out.timeLo = timeLo(time);
    out.timeHi = timeHi(time);
    out.inode = inode;
    out.prevInode = prevInode;
    this.pathCut = false;
    out.pathId = pathRef !== undefined ? this.take(pathRef) : this.internPath(path);
    out.pathTruncated = ev.pathTruncated === true || this.pathCut;
    out.commId = comm === undefined ? -1 : commRef !== undefined ? this.take(commRef) : this.internComm(comm);
    let truncated = false;
    if (argv === undefined || argv.length === 0) out.argvId = 0;
    else if (argvRef !== undefined) {
      out.argvId = this.take(argvRef);
      truncated = argvRef.truncated;
    } else {
      out.argvId = this.internList(argv, this.limits.maxArgvBytes);
      truncated = this.listCut;
    }
    out.argsTruncated = ev.argsTruncated === true || truncated;
    if (truncated) this.table.counters[C.argsTruncated]!++;
    if (envp !== undefined) {
      truncated = false;
      if (envp.length === 0) out.envpId = 0;
      else if (envpRef !== undefined) {
        out.envpId = this.take(envpRef);
        truncated = envpRef.truncated;
      } else {
        out.envpId = this.internList(envp, this.limits.maxEnvpBytes);
        truncated = this.listCut;
      }
      out.envsTruncated = ev.envsTruncated === true || truncated;
      if (truncated) this.table.counters[C.envsTruncated]!++;
    } else {
      out.envpId = -1;
      out.envsTruncated = this.withEnvs && ev.envsTruncated === true;
    }
    out.interpId = interp === undefined ? -1 : interpRef !== undefined ? this.take(interpRef) : this.internPath(interp);
    out.credsMask = ev.credentials ? credentialsToWords(ev.credentials, out.creds, true) : 0;
    this.context(ev, out);
    this.namespaces(ev, out);
  }

  /** Credential words and mask of a validated partial credentials object. */
  credentials(c: Partial<Credentials>, out: Uint32Array): number {
    return credentialsToWords(c, out, true);
  }

  /** What a string was encoded to (undefined for bytes, or a string not seen lately). */
  private cached(cache: Map<string, Encoded>, v: unknown): Encoded | undefined {
    return typeof v === 'string' ? cache.get(v) : undefined;
  }

  /**
   * What a list with these items was encoded to, if one was lately: the
   * items are compared as strings (same objects, or the same text), so a
   * new array with a command's usual arguments hits too.
   */
  private cachedList(items: readonly ByteString[]): Encoded | undefined {
    const first = items[0];
    if (typeof first !== 'string') return undefined;
    const ref = this.lists.get(first);
    if (ref === undefined) return undefined;
    const known = ref.items!;
    if (known.length !== items.length) return undefined;
    for (let i = 1; i < known.length; i++) if (known[i] !== items[i]) return undefined;
    return ref;
  }

  /** The id of what `ref` encodes, holding one new reference: its last id while current, else interned again. */
  private take(ref: Encoded): number {
    const strings = this.table.strings;
    if (ref.gen === strings.gen[ref.id]) {
      strings.incref(ref.id);
      return ref.id;
    }
    const id = this.table.intern(this.store, this.storeDv, ref.at, ref.len, ref.hash);
    if (id > 0) {
      ref.id = id;
      ref.gen = strings.gen[id]!;
      if (ref.value !== undefined) this.seeds?.seed(ref.kind, id, ref.value);
    }
    return id;
  }

  /** Keeps a copy of the first `len` bytes of `src` (an encoding to remember) in the store. */
  private encoded(
    src: Uint8Array, len: number, items: readonly string[] | undefined, truncated: boolean, kind: number, value: unknown,
  ): Encoded {
    if (this.storeUsed + len > STORE_BYTES) this.forget();
    const at = this.storeUsed;
    copyPrefix(src, len, this.store, at);
    this.storeUsed += len;
    return new Encoded(at, len, hashBytes(this.storeDv, this.store, at, len), items, truncated, kind, value);
  }

  /** Empties the caches and the store. */
  private forget(): void {
    this.paths.clear();
    this.comms.clear();
    this.lists.clear();
    this.contexts.clear();
    this.storeUsed = 0;
  }

  /** Interns the first `len` bytes of the scratch buffer, the encoding of `v` (whole when `whole`), remembering them for `v`. */
  private remember(cache: Map<string, Encoded>, v: ByteString, len: number, whole: boolean): number {
    if (typeof v !== 'string' || len === 0 || len > STORE_BYTES >> 4) return this.table.intern(this.scratch, this.scratchDv, 0, len);
    if (cache.size >= CACHE_MAX) cache.clear();
    const ref = this.encoded(this.scratch, len, undefined, false, SEED_TEXT, whole && wellFormed(v) ? v : undefined);
    cache.set(v, ref);
    return this.take(ref);
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
    if (tty === '' && ctr === '' && cg === '') {
      out.ctxId = mask === CTX_ALL ? 0 : this.internBounded('\0\0', 2);
      return;
    }
    // a host has a few contexts (containers, sessions), shared by many processes
    const known = this.contexts.get(cg);
    if (known !== undefined && known.items![0] === tty && known.items![1] === ctr) {
      out.ctxId = this.take(known);
      return;
    }
    // tty \0 containerId \0 cgroup, encoded in place (no concatenated string)
    this.room(3 * (tty.length + ctr.length + cg.length) + 2);
    const buf = this.scratch;
    let len = encodeString(this.encoder, tty, buf, 0);
    buf[len++] = 0;
    len += encodeString(this.encoder, ctr, buf, len);
    buf[len++] = 0;
    len += encodeString(this.encoder, cg, buf, len);
    this.ctxLength = len;
    len = cutUtf8(buf, MAX_STRING_BYTES, len, true);
    // over the string budget: the cgroup path, last, gives way (tty and container id are short)
    if (len < this.ctxLength) this.table.counters[C.ctxTruncated]!++;
    if (len > STORE_BYTES >> 4) {
      out.ctxId = this.table.intern(buf, this.scratchDv, 0, len);
      return;
    }
    if (this.contexts.size >= CACHE_MAX) this.contexts.clear();
    const whole = len === this.ctxLength && wellFormed(tty) && wellFormed(ctr) && wellFormed(cg);
    const ref = this.encoded(buf, len, [tty, ctr], false, SEED_CTX, whole ? Object.freeze([tty, ctr, cg]) : undefined);
    this.contexts.set(cg, ref);
    out.ctxId = this.take(ref);
  }

  /** The tuple of the namespace fields (validated), -1 when none is non-zero. */
  private namespaces(ev: NamespaceInput, out: ForkArgs | ExecArgs): void {
    const w = this.nsWords;
    const pidnsInode = ev.pidnsInode ?? 0;
    const givenNsPid = ev.nsPid ?? 0;
    // an nsPid equal to the pid is a row flag (F_NSPID_IS_PID): the processes of a namespace share their tuple
    out.nsPidIsPid = givenNsPid !== 0 && givenNsPid === out.pid;
    const nsPid = out.nsPidIsPid ? 0 : givenNsPid;
    const mountId = ev.mountId ?? 0;
    const cg = ev.cgroupId ?? 0n;
    const cgLo = timeLo(cg); // the two words of a u64, as for times
    const cgHi = timeHi(cg);
    if ((pidnsInode | nsPid | mountId | cgLo | cgHi) === 0 && !out.nsPidIsPid) {
      out.nsId = -1; // not given (not even an nsPid): inherited or kept by the apply
      return;
    }
    const last = this.nsRef;
    if (
      w[0] === (pidnsInode | 0) && w[1] === (nsPid | 0) && w[2] === (mountId | 0) && w[3] === cgLo && w[4] === cgHi &&
      last.gen === this.table.strings.gen[last.id]
    ) {
      out.nsId = this.take(last);
      return;
    }
    out.nsId = internNamespaces(this.table, pidnsInode, nsPid, mountId, cgLo, cgHi, 0, out.nsPidIsPid);
    if (out.nsId > 0) {
      w[0] = pidnsInode;
      w[1] = nsPid;
      w[2] = mountId;
      w[3] = cgLo;
      w[4] = cgHi;
      this.nsRef = new Encoded(0, 0, 0, undefined, false);
      this.nsRef.id = out.nsId;
      this.nsRef.gen = this.table.strings.gen[out.nsId]!;
    }
  }

  /** internPath cut the last path it interned. */
  private pathCut = false;
  /** internList cut the last list it interned. */
  private listCut = false;

  private internPath(v: ByteString): number {
    const len = this.load(v);
    if (len > PATH_MAX) {
      this.table.counters[C.pathTruncated]!++;
      this.pathCut = true;
      return this.table.intern(this.scratch, this.scratchDv, 0, cutUtf8(this.scratch, PATH_MAX, len, typeof v === 'string'));
    }
    return this.remember(this.paths, v, len, true);
  }

  private internComm(v: ByteString): number {
    const len = this.load(v);
    const cut = cutUtf8(this.scratch, COMM_BYTES, len, typeof v === 'string');
    return this.remember(this.comms, v, cut, cut === len);
  }

  private internBounded(v: ByteString, max: number): number {
    const len = this.load(v);
    return this.table.intern(this.scratch, this.scratchDv, 0, cutUtf8(this.scratch, max, len, typeof v === 'string'));
  }

  /**
   * Interns a list as NUL-terminated items within `max` bytes (NULs
   * counted). An item that does not fit is cut (keeping at least one byte)
   * and the list is marked truncated (listCut).
   */
  private internList(items: readonly ByteString[], max: number): number {
    const blob = this.listBlob;
    let at = 0;
    let truncated = false;
    let allText = true;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (typeof item !== 'string') allText = false;
      const len = this.load(item);
      if (at + len + 1 <= max) {
        copyPrefix(this.scratch, len, blob, at);
        at += len;
        blob[at++] = 0;
        continue;
      }
      truncated = true;
      const room = max - at - 1;
      const cut = cutUtf8(this.scratch, Math.max(0, room), len, typeof item === 'string');
      if (cut > 0) {
        copyPrefix(this.scratch, cut, blob, at);
        at += cut;
        blob[at++] = 0;
      }
      break;
    }
    this.listCut = truncated;
    if (at === 0) return 0;
    // arrays of strings only: byte items could change in place without the array changing
    if (!allText) return this.table.intern(blob, this.listBlobDv, 0, at);
    if (at > STORE_BYTES >> 4) return this.table.intern(blob, this.listBlobDv, 0, at);
    const copy = Object.freeze((items as readonly string[]).slice());
    let whole = !truncated;
    for (let i = 0; i < copy.length && whole; i++) whole = wellFormed(copy[i]!);
    const ref = this.encoded(blob, at, copy, truncated, SEED_LIST, whole ? copy : undefined);
    if (this.lists.size >= CACHE_MAX) this.lists.clear();
    this.lists.set(copy[0]!, ref);
    return this.take(ref);
  }

  /** Puts the bytes of `v` at the start of the scratch buffer; returns their length. */
  private load(v: ByteString): number {
    if (typeof v === 'string') {
      this.room(v.length * 3);
      return encodeString(this.encoder, v, this.scratch, 0);
    }
    this.room(v.length);
    this.scratch.set(v);
    return v.length;
  }

  /** A scratch buffer of at least `n` bytes. */
  private room(n: number): void {
    if (this.scratch.length >= n) return;
    this.scratch = new Uint8Array(n);
    this.scratchDv = new DataView(this.scratch.buffer);
  }
}

/** Bytes of a comm (TASK_COMM_LEN - 1). */
const COMM_BYTES = 15;

/** No tuple remembered yet. */
const EMPTY = new Encoded(0, 0, 0, undefined, false);

/** A string without lone surrogates: its UTF-8 bytes decode back to it. */
function wellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  return true;
}

/**
 * UTF-8 bytes of `s` into `out` at `at` (room for 3 bytes a UTF-16 unit);
 * returns their length. Short ASCII strings (most comms, argv items) go by
 * a loop: TextEncoder.encodeInto costs a native call each time, but a
 * charCodeAt in a loop ~20 instructions a character, so longer ones go to it.
 */
function encodeString(
  encoder: { encodeInto(s: string, out: Uint8Array): { written: number } }, s: string, out: Uint8Array, at: number,
): number {
  const n = s.length;
  if (n <= 24) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + i] = c;
    }
    if (i === n) return n;
  }
  return encoder.encodeInto(s, at === 0 ? out : out.subarray(at)).written;
}

/** out[at, at + len) = src[0, len). */
function copyPrefix(src: Uint8Array, len: number, out: Uint8Array, at: number): void {
  if (len > 64) {
    out.set(src.subarray(0, len), at);
    return;
  }
  for (let i = 0; i < len; i++) out[at + i] = src[i]!;
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
