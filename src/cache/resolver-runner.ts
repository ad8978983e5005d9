// The embedded resolvers' background work (the seed's Start and SendStats):
// exited entries flushed by the clock rather than only when the next event
// arrives, and the resolver's counters sent to StatsD under the agent's
// names (docs/metrics.md), with the read-side counters only a resolver has
// (hits, misses, broken lineage). Timers are unref()ed: a resolver never
// keeps the process alive. docs/cache.md, "Running in the background".

import StatsDClient, { type StatsD, type Tags } from 'hot-shots';
import type { ResolverStats } from './types.js';

/** Where to send: a hot-shots client the caller owns, or where to make one (closed by stop()). */
export type StatsdOption = StatsD | { host?: string; port?: number; prefix?: string; globalTags?: Record<string, string> | string[] };

/** What the runner drives: the resolver's clock, flush and counters. */
export interface RunnerTarget {
  /** The newest event time applied (boot-clock ns, as the events give it). */
  newestTime(): bigint;
  dequeueExited(now: bigint): number;
  stats(): ResolverStats;
}

const AGENT_PREFIX = 'forkline.';

/** [name, value, tags] of every count; names and tags as the agent's (docs/metrics.md) plus the resolver's reads. */
function counts(s: ResolverStats): [string, number, string[]?][] {
  return [
    ['process_resolver.hits', s.hits.event, ['source:event']],
    ['process_resolver.hits', s.hits.snapshot, ['source:snapshot']],
    ['process_resolver.hits', s.hits.procfs, ['source:procfs']],
    ['process_resolver.misses', s.misses],
    ['process_resolver.broken_lineage', s.brokenLineage],
    ['process_resolver.added', s.added.event, ['source:event']],
    ['process_resolver.added', s.added.snapshot, ['source:snapshot']],
    ['process_resolver.added', s.added.procfs, ['source:procfs']],
    ['process_resolver.flushed', s.flushed],
    ['process_resolver.evicted', s.evicted],
    ['process_resolver.pid_reuse', s.pidReuse],
    ['process_resolver.exec_bombs', s.execBombs],
    ['process_resolver.exit_misses', s.exitMisses],
    ['process_resolver.update_misses', s.updateMisses],
    ['process_resolver.path_truncated', s.pathTruncated],
    ['process_resolver.args_truncated', s.argsTruncated],
    ['process_resolver.envs_truncated', s.envsTruncated],
    ['process_resolver.reparent', s.reparent.success, ['result:success']],
    ['process_resolver.reparent', s.reparent.failed, ['result:failed']],
    ['process_resolver.inode_errors', s.inodeErrors.forkInodeMismatch, ['type:fork_inode_mismatch']],
    ['process_resolver.inode_errors', s.inodeErrors.execPrevInodeMismatch, ['type:exec_prev_inode_mismatch']],
    ['process_resolver.rejected', s.rejected.pid0, ['reason:pid0']],
    ['process_resolver.rejected', s.rejected.kernelThread, ['reason:kernel_thread']],
    ['process_resolver.rejected', s.rejected.tableFull, ['reason:table_full']],
    ['process_resolver.strings_full', s.stringsFull],
    ['process_resolver.procfs_fallback', s.procfs.success, ['result:success']],
    ['process_resolver.procfs_fallback', s.procfs.failed, ['result:failed']],
    ['process_resolver.procfs_fallback', s.procfs.rateLimited, ['result:rate_limited']],
  ];
}

export interface RunnerOptions {
  statsd?: StatsdOption;
  /** How often exited entries are flushed by the clock after start() (default 1000 ms). */
  dequeueIntervalMs?: number;
  /** How often sendStats() runs after start() when `statsd` is given (default 10 000 ms). */
  statsIntervalMs?: number;
}

export class ResolverRunner {
  private readonly client: StatsD | undefined;
  /** Prefix written into each name: the agent's for a caller's client (its own prefix, if any, comes first); none for ours, made with it. */
  private readonly namePrefix: string;
  private readonly ownsClient: boolean;
  private readonly dequeueMs: number;
  private readonly statsMs: number;
  private readonly sent = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  /** The newest event time seen at a tick and when (hrtime ns): the clock runs on from there between events. */
  private anchorTime = -1n;
  private anchorAt = 0n;

  constructor(
    private readonly target: RunnerTarget,
    options: RunnerOptions,
  ) {
    this.dequeueMs = intervalOption('dequeueIntervalMs', options.dequeueIntervalMs, 1000);
    this.statsMs = intervalOption('statsIntervalMs', options.statsIntervalMs, 10_000);
    const s = options.statsd;
    if (s === undefined) {
      this.client = undefined;
      this.namePrefix = '';
      this.ownsClient = false;
    } else if (typeof s === 'object' && s !== null && typeof (s as StatsD).increment === 'function' && typeof (s as StatsD).gauge === 'function') {
      this.client = s as StatsD;
      this.namePrefix = AGENT_PREFIX;
      this.ownsClient = false;
    } else if (typeof s === 'object' && s !== null) {
      const o = s as Exclude<StatsdOption, StatsD>;
      if (o.host !== undefined && typeof o.host !== 'string') throw new TypeError('option statsd.host must be a string');
      if (o.port !== undefined && (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535)) {
        throw new RangeError(`option statsd.port must be a port number, got ${String(o.port)}`);
      }
      if (o.prefix !== undefined && typeof o.prefix !== 'string') throw new TypeError('option statsd.prefix must be a string');
      this.client = new StatsDClient({
        host: o.host ?? '127.0.0.1',
        port: o.port ?? 8125,
        prefix: o.prefix ?? AGENT_PREFIX,
        globalTags: (o.globalTags ?? []) as Tags,
        includeDatadogTelemetry: false,
        errorHandler: () => {}, // fire-and-forget: a collector that is not there must not fail the resolver
      });
      this.namePrefix = '';
      this.ownsClient = true;
    } else {
      throw new TypeError('option statsd must be a hot-shots client or { host, port, prefix, globalTags }');
    }
  }

  get running(): boolean {
    return this.timers.length > 0;
  }

  start(): void {
    if (this.running) return;
    const dequeue = setInterval(() => this.dequeueByClock(), this.dequeueMs);
    dequeue.unref();
    this.timers.push(dequeue);
    if (this.client !== undefined) {
      const stats = setInterval(() => this.sendStats(), this.statsMs);
      stats.unref();
      this.timers.push(stats);
    }
  }

  /** Stops the timers; sends the counters a last time and closes a client made here. */
  async stop(): Promise<void> {
    const wasRunning = this.running;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.client === undefined) return;
    if (wasRunning) this.sendStats();
    if (this.ownsClient) await new Promise<void>((done) => this.client!.close(() => done()));
  }

  /**
   * Flushes exited entries by the clock: `now` is the newest event time,
   * run on by the time elapsed since it last moved (sources give times of
   * their own clock — the kernel's boot clock, or a replay's — so the
   * resolver's clock is carried from its last event, not read from ours).
   */
  dequeueByClock(): number {
    const newest = this.target.newestTime();
    const at = process.hrtime.bigint();
    if (newest !== this.anchorTime) {
      this.anchorTime = newest;
      this.anchorAt = at;
    }
    if (newest === 0n) return 0; // nothing applied yet
    return this.target.dequeueExited(newest + (at - this.anchorAt));
  }

  /** Sends the counters' growth since the last send as counts, the cache's levels as gauges. Without `statsd`: a no-op (false). */
  sendStats(): boolean {
    const c = this.client;
    if (c === undefined) return false;
    const s = this.target.stats();
    const p = this.namePrefix;
    c.gauge(`${p}process_resolver.cache_size`, s.cacheSize);
    c.gauge(`${p}process_resolver.rows`, s.rows);
    for (const [name, value, tags] of counts(s)) {
      const key = tags === undefined ? name : `${name}|${tags.join(',')}`;
      const delta = value - (this.sent.get(key) ?? 0);
      this.sent.set(key, value);
      c.increment(`${p}${name}`, Math.max(0, delta), tags ?? []);
    }
    return true;
  }
}

function intervalOption(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`option ${name} must be a positive number of ms, got ${String(v)}`);
  return v;
}
