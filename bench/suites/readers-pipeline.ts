// Readers on a reader thread: resolve + walk of the whole ancestor chain per
// second, on a worker thread of its own reading a 2-shard pipeline's tables
// through ProcessView (the lock-free reader protocol), while the pipeline
// applies the standard mix at full speed, and after it is done (idle
// writers). Baseline: the naive resolver's lookup + walk on the same final
// state, on this thread.
//
// Threads: a writer thread hosts the pipeline (createPipeline: its router,
// and its two shard worker threads) and replays the stream pass after pass
// (lib/pass-source.ts: each pass with other pids and later times); a reader
// thread runs the lookups on command; this thread times each batch (it
// wakes the reader and sleeps until the reader is done). That is four busy
// threads on a 2-core machine while writing: each case also reports the
// reader's rate per second of its own CPU time, the rate it would have with
// a core to itself.
//
// The pids looked up are the running processes at the end of the stream,
// drawn at random (as in the readers suite); in the pipeline, those of pass
// P-2 while pass P is routed (wholly applied: a ring holds far less than a
// pass), so their rows are final while the writers churn newer passes in the
// same tables (same index and its version, same row versions, links between
// the two shards).
//
// Cases:
// - cursor-applying: Cursor.seek(pid) + up() to the top, the allocation-free
//   API, while the writers apply;
// - object-applying: ProcessView.resolve(pid) and its .ancestor chain (a
//   ProcessEntry per row), while the writers apply;
// - cursor-idle: Cursor.seek + up() once the pipeline is done, with the
//   default ProcessView.
// The two cases while applying are gated only on a machine with 4 cores or
// more (writer's router, two shard workers, reader): on 2 cores their rounds
// vary by ±30-55% with the scheduler and the gate could only call them
// noisy.
//
// While the writers apply, the reader's ProcessView has linkWaitMs 0: it
// follows a link into the other shard without waiting for that shard to
// catch up. With the default options, each such step waits until the
// parent's shard has applied everything dispatched to it when the link was
// read (ProcessView.waitCaughtUp): the shard's whole ring backlog, several
// ms while the writers are busy, on most walks. That figure is measured once
// per run, untimed, for a fixed time (DEFAULT_VIEW_MS), and shown in the
// info line of cursor-applying (defaultViewLookupsPerSec); as a case it
// would take minutes. The rows read here are final long before (two passes),
// so both views return the same chains.
//
// The writer and reader threads run this same compiled file: started with a
// `benchWorker` in workerData, the module does that thread's work instead of
// being a suite.

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { shardOf, type PipelineHandles } from '../../src/cache/shards.js';
import { ProcessView } from '../../src/cache/view.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import { NaiveResolver } from '../naive-resolver.js';
import { applyOpsNaive, toOps } from '../lib/ops.js';
import { PassSource, PassWord, PAUSE, RUN, STOP } from '../lib/pass-source.js';
import { BENCH_RETENTION, prng } from '../lib/populate.js';
import { chunkRanges, PASS_PID_STRIDE, type EncodedStream, encodeStream } from '../lib/records.js';
import { median } from '../lib/stats.js';
import { modeStream } from '../lib/stream.js';
import type { BenchCase, BenchSuite } from '../lib/suite.js';
import { selfThreadId, threadTime } from '../lib/threads.js';

const SHARDS = 2;
/** Rows per shard: each pass leaves ~1.5k rows (its running processes and their ancestors). */
const CAPACITY = 1 << 18;
/** Records per chunk the writer's source yields (its pause/stop granularity). */
const WRITER_CHUNK = 10_000;
/** Lookups per batch (object API: ~15x slower per lookup). */
const LOOKUPS = { cursor: 20_000, object: 2_000 } as const;
/** How long the diagnostic run with the default link wait lasts (see cursor-applying). */
const DEFAULT_VIEW_MS = { quick: 300, full: 2000 } as const;

// Reader command block (Int32Array words).
const R_GO = 0; // generation, bumped by the main thread to start a batch
const R_DONE = 1; // generation, set by the reader when the batch is done
const R_MODE = 2; // MODE_CURSOR | MODE_OBJECT
const R_COUNT = 3; // lookups in the batch
const R_PID_BASE = 4; // added to every pid (the pass's pid offset)
const R_STEPS = 5; // out: rows visited (chain lengths summed)
const R_MISSES = 6; // out: pids not found
const R_VIEW = 10; // VIEW_DEFAULT | VIEW_NO_WAIT
const R_TIMEBOX_MS = 11; // > 0: look up until this many ms have passed, count in R_DONE_LOOKUPS
const R_DONE_LOOKUPS = 12; // out: lookups done
const R_FOUND_AGAIN = 13; // out, cumulative: cursor misses found by an immediate second seek
const R_MISS_INDEX_BUSY = 14; // out, cumulative: cursor misses seen while the index version was odd
// out, per view v, cumulative: at R_COUNTERS + 4v + one of these
const R_COUNTERS = 16;
const C_STALE = 0; // walks started again because a row changed under the reader
const C_LINKS = 1; // view.lineageIncomplete
const C_RETRIES = 2; // cursor read retries
const R_WORDS = 32;
const MODE_CURSOR = 0;
const MODE_OBJECT = 1;
/** ProcessView with its default options: a link into another shard waits (up to 50 ms) until that shard caught up. */
const VIEW_DEFAULT = 0;
/** ProcessView with linkWaitMs 0: links are followed without waiting. */
const VIEW_NO_WAIT = 1;

interface WriterData {
  benchWorker: 'writer';
  bytes: SharedArrayBuffer;
  enc: Omit<EncodedStream, 'bytes'>;
  shared: SharedArrayBuffer;
}

interface ReaderData {
  benchWorker: 'reader';
  handles: PipelineHandles;
  pids: Int32Array;
  command: SharedArrayBuffer;
}

// ------------------------------------------------------------------ writer thread

async function writerThread(d: WriterData): Promise<void> {
  const enc: EncodedStream = { ...d.enc, bytes: new Uint8Array(d.bytes) };
  const shared = new Int32Array(d.shared);
  const source = new PassSource(enc, chunkRanges(enc, WRITER_CHUNK), shared);
  source.run();
  const pipeline = createPipeline({ source, shards: SHARDS, capacity: CAPACITY, exitedRetention: BENCH_RETENTION });
  pipeline.start();
  parentPort!.postMessage({ type: 'handles', handles: pipeline.handles });
  const summary = await pipeline.done();
  const st = pipeline.stats();
  parentPort!.postMessage({
    type: 'done',
    passes: Atomics.load(shared, PassWord.PASS) + 1,
    applied: summary.applied,
    tableFull: summary.dropped.tableFull,
    rows: summary.rows,
    links: st.router.links,
  });
}

// ------------------------------------------------------------------ reader thread

function readerThread(d: ReaderData): void {
  const cmd = new Int32Array(d.command);
  const views = [new ProcessView(d.handles), new ProcessView(d.handles, { linkWaitMs: 0 })];
  const cursors = views.map((v) => v.cursor());
  const pids = d.pids;
  const stale = [0, 0];
  parentPort!.postMessage({ type: 'ready', tid: selfThreadId() });
  for (let gen = 0; ; ) {
    Atomics.wait(cmd, R_GO, gen);
    gen = Atomics.load(cmd, R_GO);
    if (gen < 0) return;
    const v = cmd[R_VIEW]!;
    const view = views[v]!;
    const c = cursors[v]!;
    const timebox = cmd[R_TIMEBOX_MS]!;
    const deadline = performance.now() + timebox;
    const n = timebox > 0 ? 0x7fffffff : cmd[R_COUNT]!;
    const base = cmd[R_PID_BASE]!;
    let steps = 0;
    let misses = 0;
    let i = 0;
    if (cmd[R_MODE] === MODE_CURSOR) {
      for (; i < n; i++) {
        if (timebox > 0 && performance.now() > deadline) break;
        const pid = pids[i % pids.length]! + base;
        for (let attempt = 0; attempt < 8; attempt++) {
          if (!c.seek(pid)) {
            misses++;
            // every pid looked up is running: a miss while the writer is inside an index
            // change (odd version) means seek gave up retrying; a second seek may find it
            if ((view.tables[shardOf(pid, 0, view.tables.length)]!.indexVersion() & 1) !== 0) cmd[R_MISS_INDEX_BUSY]!++;
            if (c.seek(pid)) cmd[R_FOUND_AGAIN]!++;
            break;
          }
          let k = 1;
          while (c.up()) k++;
          if (!c.stale) {
            steps += k;
            break;
          }
          stale[v]!++; // a row changed under the walk: start again
        }
      }
    } else {
      for (; i < n; i++) {
        if (timebox > 0 && performance.now() > deadline) break;
        const e0 = view.resolve(pids[i % pids.length]! + base);
        if (e0 === undefined) misses++;
        for (let e = e0; e !== undefined; e = e.ancestor) steps++;
      }
    }
    cmd[R_DONE_LOOKUPS] = i;
    cmd[R_STEPS] = steps;
    cmd[R_MISSES] = misses;
    const at = R_COUNTERS + 4 * v;
    cmd[at + C_STALE] = stale[v]!;
    cmd[at + C_LINKS] = view.lineageIncomplete;
    cmd[at + C_RETRIES] = c.retries;
    Atomics.store(cmd, R_DONE, gen);
    Atomics.notify(cmd, R_DONE);
  }
}

if (!isMainThread && (workerData as { benchWorker?: string } | undefined)?.benchWorker !== undefined) {
  const d = workerData as WriterData | ReaderData;
  if (d.benchWorker === 'writer') {
    writerThread(d).catch((err: unknown) => {
      throw err;
    });
  } else {
    readerThread(d);
  }
}

// ------------------------------------------------------------------ main thread

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The writer and reader threads, shared by the cases of one setup(). */
class World {
  state: 'none' | 'writing' | 'paused' | 'done' = 'none';
  private writer: Worker | undefined;
  private reader: Worker | undefined;
  readerTid = -1;
  readonly shared = new Int32Array(new SharedArrayBuffer(16));
  readonly cmd = new Int32Array(new SharedArrayBuffer(4 * R_WORDS));
  private gen = 0;
  private finished: Promise<Record<string, number>> | undefined;
  writerSummary: Record<string, number> = {};
  /** Pass whose pids the reader looks up. */
  pass = 0;

  constructor(
    private readonly bytes: SharedArrayBuffer,
    private readonly enc: EncodedStream,
    private readonly pids: Int32Array,
  ) {}

  /** The writers apply at full speed; the reader is up. */
  async writing(): Promise<void> {
    if (this.state === 'writing') return;
    if (this.state === 'paused') {
      Atomics.store(this.shared, PassWord.COMMAND, RUN);
      this.state = 'writing';
      return;
    }
    if (this.state === 'done') await this.close();
    const url = new URL(import.meta.url);
    const { bytes: _b, ...enc } = this.enc;
    Atomics.store(this.shared, PassWord.COMMAND, RUN);
    const writer = new Worker(url, {
      workerData: { benchWorker: 'writer', bytes: this.bytes, enc, shared: this.shared.buffer } satisfies WriterData,
    });
    this.writer = writer;
    writer.unref();
    const handles = await new Promise<PipelineHandles>((resolve, reject) => {
      writer.once('error', reject);
      writer.on('message', (m: { type: string; handles?: PipelineHandles }) => {
        if (m.type === 'handles') resolve(m.handles!);
      });
    });
    this.finished = new Promise((resolve, reject) => {
      writer.once('error', reject);
      writer.on('message', (m: { type: string } & Record<string, number>) => {
        if (m.type === 'done') resolve(m);
      });
    });
    this.finished.catch(() => undefined);
    const reader = new Worker(url, {
      workerData: { benchWorker: 'reader', handles, pids: this.pids, command: this.cmd.buffer } satisfies ReaderData,
    });
    this.reader = reader;
    reader.unref();
    this.readerTid = await new Promise<number>((resolve, reject) => {
      reader.once('error', reject);
      reader.once('message', (m: { tid: number }) => resolve(m.tid));
    });
    this.state = 'writing';
    // two passes routed, so the first one is wholly applied: final rows to read
    while (Atomics.load(this.shared, PassWord.PASS) < 2) await sleep(5);
  }

  /**
   * The pass to read while writing: two behind the one being routed, so
   * wholly applied (a ring holds far less than a pass); its rows are final
   * while the writers churn the rows of newer passes in the same tables.
   */
  currentPass(): number {
    return Atomics.load(this.shared, PassWord.PASS) - 2;
  }

  async pause(): Promise<void> {
    if (this.state !== 'writing') return;
    Atomics.store(this.shared, PassWord.COMMAND, PAUSE);
    while (Atomics.load(this.shared, PassWord.PAUSED) !== 1) await sleep(2);
    this.state = 'paused';
  }

  /** The pipeline is done: every routed record applied, workers ended. */
  async idle(): Promise<void> {
    if (this.state === 'done') return;
    if (this.state === 'none') await this.writing();
    Atomics.store(this.shared, PassWord.COMMAND, STOP);
    const { type: _type, ...summary } = (await this.finished!) as Record<string, number> & { type?: string };
    this.writerSummary = summary;
    // the pass being routed at the stop is partial: read the one before
    this.pass = Atomics.load(this.shared, PassWord.PASS) - 1;
    this.state = 'done';
  }

  /** One batch on the reader thread (count lookups, or as many as fit in timeboxMs); returns rows visited. */
  read(mode: number, view: number, count: number, pass: number, timeboxMs = 0): number {
    const cmd = this.cmd;
    cmd[R_MODE] = mode;
    cmd[R_VIEW] = view;
    cmd[R_COUNT] = count;
    cmd[R_TIMEBOX_MS] = timeboxMs;
    cmd[R_PID_BASE] = pass * PASS_PID_STRIDE;
    const gen = ++this.gen;
    Atomics.store(cmd, R_GO, gen);
    Atomics.notify(cmd, R_GO);
    while (Atomics.load(cmd, R_DONE) !== gen) Atomics.wait(cmd, R_DONE, Atomics.load(cmd, R_DONE));
    return cmd[R_STEPS]!;
  }

  async close(): Promise<void> {
    if (this.reader) {
      Atomics.store(this.cmd, R_GO, -1);
      Atomics.notify(this.cmd, R_GO);
    }
    if (this.writer && this.state !== 'done') {
      Atomics.store(this.shared, PassWord.COMMAND, STOP);
      await this.finished?.catch(() => undefined);
    }
    await Promise.all([this.reader?.terminate(), this.writer?.terminate()]);
    this.reader = undefined;
    this.writer = undefined;
    this.state = 'none';
    this.gen = 0;
    Atomics.store(this.cmd, R_GO, 0);
    Atomics.store(this.cmd, R_DONE, 0);
  }
}

/** The world of the last setup(): a new setup (bench:check measuring again) ends the old one's threads. */
let current: World | undefined;

function walkNaive(r: NaiveResolver, pids: Int32Array, n: number): number {
  let steps = 0;
  for (let i = 0; i < n; i++) {
    for (let e = r.resolve(pids[i % pids.length]!); e !== undefined; e = e.ancestor) steps++;
  }
  return steps;
}

function readerCase(
  name: string,
  world: World,
  mode: number,
  applying: boolean,
  naive: NaiveResolver,
  pids: Int32Array,
  defaultViewMs: number,
): BenchCase {
  const count = mode === MODE_CURSOR ? LOOKUPS.cursor : LOOKUPS.object;
  // while writing: links followed without waiting (see the suite's comment); idle: the default view
  const view = applying ? VIEW_NO_WAIT : VIEW_DEFAULT;
  let diagnostic: Record<string, number> | undefined;
  // while writing, four busy threads share the cores of a small machine: gated only with a core each
  const gated = !applying || availableParallelism() >= 4;
  let pass = 0;
  let steps = 0;
  let lookups = 0;
  let naiveSteps = 0;
  let naiveLookups = 0;
  let misses = 0;
  const cpuMs: number[] = [];
  const waitMs: number[] = [];
  const wallMs: number[] = [];
  let last = { runNs: Number.NaN, waitNs: Number.NaN };
  let pending = false;
  // the reader's counters are cumulative over cases: this case's are the difference
  let start: { stale: number; retries: number; links: number; foundAgain: number; indexBusy: number } | undefined;
  return {
    name,
    opsPerBatch: count,
    gated,
    candidate: {
      label: `reader thread, ${mode === MODE_CURSOR ? 'Cursor' : 'ProcessView.resolve'}`,
      async prepare() {
        if (applying) await world.writing();
        else await world.idle();
        pass = applying ? world.currentPass() : world.pass;
        if (applying && mode === MODE_CURSOR && diagnostic === undefined && defaultViewMs > 0) {
          // untimed diagnostic, once: the same walks with ProcessView's default link wait
          const t0 = performance.now();
          const links = R_COUNTERS + 4 * VIEW_DEFAULT + C_LINKS;
          const before = world.cmd[links]!;
          const s = world.read(MODE_CURSOR, VIEW_DEFAULT, 0, pass, defaultViewMs);
          const ms = performance.now() - t0;
          const done = world.cmd[R_DONE_LOOKUPS]!;
          diagnostic = {
            defaultViewLookupsPerSec: Math.round((done * 1000) / ms),
            defaultViewLookups: done,
            defaultViewChainLength: Number((s / Math.max(1, done)).toFixed(2)),
            defaultViewLinkWaitTimeouts: world.cmd[links]! - before,
          };
          last = threadTime(world.readerTid);
        }
        const at = R_COUNTERS + 4 * view;
        start ??= {
          stale: world.cmd[at + C_STALE]!,
          retries: world.cmd[at + C_RETRIES]!,
          links: world.cmd[at + C_LINKS]!,
          foundAgain: world.cmd[R_FOUND_AGAIN]!,
          indexBusy: world.cmd[R_MISS_INDEX_BUSY]!,
        };
        // the reader's CPU time for the last batch, read while it sleeps
        const t = threadTime(world.readerTid);
        if (pending) {
          cpuMs.push((t.runNs - last.runNs) / 1e6);
          waitMs.push((t.waitNs - last.waitNs) / 1e6);
        }
        last = t;
        pending = false;
      },
      batch() {
        const t0 = performance.now();
        const s = world.read(mode, view, count, pass);
        misses += world.cmd[R_MISSES]!;
        wallMs.push(performance.now() - t0);
        pending = true;
        steps += s;
        lookups += count;
        return s;
      },
    },
    baseline: {
      label: 'naive Map, this thread',
      batch() {
        const s = walkNaive(naive, pids, count);
        naiveSteps += s;
        naiveLookups += count;
        return s;
      },
    },
    info() {
      const cmd = world.cmd;
      const at = R_COUNTERS + 4 * view;
      const n = Math.min(cpuMs.length, wallMs.length);
      const cpu = median(cpuMs.slice(0, n));
      const f = (x: number) => Number(x.toFixed(2));
      return {
        // lookups per second of the reader thread's own CPU time (as if it had a core to itself)
        lookupsPerReaderCpuSec: Math.round((count * 1000) / cpu),
        readerBusyPct: Number(((100 * cpu) / median(wallMs.slice(0, n))).toFixed(1)),
        readerRunqWaitPct: Number(((100 * median(waitMs.slice(0, n))) / median(wallMs.slice(0, n))).toFixed(1)),
        lookups,
        chainLength: f(steps / Math.max(1, lookups)),
        naiveChainLength: f(naiveSteps / Math.max(1, naiveLookups)),
        misses,
        ...(mode === MODE_CURSOR
          ? {
              missesIndexBusy: cmd[R_MISS_INDEX_BUSY]! - (start?.indexBusy ?? 0),
              missesFoundAgain: cmd[R_FOUND_AGAIN]! - (start?.foundAgain ?? 0),
            }
          : {}),
        // walks started again because a row changed under them; row or index reads retried (seqlock)
        staleRestarts: cmd[at + C_STALE]! - (start?.stale ?? 0),
        readRetries: cmd[at + C_RETRIES]! - (start?.retries ?? 0),
        // no-wait view: links followed before the parent's shard had caught up; default view: waits given up after 50 ms
        [view === VIEW_NO_WAIT ? 'linksFollowedEarly' : 'linkWaitTimeouts']: cmd[at + C_LINKS]! - (start?.links ?? 0),
        pass,
        ...(diagnostic ?? {}),
        ...(applying ? {} : world.writerSummary),
      };
    },
    async teardown() {
      // the threads stay for the next case, paused (nothing runs meanwhile); ended after the idle case
      if (world.state === 'done') await world.close();
      else await world.pause();
    },
  };
}

const suite: BenchSuite = {
  name: 'readers-pipeline',
  order: 70,
  unit: 'lookups',
  description:
    'resolve + ancestor walk on a reader thread (Cursor; ProcessView.resolve) of a 2-shard pipeline while it applies the standard mix at full speed, and once done; vs the naive Map on this thread',
  async setup(ctx) {
    if (current) await current.close();
    const events = modeStream(ctx);
    const enc = encodeStream(events);
    const naive = new NaiveResolver();
    const ops = toOps(events);
    applyOpsNaive(naive, ops, 0, ops.length);
    const live = [...naive.processes.keys()].sort((a, b) => a - b);
    if (live.length === 0) throw new Error('readers-pipeline: the standard stream left no running process');
    const rand = prng(ctx.seed + 1);
    const n = Math.max(LOOKUPS.cursor, LOOKUPS.object);
    const pids = new Int32Array(new SharedArrayBuffer(4 * n));
    for (let i = 0; i < n; i++) pids[i] = live[Math.floor(rand() * live.length)]!;
    const bytes = new SharedArrayBuffer(enc.bytes.length);
    new Uint8Array(bytes).set(enc.bytes);
    const world = new World(bytes, enc, pids);
    current = world;
    return [
      readerCase('cursor-applying', world, MODE_CURSOR, true, naive, pids, DEFAULT_VIEW_MS[ctx.mode]),
      readerCase('object-applying', world, MODE_OBJECT, true, naive, pids, 0),
      readerCase('cursor-idle', world, MODE_CURSOR, false, naive, pids, 0),
    ];
  },
};

export default suite;
