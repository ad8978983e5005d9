// End to end: the standard-mix stream, as binary records, replayed through
// createPipeline with 1, 2 and 4 shards (router on this thread, one worker
// thread per shard, tables in shared memory), against the naive resolver fed
// by the same records the obvious way: decodeEvent each record, apply the
// event to a Map of plain objects, one thread.
//
// One pipeline per case lives for the whole case, so its workers are started
// and warm (the warm-up rounds include their start); its source
// (lib/pass-source.ts) hands the router one chunk of CHUNK records per
// batch. A batch is timed from handing the chunk over until every shard has
// applied every record routed to it (applied watermark A[s] >= dispatched
// D[s], read from the pipeline's control block): routing, the rings,
// validating, decoding and applying in the workers, and publication to
// readers. The stream is encoded once, untimed; each pass over it is
// replayed with other pids and later times (shifted untimed, lib/records.ts),
// as new processes, so the pipeline never sees a pid twice. The naive side walks
// the same chunks in lockstep (batchesPerSample 1) and starts a fresh Map at
// each pass.
//
// 4-shards is gated only on a machine with 5 cores or more (4 workers and the
// router); on fewer it measures the scheduler as much as the pipeline.
//
// Informational cases (never gated) split the cost per stage:
// - apply-records: ProcessResolver.applyRecords on the same chunks, one
//   thread, no rings: validate + decode + apply, what one shard worker does
//   per record, vs the naive resolver's decode + apply;
// - router-only: the pipeline's Router dispatching the chunks into two rings
//   that nobody reads during the batch (drained untimed): the router
//   thread's share of the work, a ceiling for the whole pipeline.
//
// Where the time goes in each pipeline case is in its info line (medians
// over batches): CPU ns per event of the whole process, of the shard workers
// (per-thread CPU time, lib/threads.ts) and of the rest (the router thread
// and V8's GC and compiler threads: process CPU minus the workers'); how
// many cores the batch kept busy; the share of the batch spent routing; how
// busy the workers were and how long they waited for a CPU (the machine's
// other load).

import { availableParallelism } from 'node:os';
import { NaiveResolver } from '../naive-resolver.js';
import { ProcessResolver } from '../../src/index.js';
import { PipelineControl } from '../../src/cache/shards.js';
import type { StreamEvent } from '../../src/record/events.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import { H_SIZE } from '../../src/record/constants.js';
import { decodeEvent } from '../../src/record/decode.js';
import { ShardRing } from '../../src/ring/shard-ring.js';
import { FRAME_ERROR, RING_FULL, Router } from '../../src/pipeline/router.js';
import { credsOp } from '../lib/ops.js';
import { PassSource } from '../lib/pass-source.js';
import { BENCH_RETENTION } from '../lib/populate.js';
import { chunkRanges, encodeStream, type EncodedStream, type RecordRange } from '../lib/records.js';
import { median } from '../lib/stats.js';
import { modeStream } from '../lib/stream.js';
import type { BenchCase, BenchSuite, Contender } from '../lib/suite.js';
import { threadIds, threadTime } from '../lib/threads.js';

/** Events per batch (a round times one chunk on each side; smaller chunks, more rounds in the time budget). */
const CHUNK = { quick: 5_000, full: 50_000 } as const;
/** Rows per shard: a pass leaves ~1.5k rows (its running processes and their ancestors); a case replays a pass or two. */
const CAPACITY = 1 << 17;

// ------------------------------------------------------------------ naive side

/**
 * The obvious consumer of a record stream: decode each record into an
 * event object (decodeEvent), then make the naive resolver's call for it,
 * as bench/lib/ops.ts toOp() does for the decoded stream (same calls, same
 * resulting cache), without building an intermediate Op.
 */
function decodeApplyNaive(r: NaiveResolver, bytes: Uint8Array, start: number, end: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let off = start; off < end; off += dv.getUint32(off + H_SIZE, true)) {
    const ev = decodeEvent(bytes, off) as StreamEvent;
    switch (ev.type) {
      case 'fork':
        if (r.addForkEntry(ev) !== undefined) n++;
        break;
      case 'exec':
        if (
          r.addExecEntry({
            pid: ev.pid,
            ppid: ev.ppid >= 0 ? ev.ppid : undefined,
            time: ev.time,
            path: ev.path ?? '',
            inode: ev.inode,
            prevInode: ev.prevInode,
            argv: ev.argv,
            envp: ev.envp,
            credentials: ev.credentials,
            tty: ev.tty,
            containerId: ev.containerId,
            cgroup: ev.cgroup,
            comm: ev.comm,
          }) !== undefined
        ) {
          n++;
        }
        break;
      case 'exit':
        if (r.applyExitEntry(ev)) n++;
        break;
      case 'creds': {
        const o = credsOp(ev.pid, ev.credentials);
        if (o.uid !== undefined && r.updateUid(o.pid, o.uid)) n++;
        if (o.gid !== undefined && r.updateGid(o.pid, o.gid)) n++;
        if (o.caps !== undefined && r.updateCapset(o.pid, o.caps)) n++;
        if (o.auid !== -1 && r.updateLoginUid(o.pid, o.auid)) n++;
        break;
      }
      case 'flush':
        n += r.dequeueExited(ev.time);
        break;
      case 'delete':
        r.deleteEntry(ev.pid, ev.time);
        break;
      case 'reparent':
        if (r.tryReparentFromKernelPPid(ev.pid, ev.ppid)) n++;
        break;
      default:
        break; // rename, lost: no naive call (as in ops.ts)
    }
  }
  return n;
}

/** The naive side of every case: the chunks in order, a fresh Map at each pass. */
function naiveSide(enc: EncodedStream, ranges: readonly RecordRange[]): Contender {
  let naive = new NaiveResolver();
  let i = 0;
  return {
    label: 'naive decode+Map',
    prepare() {
      if (i === ranges.length) {
        naive = new NaiveResolver();
        i = 0;
      }
    },
    batch() {
      const r = ranges[i++]!;
      return decodeApplyNaive(naive, enc.bytes, r.start, r.end);
    },
  };
}

// ------------------------------------------------------------------ pipeline cases

const sleeper = new Int32Array(new SharedArrayBuffer(4));

interface Split {
  wallMs: number[];
  routeMs: number[];
  /** CPU of the whole process over the batch (every thread). */
  processCpuMs: number[];
  /** CPU of the shard workers over the batch (they sleep between batches). */
  workerCpuMs: number[];
  workerWaitMs: number[];
}

/**
 * Waits until every shard's applied watermark has reached what was
 * dispatched to it. The workers publish their watermark without waking
 * anyone, so this polls; it sleeps about a third of the time the backlog
 * should take (~0.3 µs per sequence number still to apply), so that it
 * wakes a handful of times per batch and does not take the CPU the workers
 * need, yet stops within ~20 µs of the end.
 */
function waitApplied(control: PipelineControl, shards: number, name: string, pipeline: Pipeline): void {
  const started = performance.now();
  for (;;) {
    let behind = 0;
    for (let s = 0; s < shards; s++) {
      const d = Number(control.dispatchedTo(s) - control.applied(s));
      if (d > behind) behind = d;
    }
    if (behind <= 0) return;
    for (let s = 0; s < shards; s++) {
      // a dead worker is only noticed by the pipeline when it routes the next record
      if (pipeline.workerOf(s) === undefined) throw new Error(`pipeline/${name}: the worker of shard ${s} died`);
    }
    if (performance.now() - started > 30_000) {
      const st = JSON.stringify(pipeline.stats(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      throw new Error(`pipeline/${name}: the shards did not apply their records within 30 s: ${st}`);
    }
    Atomics.wait(sleeper, 0, 0, Math.min(2, Math.max(0.02, behind * 0.0003)));
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function pipelineCase(name: string, shards: number, enc: EncodedStream, ranges: readonly RecordRange[], gated: boolean): BenchCase {
  const per = ranges.map((r) => r.to - r.from);
  let source: PassSource | undefined;
  let pipeline: Pipeline | undefined;
  let control: PipelineControl;
  let workers: number[] = [];
  let i = 0;
  let pass = 0;
  const split: Split = { wallMs: [], routeMs: [], processCpuMs: [], workerCpuMs: [], workerWaitMs: [] };
  let lastRun = 0;
  let lastWait = 0;
  let measured = false;

  // Per-thread CPU of the workers, read while they sleep (between batches):
  // schedstat of a running thread lags by up to a scheduler tick.
  const workerTimes = () => {
    let run = 0;
    let wait = 0;
    for (const tid of workers) {
      const t = threadTime(tid);
      run += t.runNs;
      wait += t.waitNs;
    }
    return { run, wait };
  };

  return {
    name,
    opsPerBatch: per[0]!,
    batchesPerSample: 1, // lockstep: both sides apply the same chunk in a round
    candidate: {
      label: `pipeline ${shards} shard${shards > 1 ? 's' : ''}`,
      prepare() {
        if (!pipeline) {
          source = new PassSource(enc, ranges);
          pipeline = createPipeline({ source, shards, capacity: CAPACITY, exitedRetention: BENCH_RETENTION });
          control = new PipelineControl(pipeline.handles.control, shards);
          const before = new Set(threadIds());
          pipeline.start();
          workers = threadIds().filter((t) => !before.has(t));
        }
        const w = workerTimes();
        if (measured) {
          split.workerCpuMs.push((w.run - lastRun) / 1e6);
          split.workerWaitMs.push((w.wait - lastWait) / 1e6);
        }
        lastRun = w.run;
        lastWait = w.wait;
        measured = false;
        if (i === ranges.length) {
          i = 0;
          pass++;
        }
        source!.setPass(i, pass);
      },
      async batch() {
        const c0 = cpuMs();
        const t0 = performance.now();
        await source!.feed(i);
        const t1 = performance.now();
        // every shard has applied every record routed to it
        waitApplied(control, shards, name, pipeline!);
        const t2 = performance.now();
        split.processCpuMs.push(cpuMs() - c0);
        split.routeMs.push(t1 - t0);
        split.wallMs.push(t2 - t0);
        measured = true;
        return per[i++]!;
      },
    },
    baseline: naiveSide(enc, ranges),
    gated,
    info() {
      const st = pipeline!.stats();
      const sum = (k: 'rejectedTableFull' | 'decodeErrors' | 'linkMessagesDropped') => st.shards.reduce((a, s) => a + s.counters[k], 0);
      // medians over the batches; the pairs (process, workers) of one batch are not split
      const n = Math.min(split.processCpuMs.length, split.workerCpuMs.length);
      const events = per[0]!;
      const wall = median(split.wallMs);
      const workerCpu = median(split.workerCpuMs);
      const otherCpu = median(split.processCpuMs.slice(0, n).map((c, k) => c - split.workerCpuMs[k]!));
      const processCpu = median(split.processCpuMs);
      const f = (x: number) => Number(x.toFixed(1));
      return {
        // CPU per event: the whole process; the shard workers together; the rest (the
        // router on this thread, and V8's threads: GC of every isolate, the JIT)
        processCpuNsPerEvent: f((processCpu * 1e6) / events),
        workerCpuNsPerEvent: f((workerCpu * 1e6) / events),
        routerAndRestCpuNsPerEvent: f((otherCpu * 1e6) / events),
        // cores kept busy over the batch; shares of its wall time: routing, each worker on a CPU and waiting for one
        coresBusy: Number((processCpu / wall).toFixed(2)),
        routingPhasePct: f((100 * median(split.routeMs)) / wall),
        workerBusyPct: f((100 * workerCpu) / (shards * wall)),
        workerRunqWaitPct: f((100 * median(split.workerWaitMs)) / (shards * wall)),
        passes: pass + 1,
        rows: st.shards.reduce((a, s) => a + s.rows, 0),
        routed: st.router.routed,
        links: st.router.links,
        linkMessages: st.router.forwarded,
        // LINK (router) and UNLINK/LINK (workers) records the shards apply besides the stream's
        linkRecordsPerEvent: Number(((st.router.links + st.router.forwarded) / Math.max(1, st.router.routed)).toFixed(3)),
        ringFullDrops: st.router.ringFull.reduce((a, b) => a + b, 0),
        tableFull: sum('rejectedTableFull'),
        decodeErrors: sum('decodeErrors'),
        linkMessagesDropped: sum('linkMessagesDropped'),
      };
    },
    async teardown() {
      if (!pipeline) return;
      source!.end();
      await pipeline.done();
      pipeline = undefined;
    },
  };
}

// ------------------------------------------------------------------ per-stage cases

function applyRecordsCase(enc: EncodedStream, ranges: readonly RecordRange[]): BenchCase {
  const per = ranges.map((r) => r.to - r.from);
  const fresh = () => new ProcessResolver({ capacity: CAPACITY, exitedRetention: BENCH_RETENTION });
  let resolver = fresh();
  let i = 0;
  let tableFull = 0;
  return {
    name: 'apply-records',
    opsPerBatch: per[0]!,
    batchesPerSample: 1,
    gated: false,
    candidate: {
      label: 'ProcessResolver.applyRecords',
      prepare() {
        if (i === ranges.length) {
          tableFull += resolver.stats().rejected.tableFull;
          resolver = fresh();
          i = 0;
        }
      },
      batch() {
        const r = ranges[i++]!;
        return resolver.applyRecords(enc.bytes, r.start, r.end);
      },
    },
    baseline: naiveSide(enc, ranges),
    info: () => ({ threads: 1, tableFull: tableFull + resolver.stats().rejected.tableFull }),
  };
}

function routerCase(enc: EncodedStream, ranges: readonly RecordRange[], shards: number): BenchCase {
  const per = ranges.map((r) => r.to - r.from);
  let biggest = 0;
  for (const r of ranges) biggest = Math.max(biggest, r.end - r.start);
  let cap = 4096;
  while (cap < 2 * biggest) cap *= 2; // a whole chunk (and its LINKs) fits in any one ring
  let rings: ShardRing[] = [];
  let consumers: ShardRing[] = [];
  let router: Router | undefined;
  let i = 0;
  return {
    name: `router-only`,
    opsPerBatch: per[0]!,
    gated: false,
    candidate: {
      label: `Router, ${shards} rings`,
      prepare() {
        if (!router) {
          rings = Array.from({ length: shards }, () => ShardRing.create(cap, { onFull: 'drop' }));
          consumers = rings.map((r) => new ShardRing(r.buffer));
          const outs = rings.map(() => ShardRing.create(4096, { onFull: 'drop' }));
          router = new Router(rings, outs, PipelineControl.create(shards));
        }
        // empty the rings (untimed): what the workers would have read
        for (const c of consumers) {
          c.poll();
          while (c.next() >= 0);
          c.release();
        }
        if (i === ranges.length) i = 0;
      },
      batch() {
        const r = ranges[i++]!;
        const rt = router!;
        const bytes = enc.bytes;
        let records = 0;
        // the loop of Pipeline.route(): publish and pump links every 256 records
        for (let off = r.start; off < r.end; ) {
          const size = rt.dispatch(bytes, off, r.end - off);
          if (size === FRAME_ERROR || size === RING_FULL) throw new Error(`router-only: dispatch returned ${size}`);
          off += size;
          if ((++records & 255) === 0) {
            rt.publish();
            rt.pumpLinks();
          }
        }
        rt.publish();
        return records;
      },
    },
    info: () => ({ shards, links: router?.counters.links ?? 0 }),
  };
}

const suite: BenchSuite = {
  name: 'pipeline',
  order: 60,
  unit: 'events',
  description:
    'standard-mix records replayed through createPipeline (1, 2, 4 shards; batch ends when every shard applied its records) vs the naive resolver fed by decodeEvent on one thread; per-stage: applyRecords on one thread, router alone',
  setup(ctx) {
    const enc = encodeStream(modeStream(ctx));
    // whole chunks only, so every batch has the same number of events
    const ranges = chunkRanges(enc, CHUNK[ctx.mode]).filter((r) => r.to - r.from === CHUNK[ctx.mode]);
    return [
      pipelineCase('1-shard', 1, enc, ranges, true),
      pipelineCase('2-shards', 2, enc, ranges, true),
      // more busy threads than cores on the 2-core machines this runs on: its
      // rounds vary by ±30-50% and the gate could only ever call it noisy
      pipelineCase('4-shards', 4, enc, ranges, availableParallelism() >= 5),
      applyRecordsCase(enc, ranges),
      routerCase(enc, ranges, 2),
    ];
  },
};

export default suite;
