// CacheCore: the resolver logic shared by ProcessResolver (keyed by pid) and
// EbpflessResolver (keyed by pid and pid namespace). It validates and encodes
// inputs, calls the apply functions, reads entries, and owns the reader-side
// counters and the /proc fallback.

import { readFileSync } from 'node:fs';
import { mkdtemp, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyContexts,
  applyCredentials,
  applyDelete,
  applyExec,
  applyExit,
  applyFork,
  applyProcfsEntry,
  relinkParent,
} from './apply.js';
import { CTX_CGROUP, CTX_CONTAINER, newExecArgs, newForkArgs } from './args.js';
import { C, type WriterCounter } from './counters.js';
import { EntryDecoder, entryEnvp, WRITER_ROW_SLOTS } from './entry.js';
import { entriesToDot, entriesToJSON, entryViews, type EntryViews } from './export.js';
import { checkCredentials, checkPid, checkTime, InputEncoder } from './input.js';
import { checkLineage } from './lineage.js';
import { ArgvScrubber, envNames } from './scrub.js';
import { bytesPerRow, ProcessTable, SOURCE_EVENT, SOURCE_PROCFS, SOURCE_SNAPSHOT } from './table.js';
import type { LineageResult, ProcessEntry, ResolverStats, ValuesWithTruncation } from './types.js';
import { TracerNames, UserNames } from './users.js';
import { timeHi, timeLo } from './time-words.js';
import { MAX_STRING_BYTES } from './strings.js';
import { RecordApplier } from './record-applier.js';
import { ResolverRunner, type StatsdOption } from './resolver-runner.js';
import { CRED_WORD_COUNT, MAX_RECORD_SIZE } from '../record/constants.js';
import { frameSize } from '../record/decode.js';
import { encodeEvent } from '../record/encode.js';
import type { ByteString, Credentials, ExecInput, ExitInput, ForkInput, RecordEvent } from '../record/events.js';
import { parseStatLine, parseTtyNr } from '../procfs/parse.js';
import { procfsExecInput, type ProcfsProcess } from '../procfs/process.js';
import { readBootTimeMs, readProcess, scanProcfs } from '../procfs/read.js';

/** updateProcessContexts: what changed (absent fields stay). */
export interface ContextUpdate {
  containerId?: string;
  cgroup?: string;
  /** cgroup v2 id (the inode of the cgroup's directory). */
  cgroupId?: bigint;
}

export interface ResolverOptions {
  /** Entry rows: live processes plus the exited ancestors they still need. Default 65536. */
  capacity?: number;
  /** Interned strings; default 3 per row. */
  stringCapacity?: number;
  /** Bytes of string contents; default 256 per row. */
  stringBytes?: number;
  /** Store envp of execs (default false). */
  envsResolution?: boolean;
  /** Environment variable names whose values getProcessEnvs() keeps. */
  envsWithValue?: readonly string[];
  /** Words scrubbed from arguments besides the built-in list. */
  scrubWords?: readonly string[];
  /** Read the tty from /proc when an exec does not give one (default false). */
  ttyFallback?: boolean;
  /** Read a pid missing from the cache from /proc on resolve() (default false). */
  procfsFallback?: boolean;
  /** Least time between two /proc fallback attempts for one pid (default 2000 ms). */
  procfsFallbackIntervalMs?: number;
  /** How many missing ancestors a /proc fallback reads with the pid (default 16; 0: the pid alone). */
  procfsMaxDepth?: number;
  /** How long an exited pid stays resolvable before dequeueExited() flushes it (default 5 s). */
  exitedRetention?: bigint;
  /** Where /proc is (default '/proc'); the host's /etc is taken as its sibling. */
  procRoot?: string;
  /** Bound on argv bytes, one NUL per argument counted (default 4096). */
  maxArgvBytes?: number;
  /** Bound on envp bytes (default 8192). */
  maxEnvpBytes?: number;
  /** The host's boot time in ms since the epoch, for the wall-clock times of entries (default: read once from <procRoot>/uptime). */
  bootTimeMs?: number;
  /** Where sendStats() sends the counters: a hot-shots client, or { host, port, prefix, globalTags } to make one. */
  statsd?: StatsdOption;
  /** How often start() flushes exited entries by the clock (default 1000 ms). */
  dequeueIntervalMs?: number;
  /** How often start() sends the counters when `statsd` is given (default 10 000 ms). */
  statsIntervalMs?: number;
}

const OPTION_KEYS = new Set<string>([
  'capacity', 'stringCapacity', 'stringBytes', 'envsResolution', 'envsWithValue', 'scrubWords', 'ttyFallback',
  'procfsFallback', 'procfsFallbackIntervalMs', 'procfsMaxDepth', 'exitedRetention', 'procRoot', 'maxArgvBytes', 'maxEnvpBytes',
  'statsd', 'dequeueIntervalMs', 'statsIntervalMs', 'bootTimeMs',
]);

export type { ResolverStats } from './types.js';

/** Bound on the per-pid memory of the /proc fallback rate limiter. */
const FALLBACK_MEMORY = 4096;

export class CacheCore {
  readonly table: ProcessTable;
  readonly withEnvs: boolean;
  /** start()/stop()/sendStats(): the background flush and the StatsD counters. */
  readonly runner: ResolverRunner;
  /** Names given by a tracer, per pid namespace (EbpflessResolver only). */
  tracerNames: TracerNames | undefined;
  private readonly entries: EntryDecoder;
  private readonly encoder: InputEncoder;
  private readonly scrubber: ArgvScrubber;
  private readonly envsWithValue: ReadonlySet<string>;
  private readonly forkArgs = newForkArgs();
  private readonly execArgs = newExecArgs();
  private readonly credWords = new Uint32Array(CRED_WORD_COUNT);
  private readonly procRoot: string;
  private readonly retention: bigint;
  private readonly ttyFallback: boolean;
  private readonly procfsFallback: boolean;
  private readonly fallbackIntervalMs: number;
  private readonly procfsMaxDepth: number;
  private readonly lastFallback = new Map<string, number>();
  private readonly reader = {
    hits: [0, 0, 0],
    misses: 0,
    brokenLineage: 0,
    procfsAttempts: 0,
    procfsSuccess: 0,
    procfsFailed: 0,
    procfsRateLimited: 0,
    snapshotProcesses: 0,
    snapshotVanished: 0,
    snapshotKernelThreads: 0,
  };

  constructor(options: ResolverOptions = {}, keyedByNamespace = false) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) throw new TypeError(`unknown option "${key}"`);
    }
    const capacity = options.capacity ?? 65536;
    const boot = options.bootTimeMs ?? readBootTimeMs(typeof options.procRoot === 'string' ? options.procRoot : '/proc');
    if (typeof boot !== 'number' || !Number.isFinite(boot) || boot < 0) {
      throw new TypeError(`option bootTimeMs must be a non-negative number of ms since the epoch, got ${String(boot)}`);
    }
    this.table = ProcessTable.create({
      capacity,
      keyedByNamespace,
      stringCapacity: options.stringCapacity,
      stringBytes: options.stringBytes,
      bootTimeMs: boot,
    });
    this.procRoot = options.procRoot ?? '/proc';
    if (typeof this.procRoot !== 'string') throw new TypeError('option procRoot must be a string');
    // keyed by namespace (EbpflessResolver): names as its tracer gives them, the host's /etc does not describe a container
    const users = keyedByNamespace ? (this.tracerNames = new TracerNames()) : new UserNames(join(this.procRoot, '..', 'etc'));
    this.withEnvs = options.envsResolution === true;
    this.scrubber = new ArgvScrubber(stringList('scrubWords', options.scrubWords));
    this.envsWithValue = new Set(stringList('envsWithValue', options.envsWithValue));
    this.retention = options.exitedRetention ?? 5_000_000_000n;
    if (typeof this.retention !== 'bigint' || this.retention < 0n) {
      throw new TypeError('option exitedRetention must be a non-negative bigint of nanoseconds');
    }
    this.ttyFallback = options.ttyFallback === true;
    this.procfsFallback = options.procfsFallback === true;
    this.fallbackIntervalMs = positiveInt('procfsFallbackIntervalMs', options.procfsFallbackIntervalMs, 2000);
    const depth = options.procfsMaxDepth ?? 16;
    if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0 || depth > 4096) {
      throw new RangeError(`option procfsMaxDepth must be an integer in 0..4096, got ${String(depth)}`);
    }
    this.procfsMaxDepth = depth;
    this.entries = new EntryDecoder(this.table, users, this.withEnvs, keyedByNamespace, boot, WRITER_ROW_SLOTS);
    this.runner = new ResolverRunner(
      { newestTime: () => this.table.newestTime[0]!, dequeueExited: (now) => this.dequeueExited(now), stats: () => this.stats() },
      options,
    );
    this.encoder = new InputEncoder(
      this.table,
      {
        maxArgvBytes: boundedInt('maxArgvBytes', options.maxArgvBytes, 4096, MAX_STRING_BYTES),
        maxEnvpBytes: boundedInt('maxEnvpBytes', options.maxEnvpBytes, 8192, MAX_STRING_BYTES),
      },
      this.withEnvs,
      this.entries,
    );
  }

  get size(): number {
    return this.table.liveCount;
  }

  // ---- events ----------------------------------------------------------

  /**
   * Applies records (docs/record-format.md) from bytes[off, end) through the
   * same decoder as the shard workers. Returns the offset after the last
   * whole record; a malformed record is counted and skipped.
   */
  applyRecords(bytes: Uint8Array, off = 0, end = bytes.length): number {
    const applier = (this.applier ??= new RecordApplier(this.table, {
      shard: 0,
      shards: 1,
      retention: this.retention,
      withEnvs: this.withEnvs,
    }));
    if (bytes !== this.recordBytes) {
      // one view per buffer: applyEvent() passes the same scratch buffer every time
      this.recordBytes = bytes;
      this.recordView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const dv = this.recordView;
    while (off < end) {
      const size = frameSize(dv, off, end - off);
      if (size < 0) break;
      applier.apply(bytes, off, size);
      off += size;
    }
    return off;
  }

  /** Applies one stream event (synthetic, decoded) through the record path. */
  applyEvent(ev: RecordEvent): void {
    const n = encodeEvent(ev, this.eventScratch, 0);
    this.applyRecords(this.eventScratch, 0, n);
  }

  private applier: RecordApplier | undefined;
  private recordBytes: Uint8Array | undefined;
  private recordView: DataView = new DataView(new ArrayBuffer(0));
  private readonly eventScratch = new Uint8Array(MAX_RECORD_SIZE);

  addFork(ev: ForkInput, pidns: number): ProcessEntry | undefined {
    this.encoder.fork(ev, pidns, this.forkArgs);
    const row = applyFork(this.table, this.forkArgs);
    return row < 0 ? undefined : this.entries.read(row);
  }

  addExec(ev: ExecInput, pidns: number): ProcessEntry | undefined {
    if (this.ttyFallback && ev && ev.tty === undefined && typeof ev.pid === 'number') {
      const tty = this.ttyFromProcfs(ev.pid);
      if (tty) ev = { ...ev, tty };
    }
    const symlink = checkSymlink(ev);
    this.encoder.exec(ev, pidns, this.execArgs);
    if (symlink !== undefined) this.attachSymlink(symlink, ev.path);
    this.execArgs.source = SOURCE_EVENT;
    const row = applyExec(this.table, this.execArgs);
    return row < 0 ? undefined : this.entries.read(row);
  }

  addProcfs(ev: ExecInput, pidns: number): ProcessEntry | undefined {
    const symlink = checkSymlink(ev);
    this.encoder.exec(ev, pidns, this.execArgs);
    if (symlink !== undefined) this.attachSymlink(symlink, ev.path);
    this.execArgs.source = SOURCE_PROCFS;
    const row = applyProcfsEntry(this.table, this.execArgs);
    return row < 0 ? undefined : this.entries.read(row);
  }

  exit(ev: ExitInput, pidns: number): boolean {
    if (typeof ev !== 'object' || ev === null) throw new TypeError('exit event must be an object');
    const pid = checkPid('exit.pid', ev.pid);
    const time = checkTime('exit.time', ev.time);
    const code = ev.exitCode ?? 0;
    if (typeof code !== 'number' || !Number.isInteger(code)) throw new TypeError(`exit.exitCode must be an integer, got ${String(code)}`);
    if (code < 0 || code > 0xffff) throw new RangeError(`exit.exitCode must be a wait status in 0..65535, got ${code}`);
    return applyExit(this.table, pid, pidns, timeLo(time), timeHi(time), code);
  }

  delete(pid: number, time: bigint, pidns: number): void {
    checkTime('time', time);
    applyDelete(this.table, checkPid('pid', pid), pidns, timeLo(time), timeHi(time));
  }

  dequeueExited(now?: bigint): number {
    const t = now === undefined ? this.table.newestTime[0]! : checkTime('now', now);
    return this.table.flushExited(t, this.retention);
  }

  updateCredentials(pid: number, pidns: number, c: Partial<Credentials>, allowed: readonly (keyof Credentials)[]): boolean {
    checkPid('pid', pid);
    checkCredentials('credentials', c);
    const picked: Partial<Credentials> = {};
    for (const k of allowed) if (c[k] !== undefined) (picked as Record<string, unknown>)[k] = c[k];
    const mask = this.encoder.credentials(picked, this.credWords);
    return applyCredentials(this.table, pid, pidns, this.credWords, mask);
  }

  /** docs/cache.md, "Contexts": a process's container id, cgroup path and cgroup id changed in place. */
  updateContexts(pid: number, pidns: number, c: ContextUpdate): boolean {
    checkPid('pid', pid);
    if (typeof c !== 'object' || c === null) throw new TypeError('contexts must be an object { containerId?, cgroup?, cgroupId? }');
    for (const k of ['containerId', 'cgroup'] as const) {
      if (c[k] !== undefined && typeof c[k] !== 'string') throw new TypeError(`contexts.${k} must be a string`);
      if (c[k]?.includes('\0')) throw new TypeError(`contexts.${k} must not contain a NUL byte`);
    }
    const cg = c.cgroupId;
    if (cg !== undefined && (typeof cg !== 'bigint' || cg < 0n || cg > 0xffffffffffffffffn)) {
      throw new TypeError(`contexts.cgroupId must be a u64 bigint, got ${String(cg)}`);
    }
    let mask = 0;
    if (c.containerId !== undefined) mask |= CTX_CONTAINER;
    if (c.cgroup !== undefined) mask |= CTX_CGROUP;
    let ctxId = -1;
    if (mask !== 0) {
      // the blob "tty \0 containerId \0 cgroup" with the parts given; mergeCtx takes those of the mask
      const bytes = new TextEncoder().encode(`\0${c.containerId ?? ''}\0${c.cgroup ?? ''}`);
      ctxId = this.table.intern(bytes, new DataView(bytes.buffer), 0, bytes.length);
    }
    const lo = cg === undefined ? 0 : Number(cg & 0xffffffffn);
    const hi = cg === undefined ? 0 : Number(cg >> 32n);
    return applyContexts(this.table, pid, pidns, ctxId, mask, cg !== undefined, lo, hi);
  }

  reparent(pid: number, kernelPPid: number, pidns: number): boolean {
    checkPid('pid', pid);
    checkPid('kernelPPid', kernelPPid);
    const t = this.table;
    if (kernelPPid === 0 || pid <= 1) return false;
    const row = t.lookup(pid, pidns);
    if (row < 0 || t.ppid[row] === kernelPPid) return false;
    t.pin(row);
    let parent = t.lookup(kernelPPid, pidns);
    if (parent < 0 && this.procfsFallback) parent = this.insertFromProcfs(kernelPPid, pidns);
    const ok = parent >= 0 && relinkParent(t, row, parent, kernelPPid);
    t.release(row);
    t.counters[ok ? C.reparentSuccess : C.reparentFailed]!++;
    return ok;
  }

  // ---- reads -----------------------------------------------------------

  resolve(pid: number, pidns: number): ProcessEntry | undefined {
    checkPid('pid', pid);
    const kept = this.entries.keptForPid(pid, pidns);
    if (kept !== undefined) {
      this.reader.hits[this.entries.keptSource]!++;
      return kept;
    }
    const t = this.table;
    let row = t.lookup(pid, pidns);
    if (row >= 0) {
      this.reader.hits[t.sourceOf(row)]!++;
      return this.entries.resolveRow(row);
    }
    this.reader.misses++;
    if (!this.procfsFallback || pid === 0) return undefined;
    row = this.insertFromProcfs(pid, pidns);
    return row < 0 ? undefined : this.entries.read(row);
  }

  /** The current entry of a pid without counting a hit or a miss and without /proc fallback. */
  peek(pid: number, pidns: number): ProcessEntry | undefined {
    const row = this.table.lookup(checkPid('pid', pid), pidns);
    return row < 0 ? undefined : this.entries.read(row);
  }

  walk(cb: (entry: ProcessEntry) => void): void {
    const entries: ProcessEntry[] = [];
    this.table.forEachLive((row) => entries.push(this.entries.read(row)));
    for (const e of entries) cb(e);
  }

  liveEntries(): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    this.walk((e) => out.push(e));
    return out;
  }

  argvScrubbed(entry: ProcessEntry): ValuesWithTruncation {
    return { values: this.scrubber.scrub(entry.argv), truncated: entry.argsTruncated };
  }

  envs(entry: ProcessEntry): ValuesWithTruncation {
    return { values: envNames(entryEnvp(entry), this.envsWithValue), truncated: entry.envsTruncated };
  }

  envp(entry: ProcessEntry): ValuesWithTruncation {
    return { values: [...entryEnvp(entry)], truncated: entry.envsTruncated };
  }

  lineage(entry: ProcessEntry): LineageResult {
    const r = checkLineage(entry);
    if (!r.ok) this.reader.brokenLineage++;
    return r;
  }

  private views(raw: boolean): EntryViews {
    return entryViews(raw, this.scrubber, this.envsWithValue);
  }

  toJSON(raw = false): string {
    const live = this.liveEntries();
    return entriesToJSON(live, new Set(live), this.views(raw));
  }

  toDot(withArgs = false): string {
    const live = this.liveEntries();
    return entriesToDot(live, new Set(live), this.views(false), withArgs);
  }

  /** Writes the cache to a new file readable by its owner only; returns its path. */
  async dump(format: 'json' | 'dot' = 'json'): Promise<string> {
    if (format !== 'json' && format !== 'dot') throw new TypeError(`dump format must be "json" or "dot", got ${String(format)}`);
    const dir = await mkdtemp(join(tmpdir(), 'forkline-dump-'));
    const file = join(dir, `cache.${format}`);
    const fh = await open(file, 'wx', 0o600);
    try {
      await fh.writeFile(format === 'json' ? this.toJSON(false) : this.toDot(true));
    } finally {
      await fh.close();
    }
    return file;
  }

  stats(): ResolverStats {
    const t = this.table;
    const n = (name: WriterCounter) => t.counters[C[name]]!;
    const r = this.reader;
    return {
      cacheSize: t.liveCount,
      rows: t.rowsUsed,
      rowCapacity: t.capacity,
      bytesPerRow: bytesPerRow(t.capacity, t.keyedByNamespace),
      strings: { count: t.strings.count, bytes: t.strings.bytesUsed },
      hits: { event: r.hits[0]!, snapshot: r.hits[1]!, procfs: r.hits[2]! },
      misses: r.misses,
      added: { event: n('addedEvent'), snapshot: n('addedSnapshot'), procfs: n('addedProcfs') },
      flushed: n('flushed'),
      evicted: n('evicted'),
      pidReuse: n('pidReuse'),
      execBombs: n('execBombs'),
      exitMisses: n('exitMisses'),
      updateMisses: n('updateMisses'),
      brokenLineage: r.brokenLineage,
      reparent: { success: n('reparentSuccess'), failed: n('reparentFailed') },
      inodeErrors: { forkInodeMismatch: n('forkInodeMismatch'), execPrevInodeMismatch: n('execPrevInodeMismatch') },
      argsTruncated: n('argsTruncated'),
      envsTruncated: n('envsTruncated'),
      pathTruncated: n('pathTruncated'),
      rejected: { pid0: n('rejectedPid0'), kernelThread: n('rejectedKernelThread'), tableFull: n('rejectedTableFull'), badPid: n('rejectedBadPid') },
      stringsFull: n('stringsFull'),
      exitBeforeFork: n('exitBeforeFork'),
      ctxTruncated: n('ctxTruncated'),
      procfs: {
        attempts: r.procfsAttempts,
        success: r.procfsSuccess,
        failed: r.procfsFailed,
        rateLimited: r.procfsRateLimited,
      },
      snapshot: { processes: r.snapshotProcesses, vanished: r.snapshotVanished, kernelThreads: r.snapshotKernelThreads },
    };
  }

  // ---- /proc -----------------------------------------------------------

  /** Reads every process of /proc into the cache, parents first. */
  async snapshot(keyOf: (p: ProcfsProcess, byPid: Map<number, ProcfsProcess>) => { pid: number; ppid: number; pidns: number }): Promise<void> {
    const scan = await scanProcfs(this.procRoot, { envs: this.withEnvs });
    this.reader.snapshotVanished += scan.vanished;
    this.reader.snapshotKernelThreads += scan.kernelThreads;
    const byPid = new Map(scan.processes.map((p) => [p.pid, p]));
    for (const p of scan.processes) {
      const key = keyOf(p, byPid);
      if (this.insertProcfsProcess(p, key, SOURCE_SNAPSHOT) >= 0) this.reader.snapshotProcesses++;
    }
  }

  /** /proc fallback for one pid, rate-limited per pid. Returns the row or -1. */
  private insertFromProcfs(pid: number, pidns: number): number {
    const key = `${pidns}:${pid}`;
    const now = Date.now();
    const last = this.lastFallback.get(key);
    if (last !== undefined && now - last < this.fallbackIntervalMs) {
      this.reader.procfsRateLimited++;
      return -1;
    }
    if (this.lastFallback.size >= FALLBACK_MEMORY) {
      for (const [k, at] of this.lastFallback) if (now - at >= this.fallbackIntervalMs) this.lastFallback.delete(k);
      if (this.lastFallback.size >= FALLBACK_MEMORY) this.lastFallback.clear();
    }
    this.lastFallback.set(key, now);
    this.reader.procfsAttempts++;
    // pid namespaces other than the host's are not visible by pid in our /proc
    const p = pidns === 0 ? readProcess(this.procRoot, pid, { envs: this.withEnvs }) : undefined;
    if (p && !p.kernelThread) this.insertAncestorsFromProcfs(p.ppid);
    const row = p && !p.kernelThread ? this.insertProcfsProcess(p, { pid, ppid: p.ppid, pidns }, SOURCE_PROCFS) : -1;
    if (row >= 0) this.reader.procfsSuccess++;
    else this.reader.procfsFailed++;
    return row;
  }

  /**
   * The ancestors of a process read from /proc that the cache misses, from
   * `ppid` up to the first one cached (or pid 1's parent, a kernel thread,
   * a vanished process), at most procfsMaxDepth of them; inserted oldest
   * first so that each links to its parent (the seed's ResolveFromProcfs
   * with its maximum depth). Host pid namespace only.
   */
  private insertAncestorsFromProcfs(ppid: number): void {
    const missing: ProcfsProcess[] = [];
    for (let at = ppid; at > 0 && missing.length < this.procfsMaxDepth && this.table.lookup(at, 0) < 0; ) {
      const q = readProcess(this.procRoot, at, { envs: this.withEnvs });
      if (!q || q.kernelThread || missing.some((m) => m.pid === q.pid)) break;
      missing.push(q);
      at = q.ppid;
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      const q = missing[i]!;
      this.insertProcfsProcess(q, { pid: q.pid, ppid: q.ppid, pidns: 0 }, SOURCE_PROCFS);
    }
  }

  private insertProcfsProcess(p: ProcfsProcess, key: { pid: number; ppid: number; pidns: number }, source: number): number {
    const ev = procfsExecInput(p, p.startTime, key.pid, key.ppid);
    this.encoder.exec(ev, key.pidns, this.execArgs);
    if (p.symlinkPath) this.attachSymlink(utf8Bytes(p.symlinkPath), ev.path);
    this.execArgs.source = source;
    return applyProcfsEntry(this.table, this.execArgs);
  }

  /**
   * Stores the path as invoked with the image (docs/cache.md, "Symlinks"):
   * in the interpreter string, after a NUL (no path holds one), so that it
   * costs no column and goes wherever the image goes (inherited by a fork,
   * replaced by an exec). Nothing when it is the path itself.
   */
  private attachSymlink(symlink: Uint8Array, path: ByteString): void {
    if (symlink.length === 0 || bytesEqual(symlink, typeof path === 'string' ? utf8Bytes(path) : path)) return;
    const a = this.execArgs;
    const s = this.table.strings;
    const interpLen = a.interpId > 0 ? s.length[a.interpId]! : 0;
    const len = Math.min(interpLen + 1 + symlink.length, MAX_STRING_BYTES);
    const buf = new Uint8Array(len);
    if (interpLen > 0) buf.set(s.arena.subarray(s.offset[a.interpId]!, s.offset[a.interpId]! + interpLen));
    buf[interpLen] = 0;
    buf.set(symlink.subarray(0, len - interpLen - 1), interpLen + 1);
    const id = this.table.intern(buf, new DataView(buf.buffer), 0, len);
    s.decref(a.interpId);
    a.interpId = id;
  }

  private ttyFromProcfs(pid: number): string {
    try {
      const stat = parseStatLine(readFileSync(join(this.procRoot, String(pid), 'stat'), 'latin1'));
      return stat ? parseTtyNr(stat.ttyNr) : '';
    } catch {
      return ''; // gone or unreadable: no tty rather than a failed exec
    }
  }
}

export const UID_FIELDS: readonly (keyof Credentials)[] = ['uid', 'euid', 'fsuid'];
export const GID_FIELDS: readonly (keyof Credentials)[] = ['gid', 'egid', 'fsgid'];

function positiveInt(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new TypeError(`option ${name} must be a positive integer`);
  return v;
}

function boundedInt(name: string, v: unknown, dflt: number, max: number): number {
  const n = positiveInt(name, v, dflt);
  if (n > max) throw new RangeError(`option ${name} must be at most ${max}, got ${n}`);
  return n;
}

function stringList(name: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new TypeError(`option ${name} must be an array of strings`);
  return v as string[];
}

const textEncoder = new TextEncoder();

function utf8Bytes(s: string): Uint8Array {
  return textEncoder.encode(s);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The exec's symlinkPath as bytes (undefined when not given); checked before anything is interned. */
function checkSymlink(ev: ExecInput): Uint8Array | undefined {
  if (typeof ev !== 'object' || ev === null) return undefined; // the encoder reports it
  const v = ev.symlinkPath;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw new TypeError(`exec.symlinkPath must be a string or a Uint8Array, got ${typeof v}`);
  const bytes = typeof v === 'string' ? utf8Bytes(v) : v;
  if (bytes.includes(0)) throw new TypeError('exec.symlinkPath contains a NUL byte, which no path can hold');
  return bytes;
}
