// createPipeline: a sharded process cache fed by a record source. One
// router (this thread) numbers and routes records into one ring per shard;
// one worker per shard applies them to its table; readers in any thread
// read the tables through a ProcessView (docs/architecture.md, "Data flow").

import { availableParallelism } from 'node:os';
import { C, WRITER_COUNTERS, type WriterCounter } from '../cache/counters.js';
import { PipelineControl, type PipelineHandles } from '../cache/shards.js';
import { bytesPerRow, ProcessTable } from '../cache/table.js';
import { ProcessView, type ViewOptions } from '../cache/view.js';
import { ForklineError } from '../errors.js';
import { ShardSupervisor, type WorkerCrash } from '../workers/supervisor.js';
import type { ShardWorkerData } from '../workers/shard-runner.js';
import { LagHistograms, lagQuantiles, LAG_BUCKETS, type VisibilityLag } from '../workers/visibility-lag.js';
import { applyLink, applyUnlink } from '../cache/apply.js';
import { timeHi, timeLo } from '../cache/time-words.js';
import { shardOf } from '../cache/shards.js';
import type { LinkKeys } from '../cache/table.js';
import { RecordApplier } from '../cache/record-applier.js';
import {
  FORK_INODE,
  FORK_MIN_SIZE,
  FORK_PPID,
  H_PIDNS,
  H_TIME,
  H_TYPE,
  LINK_FORK_TIME,
  LINK_PPID,
  REC_CLOCK,
  REC_CREDS,
  REC_DELETE,
  REC_EXEC,
  REC_EXIT,
  REC_FLUSH,
  REC_FORK,
  REC_LINK,
  REC_LOST,
  REC_RENAME,
  REC_REPARENT,
  REC_UNLINK,
  UNLINK_FORK_TIME,
} from '../record/constants.js';
import { frameSize, getU64 } from '../record/decode.js';
import { RingWord, ShardRing } from '../ring/shard-ring.js';
import { FRAME_ERROR, RING_FULL, ROUTE_ALL, ROUTE_SKIP, Router, routeOf } from './router.js';
import type { RecordSource } from './source.js';
import type { DropCounts, RunSummary } from './summary.js';

export interface PipelineOptions {
  /** Shards, one worker thread each (default: one per core). */
  shards?: number;
  /** Rows per shard (default 65536). */
  capacity?: number;
  stringCapacity?: number;
  stringBytes?: number;
  /** What to read. */
  source: RecordSource;
  /** Bytes of each shard ring (default 4 MiB). */
  ringBytes?: number;
  /** A full ring: wait for the worker (up to blockTimeoutMs), or drop at once. Drops are counted either way. */
  onFull?: 'block' | 'drop';
  blockTimeoutMs?: number;
  /** Exited pids stay resolvable this long after their exit (ns, default 5 s), applied at FLUSH records. */
  exitedRetention?: bigint;
  envsResolution?: boolean;
  /** Called now and then with the bytes read so far. */
  onProgress?: (p: { bytes: number; totalBytes: number | undefined; records: number }) => void;
  /**
   * A shard whose worker dies more than `restarts` times within `windowMs`
   * is not rebuilt again: the pipeline fails with ERR_WORKER_FAILED naming
   * the last error (a worker that crashes on some record would otherwise be
   * rebuilt and crash again forever). Default 3 restarts in 60 s.
   */
  restartBudget?: { restarts: number; windowMs: number };
}

/** The summary of a run (docs/summary.md). */
export type PipelineSummary = RunSummary;

export interface PipelineStats {
  shards: { shard: number; cacheSize: number; rows: number; ringUsed: number; applied: bigint; counters: Record<WriterCounter, number> }[];
  router: Router['counters'];
  workerRestarts: number;
  /** Live sources: kernel timestamp to resolvable, over the last 10 to 20 s (visibilityLag()). */
  visibilityLag?: VisibilityLag;
}

export type { VisibilityLag };

/** visibilityLag() covers the records of the last LAG_WINDOW_MS to 2 * LAG_WINDOW_MS. */
const LAG_WINDOW_MS = 10_000;

type State = 'new' | 'running' | 'stopping' | 'stopped';

export class Pipeline {
  readonly handles: PipelineHandles;
  readonly shards: number;
  private readonly tables: ProcessTable[];
  private readonly rings: ShardRing[];
  private readonly outs: ShardRing[];
  private readonly control: PipelineControl;
  private readonly router: Router;
  private readonly supervisor: ShardSupervisor;
  private readonly retention: bigint;
  private readonly withEnvs: boolean;
  private state: State = 'new';
  private stopRequested = false;
  private crashed: (WorkerCrash & { rebuild?: boolean })[] = [];
  /** Per shard: when its workers crashed, within the restart budget's window. */
  private readonly crashTimes: number[][] = [];
  private started = 0;
  private failure: Error | undefined;
  private routing: Promise<void> = Promise.resolve();
  /** Resolves once the first workers run. */
  private workersRunning: Promise<unknown> = Promise.resolve();
  private bytesRead = 0;
  /** Live sources: the workers' lag histograms, and boot-clock ms minus monotonic ms. */
  private readonly lag: { histograms: LagHistograms; bootMinusMonoMs: number } | undefined;
  /** Counts at the start of the current lag window, and of the one before. */
  private lagWindow = { at: 0, start: new Float64Array(LAG_BUCKETS), next: new Float64Array(LAG_BUCKETS) };

  constructor(private readonly opts: PipelineOptions) {
    const shards = opts.shards ?? availableParallelism();
    if (!Number.isInteger(shards) || shards < 1 || shards > 64) throw new RangeError(`shards must be an integer in 1..64, got ${String(shards)}`);
    this.shards = shards;
    const capacity = opts.capacity ?? 65536;
    this.tables = Array.from({ length: shards }, () =>
      ProcessTable.create({ capacity, stringCapacity: opts.stringCapacity, stringBytes: opts.stringBytes }),
    );
    const ringBytes = opts.ringBytes ?? 4 << 20;
    const policy = { onFull: opts.onFull ?? 'block', blockTimeoutMs: opts.blockTimeoutMs ?? 1000 } as const;
    this.rings = this.tables.map(() => ShardRing.create(ringBytes, policy));
    this.outs = this.tables.map(() => ShardRing.create(1 << 20, { onFull: 'block', blockTimeoutMs: 1000 }));
    this.control = PipelineControl.create(shards);
    this.router = new Router(this.rings, this.outs, this.control);
    this.supervisor = new ShardSupervisor(shards, (crash) => this.crashed.push(crash));
    this.retention = opts.exitedRetention ?? 5_000_000_000n;
    this.withEnvs = opts.envsResolution === true;
    this.handles = { shards: this.tables.map((t) => t.handles), control: this.control.buffer };
    const bootMinusMonoMs = opts.source.bootMinusMonoMs?.();
    this.lag = bootMinusMonoMs === undefined ? undefined : { histograms: LagHistograms.create(shards), bootMinusMonoMs };
  }

  /** Starts the workers and the routing of the source. */
  start(): void {
    if (this.state !== 'new') throw new ForklineError('ERR_PIPELINE_STATE', `start() on a pipeline that is ${this.state}`);
    this.state = 'running';
    this.started = performance.now();
    const started: Promise<void>[] = [];
    for (let s = 0; s < this.shards; s++) started.push(this.supervisor.start(this.workerData(s, -1)));
    this.workersRunning = Promise.all(started);
    this.routing = this.route().catch((err: Error) => {
      this.failure = err;
    });
  }

  /**
   * Resolves when the whole source was applied (or stop() was called) and
   * the workers ended: the summary of the run. Rejects with the source's
   * error (a corrupt replay names its byte offset) after applying
   * everything before it.
   */
  async done(): Promise<PipelineSummary> {
    await this.routing;
    await this.finish();
    if (this.failure) throw this.failure;
    return this.summary();
  }

  /** Stops reading the source, applies what was read, ends the workers. */
  async stop(): Promise<PipelineSummary> {
    this.stopRequested = true;
    if (this.state === 'new') {
      this.state = 'stopped';
      return this.summary();
    }
    await this.routing;
    await this.finish();
    return this.summary();
  }

  /** A reader of the tables in this thread; give `handles` to a worker for a reader there. */
  reader(options?: ViewOptions): ProcessView {
    return new ProcessView(this.handles, { withEnvs: this.withEnvs, ...options });
  }

  /** The live worker of a shard (tests kill it to check the rebuild). */
  workerOf(shard: number) {
    return this.supervisor.worker(shard);
  }

  stats(): PipelineStats {
    return {
      shards: this.tables.map((t, shard) => ({
        shard,
        cacheSize: t.liveCount,
        rows: t.rowsUsed,
        ringUsed: this.rings[shard]!.stats().used,
        applied: this.control.applied(shard),
        counters: Object.fromEntries(WRITER_COUNTERS.map((name) => [name, t.counters[C[name]]!])) as Record<WriterCounter, number>,
      })),
      router: this.router.counters,
      workerRestarts: this.supervisor.restarts,
      ...(this.lag ? { visibilityLag: this.visibilityLag() } : {}),
    };
  }

  /**
   * Live sources: how long after the kernel stamped a record a reader could
   * resolve it (p50, p99, max; ms), over the records of the last 10 to 20
   * s; undefined for sources without live times (replay, synthetic).
   */
  visibilityLag(): VisibilityLag | undefined {
    if (!this.lag) return undefined;
    const total = this.lag.histograms.total();
    const w = this.lagWindow;
    const now = performance.now();
    if (now - w.at >= LAG_WINDOW_MS) this.lagWindow = { at: now, start: w.next, next: total.slice() };
    const start = this.lagWindow.start;
    for (let i = 0; i < LAG_BUCKETS; i++) total[i]! -= start[i]!;
    return lagQuantiles(total);
  }

  /** Live sources: the visibility-lag counts since the start, summed over the shards (metrics take differences). */
  lagCounts(): Float64Array | undefined {
    return this.lag?.histograms.total();
  }

  private workerData(shard: number, resumeCursor: number): ShardWorkerData {
    return {
      shard,
      shards: this.shards,
      table: this.tables[shard]!.handles,
      ring: this.rings[shard]!.buffer,
      out: this.outs[shard]!.buffer,
      control: this.control.buffer,
      retention: this.retention,
      withEnvs: this.withEnvs,
      resumeCursor,
      ...(this.lag ? { lag: { histograms: this.lag.histograms.buffer, bootMinusMonoMs: this.lag.bootMinusMonoMs } } : {}),
    };
  }

  /** The routing loop: reads the source, dispatches its records, yields to the event loop now and then. */
  private async route(): Promise<void> {
    const router = this.router;
    const onFull = this.opts.onFull ?? 'block';
    const blockTimeoutMs = this.opts.blockTimeoutMs ?? 1000;
    let records = 0;
    let lastProgress = performance.now();
    // a full ring's wait for its worker (blockTimeoutMs) starts once the worker runs
    await this.workersRunning;
    for await (const chunk of this.opts.source.chunks()) {
      const bytes = chunk.bytes;
      let off = 0;
      let fullSince = 0;
      while (off < bytes.length) {
        if (this.crashed.length > 0) {
          await this.recover();
          fullSince = 0; // a ring full when its worker died waits for the new one, from now
        }
        if (this.stopRequested) return;
        const r = router.dispatch(bytes, off, bytes.length - off);
        if (r === FRAME_ERROR) {
          router.publish();
          throw new ForklineError(
            'ERR_REPLAY_CORRUPT',
            `${this.opts.source.name}: record at byte ${chunk.streamOffset + off} cannot be framed (bad size); every record before it was applied`,
            chunk.streamOffset + off,
          );
        }
        if (r === RING_FULL) {
          router.publish();
          router.pumpLinks();
          const now = performance.now();
          if (fullSince === 0) fullSince = now;
          if (onFull === 'drop' || now - fullSince > blockTimeoutMs) {
            off += router.drop(bytes, off, bytes.length - off);
            fullSince = 0;
          } else {
            await pause(1);
          }
          continue;
        }
        fullSince = 0;
        off += r;
        if ((++records & 255) === 0) {
          router.publish();
          router.pumpLinks();
          if ((records & 0xffff) === 0) {
            await pause(0); // let worker events, stop() and timers in
            const now = performance.now();
            if (this.opts.onProgress && now - lastProgress > 200) {
              lastProgress = now;
              this.opts.onProgress({ bytes: this.bytesRead + off, totalBytes: this.opts.source.totalBytes, records });
            }
          }
        }
      }
      this.bytesRead += bytes.length;
      router.publish();
    }
    this.opts.onProgress?.({ bytes: this.bytesRead, totalBytes: this.opts.source.totalBytes, records });
  }

  /** Waits until every ring is empty and no link message is in flight, then ends the workers. */
  private async finish(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    if (this.failure instanceof ForklineError && this.failure.code === 'ERR_WORKER_FAILED') {
      await this.supervisor.terminate(); // a shard is gone for good: nothing to drain
      this.state = 'stopped';
      return;
    }
    await this.quiesce();
    for (const ring of this.rings) ring.close();
    await this.supervisor.join();
    this.router.pumpLinks(); // nothing should be left; counted if it is
    this.state = 'stopped';
  }

  private async quiesce(): Promise<void> {
    let quiet = 0;
    while (quiet < 3) {
      if (this.crashed.length > 0) await this.recover();
      this.router.publish();
      const moved = this.router.pumpLinks();
      this.router.publish();
      const busy = moved > 0 || this.router.backlog > 0 || this.rings.some((r) => r.stats().used > 0) || this.outs.some((o) => o.stats().used > 0);
      quiet = busy ? 0 : quiet + 1;
      await pause(1);
    }
  }

  /** Counts real crashes (not rebuilds started over) against each shard's budget; throws when one is spent. */
  private spendRestarts(crashes: readonly (WorkerCrash & { rebuild?: boolean })[]): void {
    const { restarts, windowMs } = this.opts.restartBudget ?? { restarts: 3, windowMs: 60_000 };
    const now = performance.now();
    for (const c of crashes) {
      if (c.rebuild) continue;
      const times = (this.crashTimes[c.shard] ??= []).filter((t) => now - t < windowMs);
      times.push(now);
      this.crashTimes[c.shard] = times;
      if (times.length > restarts) {
        throw new ForklineError(
          'ERR_WORKER_FAILED',
          `shard ${c.shard} worker failed ${times.length} times within ${windowMs} ms; not rebuilt again. Last error: ${c.error.message}`,
        );
      }
    }
  }

  /**
   * Rebuilds the shard of a crashed worker and starts a new one
   * (docs/pipeline.md, "Faults"): the other shards drain; the shard's table
   * is emptied and refilled, in this thread, with its records up to the dead
   * worker's watermark and the LINKs of the forks into it, read again from
   * the source; its links are then set to exactly those the other shards'
   * rows hold; the new worker skips what the rebuild covered.
   */
  private async recover(): Promise<void> {
    while (this.crashed.length > 0) {
      await pause(20); // workers killed together report their ends one by one
      // every shard down at this point is rebuilt together: their links into each other are set from their rebuilt rows
      const crashes = this.crashed.splice(0);
      const down = new Set(crashes.map((c) => c.shard));
      for (let s = 0; s < this.shards; s++) if (!this.supervisor.alive(s)) down.add(s);
      const shards = [...down];
      this.spendRestarts(crashes);
      if (!this.opts.source.replayable) {
        throw new ForklineError(
          'ERR_WORKER_FAILED',
          `shard worker ${shards.join(', ')} failed (${describeCrashes(crashes)}) and source ${this.opts.source.name} cannot be read again to rebuild it`,
        );
      }
      const restarts = shards.length;
      // the live shards catch up, so their rows (and links) are final up to now
      for (let quiet = 0; quiet < 3; ) {
        this.router.publish();
        const moved = this.router.pumpLinks();
        const busy = moved > 0 || this.rings.some((r, s) => this.supervisor.alive(s) && r.stats().used > 0);
        quiet = busy ? 0 : quiet + 1;
        await pause(1);
      }
      const rebuilt = [];
      for (const shard of shards) {
        const mark = this.control.appliedMark(shard);
        const watermark = Number(mark.gseq);
        const cursor = mark.cursor;
        const table = this.tables[shard]!;
        table.reset();
        // the counts up to the watermark stand; the rebuild's are not new events, and the new worker counts what follows
        const counters = table.countersAtMark.slice();
        const replayed = await this.replayShard(shard, watermark);
        rebuilt.push({ shard, watermark, cursor, counters, replayed, unread: this.unread(shard, cursor) });
      }
      // set the links of each rebuilt shard from the rows of the others; an
      // unlink can free rows that hold links elsewhere, so go round until
      // nothing changes
      let silent: number[] = [];
      const live = new Map<number, LinkKeys[]>();
      for (const r of rebuilt) {
        const answer = await this.supervisor.linksInto(r.shard);
        silent = answer.silent;
        if (silent.length > 0) break;
        live.set(r.shard, answer.keys);
      }
      for (let changed = silent.length === 0; changed; ) {
        changed = false;
        for (const r of rebuilt) {
          const keys = [...live.get(r.shard)!];
          const future = new Map<string, number>();
          for (const other of rebuilt) {
            if (other.shard === r.shard) continue;
            // a rebuilt shard's rows, and the children its new worker is still to fork
            keys.push(this.tables[other.shard]!.remoteParentKeys((ppid, pidns) => shardOf(ppid, pidns, this.shards) === r.shard));
            for (const [key, n] of other.unread.children.get(r.shard) ?? []) future.set(key, (future.get(key) ?? 0) + n);
          }
          if (this.reconcileLinks(r.shard, r.replayed, r.unread.links, future, keys)) changed = true;
        }
      }
      if (silent.length > 0) {
        // another worker died during the rebuild: start over with it among the shards to rebuild
        // (the silent ones' deaths are reported by the supervisor too: counted there, once)
        for (const shard of [...shards, ...silent]) this.crashed.push({ shard, error: new Error('rebuilt again'), rebuild: true });
        continue;
      }
      this.supervisor.restarts += restarts;
      const started: Promise<void>[] = [];
      for (const r of rebuilt) {
        this.tables[r.shard]!.counters.set(r.counters);
        this.control.publishApplied(r.shard, BigInt(r.watermark));
        started.push(this.supervisor.start(this.workerData(r.shard, r.cursor)));
      }
      // the router resumes (and a full ring's wait for its worker starts) once the new workers run
      await Promise.all(started);
    }
  }

  /**
   * What a dead worker had not applied yet: in its ring past its applied
   * position (and, for link messages, what the router still holds for it).
   * `links`: per key, the LINKs minus the UNLINKs still to come into this
   * shard. `children`: forks still to come in this shard whose parent lives
   * in another shard, by that shard (their parents must stay held).
   */
  private unread(shard: number, cursor: number): { links: Map<string, number>; children: Map<number, Map<string, number>> } {
    const links = new Map<string, number>();
    const children = new Map<number, Map<string, number>>();
    const add = (m: Map<string, number>, key: string, n: number) => m.set(key, (m.get(key) ?? 0) + n);
    const note = (data: Uint8Array, off: number) => {
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const type = dv.getUint16(off + H_TYPE, true);
      const pidns = dv.getUint32(off + H_PIDNS, true);
      if (type === REC_LINK || type === REC_UNLINK) {
        const forkTime = dv.getBigUint64(off + (type === REC_LINK ? LINK_FORK_TIME : UNLINK_FORK_TIME), true);
        add(links, `${pidns}:${dv.getUint32(off + LINK_PPID, true)}:${forkTime}`, type === REC_LINK ? 1 : -1);
      } else if (type === REC_FORK && this.shards > 1) {
        const ppid = dv.getUint32(off + FORK_PPID, true);
        const target = ppid > 0 ? shardOf(ppid, pidns, this.shards) : shard;
        if (target === shard) return;
        let m = children.get(target);
        if (!m) children.set(target, (m = new Map()));
        add(m, `${pidns}:${ppid}:${dv.getBigUint64(off + H_TIME, true)}`, 1);
      }
    };
    const ring = this.rings[shard]!;
    ring.forEachUnread(cursor >= 0 ? cursor : tailOf(ring), note);
    this.router.forEachPending(shard, note);
    return { links, children };
  }

  /**
   * Applies to a shard's table, in this thread, its records numbered up to
   * `upTo` and the LINKs the router sent it for forks into it. Returns the
   * keys of those LINKs that found their parent.
   */
  private async replayShard(shard: number, upTo: number): Promise<Map<string, number>> {
    const table = this.tables[shard]!;
    table.onRemoteParentReleased = undefined; // told to the other shards before the crash
    const applier = new RecordApplier(table, { shard, shards: this.shards, retention: this.retention, withEnvs: this.withEnvs });
    const replayed = new Map<string, number>();
    let ordinal = 0;
    for await (const chunk of this.opts.source.chunks()) {
      const bytes = chunk.bytes;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let off = 0; off < bytes.length; ) {
        const size = frameSize(dv, off, bytes.length - off);
        if (size < 0) return replayed;
        const route = routeOf(dv, off, size, this.shards);
        if (route !== ROUTE_SKIP) {
          if (++ordinal > upTo) return replayed;
          if (route === shard || route === ROUTE_ALL) applier.apply(bytes, off, size);
          else if (route >= 0 && dv.getUint16(off + H_TYPE, true) === REC_FORK && size >= FORK_MIN_SIZE) {
            const ppid = dv.getUint32(off + FORK_PPID, true);
            const pidns = dv.getUint32(off + H_PIDNS, true);
            if (ppid > 0 && shardOf(ppid, pidns, this.shards) === shard) {
              const forkTime = dv.getBigUint64(off + H_TIME, true);
              if (applyLink(table, ppid, pidns, timeLo(forkTime), timeHi(forkTime), getU64(dv, off + FORK_INODE), true)) {
                const key = `${pidns}:${ppid}:${forkTime}`;
                replayed.set(key, (replayed.get(key) ?? 0) + 1);
              }
            }
          }
        }
        off += size;
      }
    }
    return replayed;
  }

  /**
   * Makes the rebuilt shard hold the links of the other shards' rows into
   * it (`live`) and of the children still to be forked in other rebuilt
   * shards (`future`), less what the link messages still to be applied in
   * its ring will change (`unread`). `held` (per key) is what it holds now,
   * updated. Returns whether anything changed.
   */
  private reconcileLinks(
    shard: number,
    held: Map<string, number>,
    unread: Map<string, number>,
    future: Map<string, number>,
    live: LinkKeys[],
  ): boolean {
    const table = this.tables[shard]!;
    const wanted = new Map<string, number>();
    const add = (key: string, n: number) => wanted.set(key, (wanted.get(key) ?? 0) + n);
    for (const keys of live) {
      for (let i = 0; i < keys.ppid.length; i++) add(`${keys.pidns[i]}:${keys.ppid[i]}:${keys.forkTime[i]}`, 1);
    }
    for (const [key, n] of future) add(key, n);
    for (const [key, n] of unread) add(key, -n);
    let changed = false;
    for (const key of new Set([...wanted.keys(), ...held.keys()])) {
      const want = Math.max(0, wanted.get(key) ?? 0);
      let have = held.get(key) ?? 0;
      if (have === want) continue;
      const [pidns, ppid, forkTime] = key.split(':');
      const time = BigInt(forkTime!);
      const args = [table, Number(ppid), Number(pidns), timeLo(time), timeHi(time)] as const;
      const before = have;
      for (; have > want; have--) applyUnlink(...args); // children gone: let their parents go
      for (; have < want; have++) if (!applyLink(...args, 0)) break; // links the replay did not see (reparents)
      held.set(key, have);
      if (have !== before) changed = true;
    }
    return changed;
  }

  /**
   * Every drop so far, by cause (the summary's `dropped`). `captureRingFull`:
   * records a live source's capture ring refused before the router saw
   * them (default: what the source's captureSummary() says).
   */
  drops(captureRingFull = this.opts.source.captureSummary?.().ringFull ?? 0): DropCounts {
    const sum = (name: WriterCounter) => this.tables.reduce((n, t) => n + t.counters[C[name]]!, 0);
    const r = this.router.counters;
    const ringFull = r.ringFull.reduce((a, b) => a + b, 0) + captureRingFull;
    const decodeErrors = sum('decodeErrors');
    const tableFull = sum('rejectedTableFull');
    const linkMessages = sum('linkMessagesDropped');
    const total = ringFull + decodeErrors + tableFull + r.lost + linkMessages;
    return { ringFull, decodeErrors, tableFull, lostEvents: r.lost, linkMessages, total };
  }

  private summary(): PipelineSummary {
    const seconds = (performance.now() - this.started) / 1000;
    const r = this.router.counters;
    const byType = (type: number) => r.byType[type] ?? 0;
    const capture = this.opts.source.captureSummary?.();
    const dropped = this.drops(capture?.ringFull ?? 0);
    const applied = r.routed - r.ringFull.reduce((a, b) => a + b, 0) - dropped.decodeErrors;
    return {
      source: this.opts.source.name,
      shards: this.shards,
      events: {
        fork: byType(REC_FORK), exec: byType(REC_EXEC), exit: byType(REC_EXIT), creds: byType(REC_CREDS),
        rename: byType(REC_RENAME), lost: byType(REC_LOST), flush: byType(REC_FLUSH), delete: byType(REC_DELETE),
        reparent: byType(REC_REPARENT), clock: byType(REC_CLOCK),
      },
      applied,
      dropped,
      cacheSize: this.tables.reduce((n, t) => n + t.liveCount, 0),
      rows: this.tables.reduce((n, t) => n + t.rowsUsed, 0),
      bytesPerRow: bytesPerRow(this.tables[0]!.capacity),
      workerRestarts: this.supervisor.restarts,
      seconds,
      eventsPerSecond: seconds > 0 ? applied / seconds : 0,
      ...(capture ? { capture } : {}),
    };
  }
}

export function createPipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}

/** The consumer tail of a ring (its control word), for a ring whose consumer died before applying anything. */
function tailOf(ring: ShardRing): number {
  return Atomics.load(new Int32Array(ring.buffer), RingWord.TAIL) >>> 0;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}

function describeCrashes(crashes: readonly WorkerCrash[]): string {
  return crashes.map((c) => `shard ${c.shard}: ${c.error.message}`).join('; ') || 'no error reported';
}
