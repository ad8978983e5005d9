// Metrics to StatsD / DogStatsD (hot-shots): every flush interval, the
// process resolver's and the pipeline's counters as counts of what changed
// since the previous flush, their levels as gauges, and the apply latency as
// a histogram. The catalogue, with the counter behind each metric, is
// docs/metrics.md (a test checks that it names exactly what is emitted).
//
// The agent must never wait on, nor fail because of, its metrics: sends are
// fire-and-forget through hot-shots' bounded buffer; every hot-shots error
// goes to one handler that counts it and writes at most one line a minute;
// when the collector does not keep up (DNS lookups that hang), a flush is
// skipped and counted rather than queued.
//
// `forkline run` starts a reporter when metrics.enabled (startMetrics in
// src/cli/run.ts) and stops it after the pipeline drained, so that the last
// flush counts everything. For replay/synthetic sources leave `capture` out
// of pipelineMetricsSource(); pass `ringBytes` when the pipeline was created
// with one (ring_fill divides by it).

import StatsDClient, { type ClientOptions, type StatsD, type Tags } from 'hot-shots';
import {
  REC_CLOCK,
  REC_CREDS,
  REC_DELETE,
  REC_EXEC,
  REC_EXIT,
  REC_FLUSH,
  REC_FORK,
  REC_LOST,
  REC_RENAME,
  REC_REPARENT,
} from '../record/constants.js';
import type { WriterCounter } from '../cache/counters.js';
import { isIP } from 'node:net';
import type { MetricsSource } from './metrics-source.js';
import { boundedLookup } from './metrics-dns.js';
import { routerStall } from './loop-stall.js';

export type { MetricsSource, RingFill } from './metrics-source.js';
export { pipelineMetricsSource } from './metrics-source.js';

export interface MetricsOptions {
  /** Collector host (default 127.0.0.1). A name is resolved once a minute, one lookup at a time (metrics-dns.ts). */
  host?: string;
  /** Collector port (default 8125). */
  port?: number;
  /** udp (default), uds (a unix datagram socket at `path`: the Datadog agent's), or tcp. */
  protocol?: 'udp' | 'uds' | 'tcp';
  /** uds socket path (default /var/run/datadog/dsd.socket). */
  path?: string;
  /** Prefix of every name (default "forkline."). */
  prefix?: string;
  /** Tags added to every metric: { env: 'prod' } or ['env:prod']. */
  globalTags?: Record<string, string> | string[];
  /** How often metrics are sent (default 10 000 ms). */
  flushIntervalMs?: number;
  /** hot-shots mock mode: nothing is sent, lines are kept in `client.mockBuffer` (tests). */
  mock?: boolean;
  /** Called instead of the stderr line, at the same bounded rate; `suppressed` errors were counted, not reported, since the last call. */
  onError?: (err: Error, suppressed: number) => void;
  /** At most one error report per this many ms (default 60 000). */
  errorLogIntervalMs?: number;
  /** Bytes per datagram (default 1432 for udp/tcp: fits an Ethernet MTU; 8192 for uds). */
  maxBufferSize?: number;
  /** A flush is skipped (counted in stats().skippedFlushes) while this many datagrams are still in flight (default 64). */
  maxInFlight?: number;
  /** How often the apply latency is probed (default 1000 ms, at most flushIntervalMs). */
  latencyProbeMs?: number;
  /** Clock in ms (tests); default Date.now. */
  clock?: () => number;
}

export interface MetricsReporterStats {
  /** Flushes done (including the final one in stop()). */
  flushes: number;
  /** Metric values handed to the client (lines). */
  sent: number;
  /** Errors: hot-shots send/socket errors, and exceptions reading the source. */
  errors: number;
  /** Errors counted but not written out because of the one-line-a-minute bound. */
  droppedLogLines: number;
  /** Flushes skipped because too many datagrams were still in flight. */
  skippedFlushes: number;
  /** Apply-latency samples dropped because a flush interval held too many. */
  droppedLatencySamples: number;
}

/** Router byType index of each event type, with its tag value. */
const EVENT_TYPES: readonly [string, number][] = [
  ['fork', REC_FORK], ['exec', REC_EXEC], ['exit', REC_EXIT], ['creds', REC_CREDS], ['rename', REC_RENAME],
  ['lost', REC_LOST], ['flush', REC_FLUSH], ['delete', REC_DELETE], ['reparent', REC_REPARENT], ['clock', REC_CLOCK],
];

/** Resolver counters summed over the shards: metric name, writer counter, tags. */
const RESOLVER_COUNTS: readonly [string, WriterCounter, string[]][] = [
  ['process_resolver.added', 'addedEvent', ['source:event']],
  ['process_resolver.added', 'addedSnapshot', ['source:snapshot']],
  ['process_resolver.added', 'addedProcfs', ['source:procfs']],
  ['process_resolver.flushed', 'flushed', []],
  ['process_resolver.evicted', 'evicted', []],
  ['process_resolver.pid_reuse', 'pidReuse', []],
  ['process_resolver.exec_bombs', 'execBombs', []],
  ['process_resolver.exit_misses', 'exitMisses', []],
  ['process_resolver.update_misses', 'updateMisses', []],
  ['process_resolver.path_truncated', 'pathTruncated', []],
  ['process_resolver.args_truncated', 'argsTruncated', []],
  ['process_resolver.envs_truncated', 'envsTruncated', []],
  ['process_resolver.link_misses', 'linkMisses', []],
  ['process_resolver.unlink_misses', 'unlinkMisses', []],
  ['process_resolver.reparent', 'reparentSuccess', ['result:success']],
  ['process_resolver.reparent', 'reparentFailed', ['result:failed']],
  ['process_resolver.inode_errors', 'forkInodeMismatch', ['type:fork_inode_mismatch']],
  ['process_resolver.inode_errors', 'execPrevInodeMismatch', ['type:exec_prev_inode_mismatch']],
  ['process_resolver.rejected', 'rejectedPid0', ['reason:pid0']],
  ['process_resolver.rejected', 'rejectedKernelThread', ['reason:kernel_thread']],
  ['process_resolver.rejected', 'rejectedBadPid', ['reason:bad_pid']],
  ['process_resolver.strings_full', 'stringsFull', []],
  ['process_resolver.exit_before_fork', 'exitBeforeFork', []],
  ['process_resolver.ctx_truncated', 'ctxTruncated', []],
];

/** Per-shard drop causes kept by the shard's writer. */
const SHARD_DROPS: readonly [string, WriterCounter][] = [
  ['decode_error', 'decodeErrors'],
  ['table_full', 'rejectedTableFull'],
  ['link_message', 'linkMessagesDropped'],
];

/** Apply-latency samples kept per shard between two flushes. */
const MAX_LATENCY_SAMPLES = 1024;

export class MetricsReporter {
  /** The hot-shots client (tests read `client.mockBuffer` in mock mode). */
  readonly client: StatsD;
  private readonly opts: Required<Pick<MetricsOptions, 'flushIntervalMs' | 'errorLogIntervalMs' | 'maxInFlight' | 'latencyProbeMs'>> & MetricsOptions;
  private readonly clock: () => number;
  /** Highest value seen per counter series (name + tags): counts are the growth past it. */
  private readonly prev = new Map<string, number>();
  private readonly counters: MetricsReporterStats = {
    flushes: 0, sent: 0, errors: 0, droppedLogLines: 0, skippedFlushes: 0, droppedLatencySamples: 0,
  };
  private flushTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastErrorLog = -Infinity;
  private suppressed = 0;
  private state: 'new' | 'running' | 'stopped' = 'new';
  /** The probe in progress: when it started and the target of each shard still to reach it (-1n: reached). */
  private probe: { at: number; target: bigint[]; polls: number } | undefined;
  private latency: number[][] = [];

  constructor(
    private readonly source: MetricsSource,
    options: MetricsOptions = {},
  ) {
    const flushIntervalMs = options.flushIntervalMs ?? 10_000;
    if (!Number.isFinite(flushIntervalMs) || flushIntervalMs <= 0) throw new RangeError(`flushIntervalMs must be > 0, got ${flushIntervalMs}`);
    this.opts = {
      ...options,
      flushIntervalMs,
      errorLogIntervalMs: options.errorLogIntervalMs ?? 60_000,
      maxInFlight: options.maxInFlight ?? 64,
      latencyProbeMs: Math.min(options.latencyProbeMs ?? 1000, flushIntervalMs),
    };
    this.clock = options.clock ?? Date.now;
    const protocol = options.protocol ?? 'udp';
    const host = options.host ?? '127.0.0.1';
    const client: ClientOptions = {
      host,
      port: options.port ?? 8125,
      protocol,
      prefix: options.prefix ?? 'forkline.',
      globalTags: (options.globalTags ?? []) as Tags,
      mock: options.mock === true,
      // one datagram per maxBufferSize bytes; the buffer never holds more than that
      maxBufferSize: options.maxBufferSize ?? (protocol === 'uds' ? 8192 : 1432),
      // reports are flushed explicitly; this only catches what a failed flush left behind
      bufferFlushInterval: 1000,
      // a name is resolved by boundedLookup (below), not per datagram on the libuv thread pool
      cacheDns: false,
      // no client-side telemetry metrics: the set of names is the one in docs/metrics.md
      includeDatadogTelemetry: false,
      // stop() must not wait long on a collector that does not answer
      closingFlushInterval: 20,
      udsRetryOptions: { retries: 0 },
      errorHandler: (err: Error) => this.onError(err),
    };
    if (protocol === 'udp' && isIP(host) === 0) {
      const lookup = boundedLookup({ ttlMs: 60_000, retryMs: 1000, maxWaiters: 64, clock: this.clock });
      client.udpSocketOptions = { type: 'udp4', lookup: lookup as NonNullable<NonNullable<ClientOptions['udpSocketOptions']>['lookup']> };
    }
    if (protocol === 'uds') client.path = options.path ?? '/var/run/datadog/dsd.socket';
    try {
      this.client = new StatsDClient(client);
    } catch (err) {
      // a client that cannot be built (uds without unix-dgram) reports through the error handler, in mock mode
      this.onError(err as Error);
      this.client = new StatsDClient({ ...client, mock: true });
    }
  }

  /** Starts the flush timer (and the apply-latency probes). Never blocks; timers do not keep the process alive. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.flushTimer = setInterval(() => this.flush(), this.opts.flushIntervalMs);
    this.flushTimer.unref();
    this.startProbe();
    this.probeTimer = setInterval(() => this.startProbe(), this.opts.latencyProbeMs);
    this.probeTimer.unref();
  }

  /** Final flush, then closes the client. Resolves within about 2 s whatever the collector does. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearInterval(this.flushTimer);
    clearInterval(this.probeTimer);
    clearTimeout(this.pollTimer);
    this.pollProbe(true);
    this.flush(true);
    await this.close();
  }

  stats(): MetricsReporterStats {
    return { ...this.counters };
  }

  /**
   * Sends what changed since the last flush (called by the timer; tests call
   * it directly). Never throws.
   */
  flush(final = false): void {
    if (this.state === 'stopped' && !final) return;
    const inFlight = (this.client as unknown as { messagesInFlight?: number }).messagesInFlight ?? 0;
    if (!final && inFlight >= this.opts.maxInFlight) {
      // the collector (or its DNS) does not keep up: skip rather than queue; counts catch up at the next flush
      this.counters.skippedFlushes++;
      return;
    }
    this.counters.flushes++;
    try {
      this.report();
    } catch (err) {
      this.onError(err as Error);
    }
    try {
      this.client.flush();
    } catch (err) {
      this.onError(err as Error);
    }
  }

  // ---- what is sent ------------------------------------------------------

  private report(): void {
    const src = this.source;
    const p = src.pipeline();
    const capture = src.capture();
    const rings = src.rings();
    const wm = src.watermarks();

    this.gauge('uptime', Math.max(0, (this.clock() - src.startedAt()) / 1000));

    // the process resolver: the shards' tables summed
    const sum = (name: WriterCounter) => p.shards.reduce((n, s) => n + s.counters[name], 0);
    this.gauge('process_resolver.cache_size', p.shards.reduce((n, s) => n + s.cacheSize, 0));
    this.gauge('process_resolver.rows', p.shards.reduce((n, s) => n + s.rows, 0));
    for (const [name, counter, tags] of RESOLVER_COUNTS) this.count(name, sum(counter), tags);

    // the pipeline
    const r = p.router;
    for (const [type, index] of EVENT_TYPES) this.count('pipeline.events', r.byType[index] ?? 0, [`type:${type}`]);
    this.count('pipeline.routed', r.routed);
    this.count('pipeline.worker_restarts', p.workerRestarts);
    this.count('pipeline.dropped', r.lost, ['cause:lost_events']);
    if (capture) this.count('pipeline.dropped', Number(capture.ringFull), ['cause:capture_ring_full']);
    for (const s of p.shards) {
      const shard = `shard:${s.shard}`;
      this.count('pipeline.records', s.counters.records, [shard]);
      this.count('pipeline.dropped', r.ringFull[s.shard] ?? 0, ['cause:ring_full', shard]);
      for (const [cause, counter] of SHARD_DROPS) this.count('pipeline.dropped', s.counters[counter], [`cause:${cause}`, shard]);
      this.gauge('pipeline.ring_fill', rings.shardCapacity > 0 ? s.ringUsed / rings.shardCapacity : 0, [shard]);
      const target = wm.target[s.shard];
      const applied = wm.applied[s.shard];
      const lag = target !== undefined && applied !== undefined && target > applied ? Number(target - applied) : 0;
      this.gauge('pipeline.shard_lag', lag, [shard]);
    }
    // the reporter runs on the agent's main thread: without a source's figure, this thread's
    const window = this.opts.flushIntervalMs;
    this.gauge('pipeline.router_stall_ms', src.routerStallMs ? src.routerStallMs(window) : routerStall().maxOver(window));
    if (p.visibilityLag && p.visibilityLag.samples > 0) {
      // live sources: kernel timestamp to resolvable, ms, over the last 10 to 20 s
      this.gauge('pipeline.visibility_lag', p.visibilityLag.p50Ms, ['quantile:p50']);
      this.gauge('pipeline.visibility_lag', p.visibilityLag.p99Ms, ['quantile:p99']);
    }
    this.latency.forEach((samples, shard) => {
      for (const ms of samples) this.histogram('pipeline.apply_latency', ms, [`shard:${shard}`]);
    });
    this.latency = [];

    // the live capture, before the router
    if (capture) {
      this.perCpu('capture.lost', capture.lostByCpu, capture.lost);
      if (capture.reserveFailuresByCpu) this.perCpu('capture.reserve_failures', capture.reserveFailuresByCpu, 0n);
      this.count('capture.inversions', Number(capture.inversions ?? 0n));
      if (capture.malformed !== undefined) this.count('capture.malformed', Number(capture.malformed));
      if (capture.wakeups !== undefined) this.count('capture.wakeups', Number(capture.wakeups));
      if (capture.procGone !== undefined) this.count('capture.proc_gone', Number(capture.procGone));
      if (capture.overruns !== undefined) this.count('capture.overruns', Number(capture.overruns));
    }
    if (rings.capture) {
      this.gauge('capture.ring_fill', rings.capture.capacity > 0 ? rings.capture.used / rings.capture.capacity : 0);
    }
  }

  /** One series per CPU (tag cpu:N) when the capture gives the per-CPU array, else the total without a cpu tag. */
  private perCpu(name: string, byCpu: readonly bigint[] | undefined, total: bigint): void {
    if (!byCpu || byCpu.length === 0) {
      this.count(name, Number(total));
      return;
    }
    byCpu.forEach((v, cpu) => this.count(name, Number(v), [`cpu:${cpu}`]));
  }

  /** A counter's growth since the last flush, as a StatsD count (zero included: "no drops" is a value). */
  private count(name: string, total: number, tags: string[] = []): void {
    const key = tags.length > 0 ? `${name}|${tags.join(',')}` : name;
    const prev = this.prev.get(key) ?? 0;
    // a rebuilt shard's counters go back to its watermark and count the re-applied records again: only growth past the highest value counts
    const delta = total > prev ? total - prev : 0;
    if (total > prev) this.prev.set(key, total);
    this.send(() => this.client.increment(name, delta, tags));
  }

  private gauge(name: string, value: number, tags: string[] = []): void {
    this.send(() => this.client.gauge(name, round(value), tags));
  }

  private histogram(name: string, value: number, tags: string[]): void {
    this.send(() => this.client.histogram(name, round(value), tags));
  }

  private send(fn: () => void): void {
    try {
      fn();
      this.counters.sent++;
    } catch (err) {
      this.onError(err as Error);
    }
  }

  // ---- apply latency -----------------------------------------------------
  //
  // A probe reads, for every shard, the watermark it must reach to have
  // applied everything dispatched to it so far (min(G, D[s])), then polls the
  // shard's applied watermark A[s] (1, 2, 4 … 50 ms apart) until it gets
  // there: the time that took is one sample of pipeline.apply_latency for
  // that shard. A shard already there gives 0. One probe at a time.

  private startProbe(): void {
    if (this.probe || this.state !== 'running') return;
    let target: bigint[];
    try {
      target = this.source.watermarks().target.slice();
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    this.probe = { at: performance.now(), target, polls: 0 };
    this.pollProbe(false);
  }

  private pollProbe(final: boolean): void {
    const probe = this.probe;
    if (!probe) return;
    let applied: bigint[];
    try {
      applied = this.source.watermarks().applied;
    } catch (err) {
      this.onError(err as Error);
      this.probe = undefined;
      return;
    }
    const elapsed = performance.now() - probe.at;
    let pending = false;
    probe.target.forEach((target, shard) => {
      if (target < 0n) return;
      if ((applied[shard] ?? -1n) >= target) {
        probe.target[shard] = -1n;
        this.sample(shard, probe.polls === 0 ? 0 : elapsed);
      } else {
        pending = true;
      }
    });
    if (!pending || final) {
      this.probe = undefined;
      return;
    }
    const delay = Math.min(50, 2 ** probe.polls++);
    this.pollTimer = setTimeout(() => this.pollProbe(false), delay);
    this.pollTimer.unref();
  }

  private sample(shard: number, ms: number): void {
    const samples = (this.latency[shard] ??= []);
    if (samples.length >= MAX_LATENCY_SAMPLES) this.counters.droppedLatencySamples++;
    else samples.push(ms);
  }

  // ---- errors and shutdown -----------------------------------------------

  /** Counts every error; reports at most one every errorLogIntervalMs, with how many it left out. */
  private onError(err: Error): void {
    this.counters.errors++;
    const now = this.clock();
    if (now - this.lastErrorLog < this.opts.errorLogIntervalMs) {
      this.suppressed++;
      this.counters.droppedLogLines++;
      return;
    }
    const suppressed = this.suppressed;
    this.lastErrorLog = now;
    this.suppressed = 0;
    try {
      if (this.opts.onError) this.opts.onError(err, suppressed);
      else {
        const more = suppressed > 0 ? ` (${suppressed} more since the last report)` : '';
        process.stderr.write(`forkline metrics: ${err?.message ?? String(err)}${more}; next report in ${Math.round(this.opts.errorLogIntervalMs / 1000)} s at most\n`);
      }
    } catch {
      // a failing reporter must not fail the agent
    }
  }

  /** Closes the client, bounded in time: a collector that never answers does not hold stop() up. */
  private close(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const closeOnce = (retry: boolean) => {
        try {
          this.client.close((err?: Error) => {
            // a failed last flush leaves the socket open (hot-shots): the buffer is empty now, close again
            if (err && retry) {
              this.onError(err);
              closeOnce(false);
            } else done();
          });
        } catch (err) {
          this.onError(err as Error);
          done();
        }
      };
      closeOnce(true);
    });
  }
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
