// The `stats` answer of a running agent: counters of the pipeline (and of
// the live capture when there is one), sampled once a second so that rates
// (events/s) and "dropping now" (drops during the last minute) need no
// state in the caller.

import type { PipelineStats } from '../pipeline/pipeline.js';
import type { DropCounts } from '../pipeline/summary.js';
import { REC_CREDS, REC_EXEC, REC_EXIT, REC_FORK, REC_RENAME } from '../record/constants.js';
import { routerStall } from './loop-stall.js';
import type { AgentStats } from './query-protocol.js';

/** What the sampler reads: the pipeline, and the capture's own drop counters when live. */
export interface StatsInputs {
  source: string;
  pipeline: { stats(): PipelineStats; drops(): DropCounts };
  capture?: { stats(): { lost: bigint; ringFull: bigint } };
}

interface Sample {
  at: number;
  byType: number[];
  drops: number;
}

const WINDOW_MS = 60_000;
/** Process events by record type (LOST, FLUSH, LINK… are bookkeeping, not events). */
const EVENT_TYPES: readonly [number, string][] = [
  [REC_FORK, 'fork'],
  [REC_EXEC, 'exec'],
  [REC_EXIT, 'exit'],
  [REC_CREDS, 'creds'],
  [REC_RENAME, 'rename'],
];

export class StatsSampler {
  private readonly started = performance.now();
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly inputs: StatsInputs) {
    routerStall(); // measuring from the start
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  stats(connections = 0): AgentStats {
    const p = this.inputs.pipeline.stats();
    const drops = this.drops();
    const now = performance.now();
    // rate over the last full sample interval (about one second)
    const last = this.samples.at(-1)!;
    const prev = this.samples.length >= 2 && now - last.at < 500 ? this.samples.at(-2)! : last;
    const dt = Math.max(1e-3, (now - prev.at) / 1000);
    const eventsPerSecond: Record<string, number> = {};
    let total = 0;
    for (const [type, name] of EVENT_TYPES) {
      const r = Math.round(((p.router.byType[type] ?? 0) - (prev.byType[type] ?? 0)) / dt);
      eventsPerSecond[name] = r;
      total += r;
    }
    eventsPerSecond.total = total;
    // drops since the newest sample at least a minute old (since the start when younger)
    let base = 0;
    for (const s of this.samples) if (now - s.at >= WINDOW_MS) base = s.drops;
    const lastMinute = drops.total - base;
    const routed = BigInt(p.router.routed);
    return {
      source: this.inputs.source,
      pid: process.pid,
      uptimeSeconds: Math.round((now - this.started) / 100) / 10,
      eventsPerSecond,
      events: EVENT_TYPES.reduce((n, [type]) => n + (p.router.byType[type] ?? 0), 0),
      drops: { ...drops, lastMinute },
      dropping: lastMinute > 0,
      cacheSize: p.shards.reduce((n, s) => n + s.cacheSize, 0),
      rows: p.shards.reduce((n, s) => n + s.rows, 0),
      shards: p.shards.length,
      shardLag: p.shards.map((s) => Number(routed > s.applied ? routed - s.applied : 0n)),
      workerRestarts: p.workerRestarts,
      routerStallMs: routerStallNow(),
      connections,
    };
  }

  /** The pipeline's drops (the run summary's), with the capture ring's apart from the shard rings'. */
  private drops(): Omit<AgentStats['drops'], 'lastMinute'> {
    const c = this.inputs.capture?.stats();
    const captureRingFull = c ? Number(c.ringFull) : 0;
    const d = this.inputs.pipeline.drops();
    return {
      total: d.total,
      lostEvents: d.lostEvents,
      captureRingFull,
      shardRingFull: d.ringFull - captureRingFull,
      decodeErrors: d.decodeErrors,
      tableFull: d.tableFull,
      linkMessages: d.linkMessages,
    };
  }

  private sample(): void {
    const p = this.inputs.pipeline.stats();
    this.samples.push({ at: performance.now(), byType: [...p.router.byType], drops: this.drops().total });
    const now = performance.now();
    // keep one sample older than the window, so that lastMinute covers all of it
    while (this.samples.length > 2 && now - this.samples[1]!.at > WINDOW_MS) this.samples.shift();
  }
}

/** The router stall as `stats` gives it (the main thread's: call it there). */
export function routerStallNow(): AgentStats['routerStallMs'] {
  const s = routerStall();
  return { max: s.maxOver(WINDOW_MS), p99: s.p99() };
}
