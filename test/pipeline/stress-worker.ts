// Self-checking process churn and the reader threads of the torn-read stress
// test (torn-reads.test.ts; docs/architecture.md invariant 4).
//
// The stream: every field of a row is derived from a few numbers, so a row
// whose fields come from two different writes, or a link followed into a
// shard that is behind, is detectable by the reader alone:
// - every event's time is (step << 16) | pid: the low 16 bits of any fork,
//   exec or exit time name the pid it happened to;
// - an image (what an exec installs, and a fork inherits) is named by its
//   exec time T: its inode is Number(T), its owner (the pid that exec'd it)
//   is T & 0xffff, and path, comm, argv and uid are functions of (owner, T);
//   argv ends with a checksum of the other fields it repeats;
// - forks carry the parent's image in full, as the kernel would; no exec
//   repeats an image (no exec bombs), no rename or credential change, no
//   reparent: so a child's image is its parent's image at fork time, an exec
//   ancestor's exit time is the child's exec time, and every chain ends at
//   pid 1, forked by the kernel (ppid 0).

import { Worker } from 'node:worker_threads';
import type { StreamEvent } from '../../src/record/events.js';
import { MAX_RECORD_SIZE } from '../../src/record/constants.js';
import { encodeEvent } from '../../src/record/encode.js';
import type { RecordChunk, RecordSource } from '../../src/pipeline/source.js';
import type { PipelineHandles } from '../../src/cache/shards.js';
import { distModuleUrl } from '../ring/ring-worker.js';

// ---------------------------------------------------------------------------
// Derived image fields (the same formulas are in CHECK_JS for the workers)

export function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function ownerOf(T: bigint): number {
  return Number(T & 0xffffn);
}

export function uidOf(T: bigint): number {
  return 1000 + Number(T % 50000n);
}

export function pathOf(T: bigint): string {
  return `/chk/${ownerOf(T)}/${T}`;
}

export function commOf(T: bigint): string {
  return String(T).slice(-15);
}

export function argvOf(T: bigint): string[] {
  const head = ['chk', String(ownerOf(T)), String(T), pathOf(T), String(uidOf(T))];
  return [...head, String(fnv(head.join('\u0001')))];
}

function credentialsOf(T: bigint) {
  const uid = uidOf(T);
  return { uid, gid: uid + 1, euid: uid, egid: uid + 1, fsuid: uid, fsgid: uid + 1, auid: uid, capEffective: 0n, capPermitted: 0n };
}

function image(T: bigint) {
  return { inode: Number(T), path: pathOf(T), comm: commOf(T), argv: argvOf(T), credentials: credentialsOf(T) };
}

// ---------------------------------------------------------------------------
// The stream

export interface ChkStreamOptions {
  seed: number;
  /** Events to emit (flushes included). */
  events: number;
  /** Pids are in [300, pidMax) as the kernel allocates them (pid 1 is init, 2 kthreadd). Must be <= 65536. */
  pidMax: number;
  /** Live processes aimed at: above it forks turn into exits. */
  maxLive: number;
  /** Deepest fork depth (init is 0). */
  maxDepth: number;
  /** Execs per process instance at most. */
  maxExecs: number;
  /** A flush every this many events. */
  flushEvery: number;
}

interface Proc {
  pid: number;
  depth: number;
  execs: number;
  /** Exec time of the current image. */
  T: bigint;
  at: number; // index in `live`
}

/** The kernel wraps pid allocation back to 300 (RESERVED_PIDS); pid 2 is kthreadd, whose children the cache rejects. */
const FIRST_PID = 300;

const FORK = 0;
const EXEC = 1;
const EXIT = 2;

/** xorshift32 */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

export interface ChkCounts {
  forks: number;
  execs: number;
  exits: number;
  flushes: number;
  pidReuses: number;
}

/** The self-checking stream. `counts` (if given) is filled as events are emitted. */
export function* chkEvents(o: ChkStreamOptions, counts?: ChkCounts): Generator<StreamEvent> {
  if (o.pidMax > 65536) throw new RangeError('pidMax must fit the 16 low bits of a time');
  const rand = rng(o.seed);
  const procs = new Map<number, Proc>();
  const live: Proc[] = [];
  const everUsed = new Set<number>();
  let step = 1n;
  let nextPid = FIRST_PID;
  const time = (pid: number) => (step++ << 16n) | BigInt(pid);
  const c = counts ?? { forks: 0, execs: 0, exits: 0, flushes: 0, pidReuses: 0 };

  const add = (p: Proc) => {
    p.at = live.length;
    live.push(p);
    procs.set(p.pid, p);
  };
  const remove = (p: Proc) => {
    const last = live.pop()!;
    if (last !== p) {
      live[p.at] = last;
      last.at = p.at;
    }
    procs.delete(p.pid);
  };

  // init: forked by the kernel, with an image of its own
  const initFork = time(1);
  const init: Proc = { pid: 1, depth: 0, execs: 0, T: initFork, at: 0 };
  add(init);
  yield { type: 'fork', cpu: 0, pid: 1, ppid: 0, pidns: 0, time: initFork, execTime: initFork, ...image(initFork) };
  let emitted = 1;
  while (emitted < o.events) {
    if (emitted % o.flushEvery === 0) {
      c.flushes++;
      emitted++;
      yield { type: 'flush', cpu: 0, time: time(0) };
      continue;
    }
    const r = rand(100);
    const op = r < 45 ? (live.length < o.maxLive ? FORK : EXIT) : r < 65 ? EXEC : EXIT;
    if (op === FORK) {
      // a parent below the depth limit (init when a few tries find none)
      let parent = live[rand(live.length)]!;
      for (let tries = 0; parent.depth >= o.maxDepth; tries++) parent = tries < 3 ? live[rand(live.length)]! : init;
      let pid = nextPid;
      while (procs.has(pid)) pid = pid + 1 >= o.pidMax ? FIRST_PID : pid + 1;
      nextPid = pid + 1 >= o.pidMax ? FIRST_PID : pid + 1;
      if (everUsed.has(pid)) c.pidReuses++;
      everUsed.add(pid);
      const child: Proc = { pid, depth: parent.depth + 1, execs: 0, T: parent.T, at: 0 };
      add(child);
      c.forks++;
      emitted++;
      yield { type: 'fork', cpu: 0, pid, ppid: parent.pid, pidns: 0, time: time(pid), execTime: parent.T, ...image(parent.T) };
    } else if (op === EXEC) {
      const p = live[rand(live.length)]!;
      if (p.execs >= o.maxExecs) continue;
      const prevInode = Number(p.T);
      const T = time(p.pid);
      p.T = T;
      p.execs++;
      c.execs++;
      emitted++;
      yield { type: 'exec', cpu: 0, pid: p.pid, ppid: -1, pidns: 0, time: T, prevInode, ...image(T) };
    } else {
      if (live.length <= 1) continue;
      const p = live[rand(live.length)]!;
      if (p.pid === 1) continue;
      remove(p);
      c.exits++;
      emitted++;
      yield { type: 'exit', cpu: 0, pid: p.pid, pidns: 0, time: time(p.pid), exitCode: p.pid & 0xff };
    }
  }
}

const CHUNK_BYTES = 1 << 18;


/** The stream as a record source, encoded while the router reads it. */
export class ChkSource implements RecordSource {
  readonly name = 'chk';
  readonly replayable = true;
  readonly counts: ChkCounts = { forks: 0, execs: 0, exits: 0, flushes: 0, pidReuses: 0 };

  constructor(readonly options: ChkStreamOptions) {}

  async *chunks(): AsyncIterable<RecordChunk> {
    let buf = new Uint8Array(CHUNK_BYTES + MAX_RECORD_SIZE);
    let at = 0;
    let streamOffset = 0;
    for (const ev of chkEvents(this.options, this.counts)) {
      at += encodeEvent(ev, buf, at);
      if (at >= CHUNK_BYTES) {
        yield { bytes: buf.subarray(0, at), streamOffset };
        streamOffset += at;
        buf = new Uint8Array(CHUNK_BYTES + MAX_RECORD_SIZE);
        at = 0;
      }
    }
    if (at > 0) yield { bytes: buf.subarray(0, at), streamOffset };
  }
}

// ---------------------------------------------------------------------------
// Reader threads

/** Phases of a stress run, in the shared word `phase`: readers measure each running phase apart. */
export const PHASE_WAIT = 0;
/** Writers are applying. */
export const PHASE_WRITING = 1;
/** Writers are done: the same reads on a quiet table, for comparison. */
export const PHASE_QUIET = 2;
export const PHASE_STOP = 3;

export interface StressReaderData {
  handles: PipelineHandles;
  /** Int32Array word 0: the phase (PHASE_*). */
  phase: SharedArrayBuffer;
  seed: number;
  /** Pids looked up: uniform in [pidLo, pidHi), and pid 1 now and then. */
  pidLo: number;
  pidHi: number;
  /** Every n-th cursor row also has its strings and credentials checked (0: never). */
  stringEvery: number;
  /** Every n-th lookup goes through ProcessView.resolve() instead of a cursor (0: never). */
  objectEvery: number;
  /** Every n-th block of lookups is a block of 256 unchecked cursor walks, timed apart (0: never). */
  bareEvery: number;
  /**
   * Every n-th block of lookups is a scan block instead (0: never): rows read
   * by number with Cursor.load() and checked if in use — 16 random rows, then
   * a watch of the free-list head, where each row a writer takes is read 64
   * times at once, while it is being filled.
   */
  scanEvery: number;
  /** ViewOptions.linkWaitMs. */
  linkWaitMs?: number;
}

export interface PhaseCounts {
  ms: number;
  /** Cursor lookups (seek), found or not, and those found. */
  seeks: number;
  found: number;
  /** Rows read and checked by the cursor walks (the sought row and every ancestor). */
  rows: number;
  /** Walks that reached pid 1 (a complete chain). */
  complete: number;
  /** Walks given up because a row changed under the reader (up() reported stale). */
  stale: number;
  /**
   * Of those, walks where up() reported parentUnresolved although the child
   * row had changed during the lookup (its parent was released with it).
   */
  unresolvedButStale: number;
  /** Rows whose strings were checked, and string checks dropped because the row changed meanwhile. */
  stringChecks: number;
  stringRaced: number;
  /** resolve() calls, entries returned, and entries checked along their chains. */
  resolves: number;
  resolved: number;
  entries: number;
  /** Rows whose fields do not belong together, read by seek/up/resolve. */
  torn: number;
  /** The same, in rows read by number (Cursor.load) in the scan blocks. */
  scanTorn: number;
  /** Links that lead somewhere impossible: wrong parent, a chain cut short, a loop, an unresolved remote parent. */
  impossible: number;
  /** Cursor retries (a writer was in the row or the index). */
  retries: number;
  /**
   * Walks that stopped at a link whose shard had not applied it yet (the
   * chain returned as far as it goes, marked lineageIncomplete): allowed,
   * counted (ProcessView.lineageIncomplete).
   */
  incomplete: number;
  /** Longest Cursor.up() across shards (ms): a reader spins microseconds for a lagging shard, never sleeps. */
  maxUpMs: number;
  /** Unchecked walks (bareEvery): time (not in `ms`), lookups, rows. */
  bareMs: number;
  bareSeeks: number;
  bareRows: number;
  /** Rows read by number in scan blocks, and those in use (checked). */
  scanned: number;
  scannedUsed: number;
}

export interface StressReaderResult {
  writing: PhaseCounts;
  quiet: PhaseCounts;
  /** The first few failures, described. */
  samples: string[];
}

/**
 * The reader loop, as JavaScript for an inline worker (its formulas are the
 * stream's above). `viewMod`, `tableMod` and `shardsMod` are the dist modules
 * of cache/view, cache/table and cache/shards.
 */
const READER_JS = String.raw`
const { ProcessView } = viewMod;
const { shardOf } = shardsMod;
const { F_IS_EXEC, F_USED, F_REMOTE_PARENT } = tableMod;
const d = workerData;
const phase = new Int32Array(d.phase);
const view = new ProcessView(d.handles, d.linkWaitMs === undefined ? {} : { linkWaitMs: d.linkWaitMs });
const control = view.control;
const c = view.cursor();
const samples = [];
const MAX_STEPS = 100000;

function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
const uidOf = (T) => 1000 + Number(T % 50000n);
const pathOf = (T) => '/chk/' + Number(T & 0xffffn) + '/' + T;
function argvOk(argv, T) {
  const head = ['chk', String(Number(T & 0xffffn)), String(T), pathOf(T), String(uidOf(T))];
  if (argv.length !== 6) return false;
  for (let i = 0; i < 5; i++) if (argv[i] !== head[i]) return false;
  return argv[5] === String(fnv(head.join('\u0001')));
}

function newCounts() {
  return { ms: 0, seeks: 0, found: 0, rows: 0, complete: 0, stale: 0, stringChecks: 0, stringRaced: 0, resolves: 0,
    resolved: 0, entries: 0, torn: 0, scanTorn: 0, impossible: 0, retries: 0, incomplete: 0, maxUpMs: 0, bareMs: 0, bareSeeks: 0, bareRows: 0, scanned: 0, scannedUsed: 0, unresolvedButStale: 0 };
}
let n = newCounts();
function fail(kind, what) {
  n[kind]++;
  if (samples.length < 12) samples.push(kind + ': ' + what);
}

// Fields of one row that must agree (pid, times, image). Returns '' or what is wrong.
function rowProblem(pid, flags, f, x, e, inode, exitCode) {
  if ((flags & F_USED) === 0) return 'row not in use';
  if (pid <= 0 || Number(f & 0xffffn) !== pid) return 'forkTime ' + f + ' is not an event of pid ' + pid;
  if (inode !== Number(x)) return 'inode ' + inode + ' is not the image of execTime ' + x;
  const isExec = (flags & F_IS_EXEC) !== 0;
  if (isExec !== (x > f)) return 'isExec ' + isExec + ' with forkTime ' + f + ' execTime ' + x;
  if (isExec && Number(x & 0xffffn) !== pid) return 'exec image ' + x + ' not exec by pid ' + pid;
  if (e !== 0n && (Number(e & 0xffffn) !== pid || e <= f || e <= x)) return 'exitTime ' + e + ' (fork ' + f + ', exec ' + x + ') for pid ' + pid;
  if (exitCode !== 0 && exitCode !== (pid & 0xff)) return 'exitCode ' + exitCode + ' of pid ' + pid;
  return '';
}

// The link from a row (child) to its ancestor (parent). Returns '' or what is wrong.
function linkProblem(cpid, cppid, cflags, cf, cx, cinode, ppid, pppid, pf, px, pe, pinode) {
  if ((cflags & F_IS_EXEC) !== 0) {
    // previous image of the same process
    if (ppid !== cpid || pf !== cf || pppid !== cppid) return 'exec ancestor ' + ppid + '/' + pf + ' of ' + cpid + '/' + cf;
    if (pe !== cx) return 'exec ancestor exitTime ' + pe + ' != execTime ' + cx + ' of pid ' + cpid;
    if (px >= cx) return 'exec ancestor execTime ' + px + ' not before ' + cx;
    return '';
  }
  // fork parent, as it was at fork time: the image the child inherited
  if (ppid !== cppid) return 'parent pid ' + ppid + ' != ppid ' + cppid + ' of pid ' + cpid;
  if (pf >= cf) return 'parent ' + ppid + ' forked at ' + pf + ', not before its child ' + cpid + ' (' + cf + ')';
  if (pinode !== cinode || px !== cx) return 'parent ' + ppid + ' image ' + px + ' != image ' + cx + ' inherited by ' + cpid;
  if (pe !== 0n && pe <= cf) return 'parent ' + ppid + ' ended at ' + pe + ' before the fork of ' + cpid + ' at ' + cf;
  return '';
}

function stringsOf(t, row, seq, pathId, commId, argvId, credsId) {
  const path = t.strings.decode(pathId);
  const comm = t.strings.decode(commId);
  const argv = t.strings.decodeList(argvId);
  const uid = t.creds.word(credsId, 0);
  // the ids are the row's only while the row is unchanged
  if (Atomics.load(t.seq, row) !== seq) return undefined;
  return { path, comm, argv, uid };
}

function imageProblem(s, x) {
  if (s.path !== pathOf(x)) return 'path ' + JSON.stringify(s.path) + ' for image ' + x;
  if (s.comm !== String(x).slice(-15)) return 'comm ' + JSON.stringify(s.comm) + ' for image ' + x;
  if (!argvOk(s.argv, x)) return 'argv ' + JSON.stringify(s.argv) + ' for image ' + x;
  if (s.uid !== uidOf(x)) return 'uid ' + s.uid + ' for image ' + x;
  return '';
}

let rowCount = 0;
function cursorWalk(pid) {
  n.seeks++;
  if (!c.seek(pid)) return;
  n.found++;
  for (let steps = 0; ; steps++) {
    n.rows++;
    const cshard = c.shard, crow = c.row, cseq = c.seq;
    const cpid = c.pid, cppid = c.ppid, cflags = c.flags, cf = c.forkTime, cx = c.execTime, cinode = c.inode;
    const p = rowProblem(cpid, cflags, cf, cx, c.exitTime, cinode, c.exitCode);
    if (p !== '') return fail('torn', p);
    if (d.stringEvery > 0 && ++rowCount % d.stringEvery === 0) {
      const s = stringsOf(view.tables[cshard], crow, cseq, c.pathId, c.commId, c.argvId, c.credsId);
      if (s === undefined) n.stringRaced++;
      else {
        n.stringChecks++;
        const q = imageProblem(s, cx);
        if (q !== '') return fail('torn', 'pid ' + cpid + ': ' + q);
      }
    }
    // a link into another shard: followed once that shard has applied it, else the chain stops here for now
    const remote = control !== undefined && (cflags & F_REMOTE_PARENT) !== 0;
    const pshard = remote ? shardOf(cppid, 0, view.tables.length) : -1;
    const t0 = remote ? performance.now() : 0;
    const ok = c.up();
    if (remote) {
      const ms = performance.now() - t0;
      if (ms > n.maxUpMs) n.maxUpMs = ms;
    }
    if (!ok) {
      if (c.stale) {
        n.stale++;
        return;
      }
      if (c.lineageIncomplete) return; // counted by the view (lineageIncomplete)
      if (c.parentUnresolved) {
        // the child may have been freed while its remote parent was looked up:
        // that is a stale walk (up() reports it as an unresolved parent)
        if (Atomics.load(view.tables[cshard].seq, crow) !== cseq) {
          n.stale++;
          n.unresolvedButStale++;
          return;
        }
        // the parent's shard had applied the link: the parent must be there
        return fail('impossible', 'remote parent ' + cppid + ' of pid ' + cpid + ' (fork ' + cf + ') not found in shard ' + pshard +
          ' (control block now: ' + Array.from(control.words, String).join(' ') + ' / ' + Array.from(control.low, String).join(' ') + ')');
      }
      if (cpid === 1 && cppid === 0 && (cflags & F_IS_EXEC) === 0) n.complete++;
      else fail('impossible', 'chain ends at pid ' + cpid + ' ppid ' + cppid + ' flags ' + cflags);
      return;
    }
    if (steps > MAX_STEPS) return fail('impossible', 'chain of pid ' + pid + ' longer than ' + MAX_STEPS + ' (a loop)');
    const l = linkProblem(cpid, cppid, cflags, cf, cx, cinode, c.pid, c.ppid, c.forkTime, c.execTime, c.exitTime, c.inode);
    if (l !== '') return fail('impossible', l);
  }
}

// A row picked at random, in use or not, perhaps being written this very
// moment: if the read says it is in use, its fields must belong together.
function scanRow(shard, row, withStrings) {
  n.scanned++;
  if (!c.load(shard, row) || (c.flags & F_USED) === 0) return;
  n.scannedUsed++;
  const p = rowProblem(c.pid, c.flags, c.forkTime, c.execTime, c.exitTime, c.inode, c.exitCode);
  if (p !== '') return fail('scanTorn', 'shard ' + shard + ' row ' + row + ' (seq ' + c.seq + '): ' + p);
  if (!withStrings) return;
  const s = stringsOf(view.tables[shard], row, c.seq, c.pathId, c.commId, c.argvId, c.credsId);
  if (s === undefined) return;
  const q = imageProblem(s, c.execTime);
  if (q !== '') return fail('scanTorn', 'shard ' + shard + ' row ' + row + ' (pid ' + c.pid + ', flags ' + c.flags + '): ' + q);
}

// The same lookups with no checks: the reader API's own rate.
function bareWalk(pid) {
  n.bareSeeks++;
  if (!c.seek(pid)) return;
  n.bareRows++;
  while (c.up()) n.bareRows++;
}

function objectWalk(pid) {
  n.resolves++;
  const top = view.resolve(pid);
  if (top === undefined) return;
  n.resolved++;
  let steps = 0;
  for (let e = top; e !== undefined; e = e.ancestor) {
    n.entries++;
    if (++steps > MAX_STEPS) return fail('impossible', 'entry chain of pid ' + pid + ' loops');
    const flags = F_USED | (e.isExec ? F_IS_EXEC : 0);
    const p = rowProblem(e.pid, flags, e.forkTime, e.execTime, e.exitTime, e.inode, e.exitCode);
    if (p !== '') return fail('torn', 'entry: ' + p);
    const q = imageProblem({ path: e.path, comm: e.comm, argv: e.argv, uid: e.credentials.uid }, e.execTime);
    if (q !== '') return fail('torn', 'entry of pid ' + e.pid + ': ' + q);
    if (e.isParentMissing) return fail('impossible', 'entry of pid ' + e.pid + ' (fork ' + e.forkTime + ') has its parent missing');
    const a = e.ancestor;
    if (a === undefined && e.lineageIncomplete) return; // as far as it goes for now (counted by the view)
    if (a === undefined) {
      if (!(e.pid === 1 && e.ppid === 0 && !e.isExec)) fail('impossible', 'entry chain ends at pid ' + e.pid + ' ppid ' + e.ppid);
      return;
    }
    const l = linkProblem(e.pid, e.ppid, flags, e.forkTime, e.execTime, e.inode, a.pid, a.ppid, a.forkTime, a.execTime, a.exitTime, a.inode);
    if (l !== '') return fail('impossible', 'entry: ' + l);
  }
}

let s = d.seed >>> 0 || 1;
function rand(k) {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) % k;
}

function run(which) {
  n = newCounts();
  const retries0 = c.retries;
  const incomplete0 = view.lineageIncomplete;
  const t0 = performance.now();
  const span = d.pidHi - d.pidLo;
  for (let i = 1; Atomics.load(phase, 0) === which; i++) {
    if (d.scanEvery > 0 && i % d.scanEvery === 0) {
      const shard = rand(view.tables.length);
      const t = view.tables[shard];
      // any row below the never-used mark (meta word 1)
      for (let j = 0; j < 16; j++) scanRow(shard, rand(Math.max(1, Math.min(t.capacity, Atomics.load(t.meta, 1)))), true);
      // the head of the free list (meta word 0) is the next row a fork or
      // exec takes: watch it, and read the row it was as soon as it is taken
      let last = Atomics.load(t.meta, 0);
      for (let j = 0; j < 2048; j++) {
        const head = Atomics.load(t.meta, 0);
        if (head === last) continue;
        if (last >= 0 && last < t.capacity) for (let k = 0; k < 64; k++) scanRow(shard, last, false);
        last = head;
      }
      continue;
    }
    if (d.bareEvery > 0 && i % d.bareEvery === 0) {
      const b0 = performance.now();
      for (let j = 0; j < 256; j++) bareWalk(d.pidLo + rand(span));
      n.bareMs += performance.now() - b0;
      continue;
    }
    for (let j = 0; j < 64; j++) {
      const pid = (i & 255) === 0 && j === 0 ? 1 : d.pidLo + rand(span);
      if (d.objectEvery > 0 && (i * 64 + j) % d.objectEvery === 0) objectWalk(pid);
      else cursorWalk(pid);
    }
  }
  n.ms = performance.now() - t0 - n.bareMs;
  n.retries = c.retries - retries0;
  n.incomplete = view.lineageIncomplete - incomplete0;
  return n;
}

ready();
while (Atomics.load(phase, 0) === ${PHASE_WAIT}) Atomics.wait(phase, 0, ${PHASE_WAIT}, 50);
const writing = run(${PHASE_WRITING});
while (Atomics.load(phase, 0) < ${PHASE_QUIET}) Atomics.wait(phase, 0, Atomics.load(phase, 0), 50);
const quiet = Atomics.load(phase, 0) === ${PHASE_QUIET} ? run(${PHASE_QUIET}) : newCounts();
return { writing, quiet, samples };
`;

export interface StressReader {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly result: Promise<StressReaderResult>;
}

/** Starts a reader thread running READER_JS over the compiled view (run `npm run build` first). */
export function startStressReader(data: StressReaderData): StressReader {
  const viewUrl = distModuleUrl('cache/view');
  const tableUrl = distModuleUrl('cache/table');
  const shardsUrl = distModuleUrl('cache/shards');
  const code = `
const { parentPort, workerData } = require('node:worker_threads');
function ready() { parentPort.postMessage({ kind: 'ready' }); }
Promise.all([import(${JSON.stringify(viewUrl)}), import(${JSON.stringify(tableUrl)}), import(${JSON.stringify(shardsUrl)})])
  .then(([viewMod, tableMod, shardsMod]) => {
    const value = (() => {
${READER_JS}
    })();
    parentPort.postMessage({ kind: 'result', value });
  })
  .catch((e) => parentPort.postMessage({ kind: 'error', message: String((e && e.stack) || e) }));
`;
  const worker = new Worker(code, { eval: true, workerData: data });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<StressReaderResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: { kind: string; value?: StressReaderResult; message?: string }) => {
      if (m.kind === 'ready') onReady();
      else if (m.kind === 'result') {
        settled = true;
        resolve(m.value!);
      } else if (m.kind === 'error') {
        settled = true;
        reject(new Error(`stress reader failed: ${m.message}`));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`stress reader exited with code ${code} before returning`));
    });
  });
  result.catch(() => onReady());
  return { worker, ready, result };
}
