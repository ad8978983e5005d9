// `forkline run`: watch the host live with the best source it allows.

import { CacheCore } from '../cache/core.js';
import { bytesPerRow } from '../cache/table.js';
import { socketMode, type ForklineConfig } from '../ops/config.js';
import { MetricsReporter, pipelineMetricsSource } from '../ops/metrics.js';
import type { AgentStats } from '../ops/query-protocol.js';
import { QueryServerError, startQueryServer, type QueryAgent, type QueryServer } from '../ops/query-server.js';
import { StatsSampler } from '../ops/query-stats.js';
import { OutputFile } from '../pipeline/output-file.js';
import { createPipeline, type Pipeline, type VisibilityLag } from '../pipeline/pipeline.js';
import { CaptureSource, type CaptureKind } from '../pipeline/sources/capture.js';
import { ProcfsPoller } from '../pipeline/sources/procfs-poll.js';
import { ReplaySource, ReplayWriter } from '../pipeline/sources/replay.js';
import { formatSummary, noDrops, noEvents, type RunSummary } from '../pipeline/summary.js';

/** Live sources, best first; `procfs` polling is only used when asked for. */
export const SOURCES = ['bpf', 'netlink', 'procfs'] as const;
export type SourceName = (typeof SOURCES)[number];

/** How `run` prints its summary (the rest of what it does is the configuration, src/ops/config.ts). */
export interface RunOutput {
  json?: boolean;
}

/** An error as one line: its message (the capture's errors say what to do) and its code. */
function describeFailure(err: unknown): string {
  const e = err as Error & { code?: string };
  return `${e.message}${e.code ? ` [${e.code}]` : ''}`;
}

export async function run(config: ForklineConfig, out: RunOutput = {}): Promise<number> {
  if (config.replay !== null) return runReplay(config, out);
  if (config.source === 'procfs') return runProcfsPolling(config, out);
  const kinds: CaptureKind[] = config.source !== 'auto' ? [config.source] : ['bpf', 'netlink'];
  const recorder = config.record !== null ? await ReplayWriter.create(config.record) : undefined;
  let source: CaptureSource | undefined;
  const failures: string[] = [];
  for (const kind of kinds) {
    try {
      const s = new CaptureSource({
        kind,
        procRoot: config.procRoot,
        recorder,
        ringBytesPerCpu: config.ringBytesPerCpu ?? undefined,
        captureEnvs: config.envs,
        maxLatencyMs: config.maxLatencyMs,
      });
      s.start();
      source = s;
      break;
    } catch (err) {
      failures.push(`source ${kind} cannot start: ${describeFailure(err)}`);
      process.stderr.write(`forkline run: ${failures.at(-1)}\n`);
    }
  }
  if (!source) {
    await recorder?.close();
    process.stderr.write(
      `forkline run: no live source could start (${kinds.join(', ')} tried); ` +
        `"--source procfs" polls /proc instead, but misses processes shorter than a poll\n`,
    );
    return 2;
  }
  process.stderr.write(`forkline run: source ${source.name}\n`);
  const live = source;
  const pipeline = createPipeline({
    source: live,
    shards: config.shards ?? undefined,
    capacity: config.capacity ?? undefined,
    onFull: 'block',
    envsResolution: config.envs,
  });
  pipeline.start();
  const sampler = new StatsSampler({ source: live.name, pipeline, capture: live });
  // `forkline status` and the status line show the visibility lag too
  const liveStats = (): LiveStats => ({ ...sampler.stats(), visibilityLag: pipeline.visibilityLag() });
  const server = await serveQueries(config, { handles: pipeline.handles, reader: { procRoot: config.procRoot, withEnvs: config.envs }, stats: liveStats });
  if (server === 'fail') {
    live.stop();
    sampler.stop();
    await pipeline.stop().catch(() => {});
    await recorder?.close();
    return 2;
  }
  const metrics = startMetrics(config, pipeline, live);
  const done = pipeline.done();
  let failed: unknown;
  done.catch((err: unknown) => {
    failed = err;
  });
  const stop = () => live.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const status = new StatusLine(liveStats, process.stderr.isTTY === true);
  try {
    const started = performance.now();
    for (;;) {
      const finished = await Promise.race([done.then(() => true, () => true), sleep(1000).then(() => false)]);
      if (finished) break;
      status.print();
      if (config.duration !== null && (performance.now() - started) / 1000 >= config.duration) live.stop();
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    status.end();
    live.stop();
    sampler.stop();
    await server?.close();
    await recorder?.close();
    await done.catch(() => undefined); // the last flush sees the drained pipeline
    await metrics?.stop();
  }
  if (failed) {
    process.stderr.write(`forkline run: ${describeFailure(failed)}\n`);
    return 1;
  }
  const summary = await done;
  await printSummary(summary, config, out);
  return 0;
}

/** StatsD metrics (docs/metrics.md) when metrics.enabled; they never block nor fail the agent. */
function startMetrics(config: ForklineConfig, pipeline: Pipeline, capture?: CaptureSource): MetricsReporter | undefined {
  const m = config.metrics;
  if (!m.enabled) return undefined;
  const reporter = new MetricsReporter(pipelineMetricsSource(pipeline, { capture }), {
    host: m.host,
    port: m.port,
    protocol: m.protocol,
    prefix: m.prefix,
    globalTags: m.tags,
    flushIntervalMs: m.flushIntervalMs,
  });
  reporter.start();
  process.stderr.write(`forkline run: metrics to ${m.protocol}://${m.host}:${m.port} every ${m.flushIntervalMs} ms\n`);
  return reporter;
}

async function printSummary(summary: RunSummary, config: ForklineConfig, out: RunOutput): Promise<void> {
  const text = JSON.stringify(summary, null, 2);
  process.stdout.write(out.json ? text + '\n' : formatSummary(summary)); // first: a file that cannot be written loses nothing
  if (config.summaryJson !== null) await OutputFile.write(config.summaryJson, text + '\n');
}

/**
 * Starts the query socket unless socket.enabled is false. A socket another
 * agent still serves, or a bad path or group, stops the agent ('fail'); a
 * socket that cannot be created for want of rights (run as a user) is a
 * warning: the agent runs without it.
 */
async function serveQueries(config: ForklineConfig, agent: QueryAgent): Promise<QueryServer | undefined | 'fail'> {
  const s = config.socket;
  if (!s.enabled) return undefined;
  try {
    const server = await startQueryServer(
      {
        path: s.path,
        group: s.group,
        mode: socketMode(s),
        maxRequestBytes: s.maxRequestBytes,
        requestsPerSecond: s.requestsPerSecond,
        maxConnections: s.maxConnections,
        procRoot: config.procRoot,
      },
      agent,
    );
    process.stderr.write(`forkline run: query socket ${s.path}\n`);
    return server;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof QueryServerError) {
      process.stderr.write(`forkline run: ${e.message} [${e.code}]\n`);
      return 'fail';
    }
    process.stderr.write(`forkline run: no query socket (${e.message}); forkline tree/resolve/dump/status cannot reach this agent\n`);
    return undefined;
  }
}

/**
 * `--replay FILE` (for tests): the pipeline applies a recording, then the
 * agent stays up serving queries until --duration, SIGINT or SIGTERM.
 */
async function runReplay(config: ForklineConfig, out: RunOutput): Promise<number> {
  const source = new ReplaySource(config.replay!);
  await source.check();
  const pipeline = createPipeline({
    source,
    shards: config.shards ?? undefined,
    capacity: config.capacity ?? undefined,
    exitedRetention: 3600_000_000_000n, // what was replayed stays resolvable while the agent serves it
    envsResolution: config.envs,
  });
  process.stderr.write(`forkline run: source replay (${config.replay})\n`);
  pipeline.start();
  const sampler = new StatsSampler({ source: 'replay', pipeline });
  const server = await serveQueries(config, { handles: pipeline.handles, reader: { procRoot: config.procRoot, withEnvs: config.envs }, stats: () => sampler.stats() });
  if (server === 'fail') {
    sampler.stop();
    await pipeline.stop().catch(() => {});
    return 2;
  }
  const metrics = startMetrics(config, pipeline);
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let code = 0;
  let summary: RunSummary;
  const started = performance.now();
  try {
    try {
      summary = await pipeline.done();
    } catch (err) {
      process.stderr.write(`forkline run: ${describeFailure(err)}\n`);
      code = 1;
      summary = await pipeline.stop();
    }
    process.stderr.write(`forkline run: replay applied (${summary.applied} events); serving queries\n`);
    await sleepUnless(() => stopping || (config.duration !== null && (performance.now() - started) / 1000 >= config.duration), Infinity);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    sampler.stop();
    await server?.close();
    await metrics?.stop();
  }
  await printSummary(summary, config, out);
  return code;
}

/** The live status: a rewritten line on a terminal, a plain line every 10 s otherwise. */
class StatusLine {
  private lastPlain = 0;

  constructor(
    private readonly stats: () => LiveStats,
    private readonly tty: boolean,
  ) {}

  print(): void {
    const now = performance.now();
    if (!this.tty && now - this.lastPlain < 10_000) return;
    this.lastPlain = now;
    const line = formatStatusLine(this.stats());
    process.stderr.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }

  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

/** The stats a live agent answers: AgentStats and the visibility lag (kernel timestamp to resolvable). */
export type LiveStats = Omit<AgentStats, 'connections'> & { visibilityLag?: VisibilityLag };

/** One status line from the agent's stats (the same figures `forkline status` shows). */
export function formatStatusLine(s: Omit<AgentStats, 'connections'> & { visibilityLag?: VisibilityLag }): string {
  const e = s.eventsPerSecond;
  const d = s.drops;
  const v = s.visibilityLag;
  return (
    `forkline ${s.source}: fork ${e.fork}/s exec ${e.exec}/s exit ${e.exit}/s creds ${e.creds}/s rename ${e.rename}/s | ` +
    `drops lost ${d.lostEvents} capture-full ${d.captureRingFull} shard-full ${d.shardRingFull} decode ${d.decodeErrors} ` +
    `table-full ${d.tableFull} link-messages ${d.linkMessages} | cache ${s.cacheSize} | lag ${s.shardLag.join('/')}` +
    (v ? ` | visible p50 ${v.p50Ms} ms p99 ${v.p99Ms} ms` : '')
  );
}

/** `--source procfs`: poll /proc (processes shorter than a poll are not seen). */
async function runProcfsPolling(config: ForklineConfig, out: RunOutput): Promise<number> {
  process.stderr.write(
    `forkline run: polling ${config.procRoot} every ${config.interval} ms; processes that start and exit between two polls are not seen\n`,
  );
  const core = new CacheCore({ procRoot: config.procRoot });
  const poller = new ProcfsPoller(core, config.procRoot);
  const started = performance.now();
  const server = await serveQueries(config, {
    handles: core.table.handles,
    reader: { procRoot: config.procRoot },
    stats: () => procfsStats(core, poller, started),
  });
  if (server === 'fail') return 2;
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  try {
    while (!stopping) {
      const c = await poller.poll();
      const elapsed = (performance.now() - started) / 1000;
      const t = poller.totals;
      const line = `forkline procfs: ${elapsed.toFixed(0)}s  fork ${t.fork}  exec ${t.exec}  exit ${t.exit}  cache ${core.size}`;
      if (tty) {
        process.stderr.write(`\r\x1b[K${line}`);
      } else if (elapsed - lastLine >= 10 || c.fork + c.exec + c.exit > 0) {
        lastLine = elapsed;
        process.stderr.write(`${line}\n`);
      }
      if (config.duration !== null && elapsed >= config.duration) break;
      await sleepUnless(() => stopping, config.interval);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await server?.close();
  }
  if (tty) process.stderr.write('\n');
  const seconds = (performance.now() - started) / 1000;
  const t = poller.totals;
  const applied = t.fork + t.exec + t.exit;
  const summary: RunSummary = {
    source: 'procfs',
    shards: 1,
    events: { ...noEvents(), ...t },
    applied,
    dropped: noDrops(),
    cacheSize: core.size,
    rows: core.stats().rows,
    bytesPerRow: bytesPerRow(core.table.capacity),
    workerRestarts: 0,
    seconds,
    eventsPerSecond: seconds > 0 ? applied / seconds : 0,
  };
  await printSummary(summary, config, out);
  return 0;
}

/** The `stats` answer of the procfs poller (no pipeline, no drops it could know of). */
function procfsStats(core: CacheCore, poller: ProcfsPoller, started: number): Omit<AgentStats, 'connections' | 'routerStallMs'> {
  const t = poller.totals;
  const seconds = (performance.now() - started) / 1000;
  const rate = (n: number) => (seconds > 0 ? Math.round(n / seconds) : 0);
  return {
    source: 'procfs',
    pid: process.pid,
    uptimeSeconds: Math.round(seconds * 10) / 10,
    eventsPerSecond: { fork: rate(t.fork), exec: rate(t.exec), exit: rate(t.exit), total: rate(t.fork + t.exec + t.exit) },
    events: t.fork + t.exec + t.exit,
    drops: { total: 0, lostEvents: 0, captureRingFull: 0, shardRingFull: 0, decodeErrors: 0, tableFull: 0, linkMessages: 0, lastMinute: 0 },
    dropping: false,
    cacheSize: core.size,
    rows: core.stats().rows,
    shards: 1,
    shardLag: [0],
    workerRestarts: 0,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

async function sleepUnless(stop: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

