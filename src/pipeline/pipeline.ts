// createPipeline: a sharded process cache fed by a record source. One
// router (this thread) numbers and routes records into one ring per shard;
// one worker per shard applies them to its table; readers in any thread
// read the tables through a ProcessView (DESIGN.md, "Data flow").

import { availableParallelism } from 'node:os';
import { C, WRITER_COUNTERS, type WriterCounter } from '../cache/counters.js';
import { PipelineControl, type PipelineHandles } from '../cache/shards.js';
import { bytesPerRow, ProcessTable } from '../cache/table.js';
import { ProcessView, type ViewOptions } from '../cache/view.js';
import { ForklineError } from '../errors.js';
import { ShardSupervisor, type WorkerCrash } from '../workers/supervisor.js';
import type { ShardWorkerData } from '../workers/shard-runner.js';
import { RecordApplier } from './apply-record.js';
import { REC_EXEC, REC_EXIT, REC_FORK, REC_CREDS, REC_RENAME, REC_LOST, REC_FLUSH, REC_DELETE, REC_REPARENT, REC_CLOCK } from './record.js';
import { ShardRing } from './ring.js';
import { FRAME_ERROR, RING_FULL, ROUTE_ALL, ROUTE_SKIP, Router, frameSize, routeOf } from './router.js';
import type { RecordSource } from './source.js';
import type { RunSummary } from './summary.js';

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
}

/** The summary of a run (docs/summary.md). */
export type PipelineSummary = RunSummary;

export interface PipelineStats {
  shards: { shard: number; cacheSize: number; rows: number; ringUsed: number; applied: bigint; counters: Record<WriterCounter, number> }[];
  router: Router['counters'];
  workerRestarts: number;
}

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
  private crashed: WorkerCrash[] = [];
  private started = 0;
  private failure: Error | undefined;
  private routing: Promise<void> = Promise.resolve();
  private bytesRead = 0;

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
  }

  /** Starts the workers and the routing of the source. */
  start(): void {
    if (this.state !== 'new') throw new ForklineError('ERR_PIPELINE_STATE', `start() on a pipeline that is ${this.state}`);
    this.state = 'running';
    this.started = performance.now();
    for (let s = 0; s < this.shards; s++) this.supervisor.start(this.workerData(s, 0, 0));
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
    };
  }

  private workerData(shard: number, skipUpTo: number, skipLinksUpTo: number): ShardWorkerData {
    return {
      shard,
      shards: this.shards,
      table: this.tables[shard]!.handles,
      ring: this.rings[shard]!.buffer,
      out: this.outs[shard]!.buffer,
      control: this.control.buffer,
      retention: this.retention,
      withEnvs: this.withEnvs,
      skipUpTo,
      skipLinksUpTo,
    };
  }

  /** The routing loop: reads the source, dispatches its records, yields to the event loop now and then. */
  private async route(): Promise<void> {
    const router = this.router;
    const onFull = this.opts.onFull ?? 'block';
    const blockTimeoutMs = this.opts.blockTimeoutMs ?? 1000;
    let records = 0;
    let lastProgress = performance.now();
    for await (const chunk of this.opts.source.chunks()) {
      const bytes = chunk.bytes;
      let off = 0;
      let fullSince = 0;
      while (off < bytes.length) {
        if (this.crashed.length > 0) await this.recover();
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

  /**
   * Rebuilds the shard of a crashed worker and starts a new one
   * (docs/pipeline.md, "Faults"): the other shards drain; the shard's table
   * is emptied and refilled with its records up to the crashed worker's
   * watermark, read again from the source; the other shards send again the
   * links their rows hold into it; the new worker skips what the rebuild
   * covered.
   */
  private async recover(): Promise<void> {
    while (this.crashed.length > 0) {
      const { shard, error } = this.crashed.shift()!;
      if (!this.opts.source.replayable) {
        throw new ForklineError('ERR_WORKER_FAILED', `shard ${shard} worker failed (${error.message}) and source ${this.opts.source.name} cannot be read again to rebuild it`);
      }
      this.supervisor.restarts++;
      // the other shards catch up, so their rows (and links) are final up to now
      for (let quiet = 0; quiet < 3; ) {
        this.router.publish();
        const moved = this.router.pumpLinks();
        const busy = moved > 0 || this.rings.some((r, s) => s !== shard && r.stats().used > 0);
        quiet = busy ? 0 : quiet + 1;
        await pause(1);
      }
      const crashGseq = this.router.gseq;
      const watermark = Number(this.control.applied(shard));
      const table = this.tables[shard]!;
      table.reset();
      await this.replayShard(shard, watermark);
      this.control.publishApplied(shard, BigInt(watermark));
      this.router.gseq++; // the re-sent links get a number the new worker does not skip
      await this.supervisor.resendLinks(shard);
      this.router.pumpLinks();
      this.router.publish();
      this.supervisor.start(this.workerData(shard, watermark, crashGseq));
    }
  }

  /** Applies to a shard's table, in this thread, its records numbered up to `upTo`. */
  private async replayShard(shard: number, upTo: number): Promise<void> {
    const table = this.tables[shard]!;
    table.onRemoteParentReleased = undefined; // already told to the other shards before the crash
    const applier = new RecordApplier(table, { shard, shards: this.shards, retention: this.retention, withEnvs: this.withEnvs });
    let ordinal = 0;
    for await (const chunk of this.opts.source.chunks()) {
      const bytes = chunk.bytes;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let off = 0; off < bytes.length; ) {
        const size = frameSize(dv, off, bytes.length - off);
        if (size < 0) return;
        const route = routeOf(dv, off, size, this.shards);
        if (route !== ROUTE_SKIP) {
          if (++ordinal > upTo) return;
          if (route === shard || route === ROUTE_ALL) applier.apply(bytes, off, size);
        }
        off += size;
      }
    }
  }

  private summary(): PipelineSummary {
    const seconds = (performance.now() - this.started) / 1000;
    const sum = (name: WriterCounter) => this.tables.reduce((n, t) => n + t.counters[C[name]]!, 0);
    const r = this.router.counters;
    const byType = (type: number) => r.byType[type] ?? 0;
    const ringFull = r.ringFull.reduce((a, b) => a + b, 0);
    const decodeErrors = sum('decodeErrors');
    const tableFull = sum('rejectedTableFull');
    const linkMessages = sum('linkMessagesDropped');
    const dropped = { ringFull, decodeErrors, tableFull, lostEvents: r.lost, linkMessages, total: 0 };
    dropped.total = ringFull + decodeErrors + tableFull + r.lost + linkMessages;
    const applied = r.routed - ringFull - decodeErrors;
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
    };
  }
}

export function createPipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}
