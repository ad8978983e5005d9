// `forkline run`: watch the host live with the best source it allows.

import { writeFile } from 'node:fs/promises';
import { CacheCore } from '../cache/core.js';
import { bytesPerRow } from '../cache/table.js';
import { createPipeline, type Pipeline } from '../pipeline/pipeline.js';
import { REC_CREDS, REC_EXEC, REC_EXIT, REC_FORK, REC_RENAME } from '../pipeline/record.js';
import { CaptureSource, type CaptureKind } from '../pipeline/sources/capture.js';
import { ProcfsPoller } from '../pipeline/sources/procfs-poll.js';
import { ReplayWriter } from '../pipeline/sources/replay.js';
import { formatSummary, noDrops, noEvents, type RunSummary } from '../pipeline/summary.js';

/** Live sources, best first; `procfs` polling is only used when asked for. */
export const SOURCES = ['bpf', 'netlink', 'procfs'] as const;
export type SourceName = (typeof SOURCES)[number];

export interface RunOptions {
  source?: SourceName;
  duration?: number;
  interval: number;
  summaryJson?: string;
  record?: string;
  procRoot: string;
  json?: boolean;
  shards?: number;
  capacity?: number;
  ringBytesPerCpu?: number;
  envs?: boolean;
}

/** What to do about a source that could not start, by error code. */
const REMEDY: Record<string, string> = {
  ERR_BPF_PRIVILEGE: 'run as root (BPF needs CAP_BPF and CAP_PERFMON)',
  ERR_BPF_BTF: 'the kernel needs BTF (CONFIG_DEBUG_INFO_BTF=y, /sys/kernel/btf/vmlinux)',
  ERR_BPF_OBJECT: 'build it: npm run build',
  ERR_NATIVE_MISSING: 'build it: npm run build',
  ERR_NETLINK_PRIVILEGE: 'run as root (the proc connector needs CAP_NET_ADMIN)',
  ERR_NETLINK_UNSUPPORTED: 'the kernel needs CONFIG_PROC_EVENTS, and the agent the host network namespace',
};

function describeFailure(err: unknown): string {
  const e = err as Error & { code?: string };
  const remedy = e.code ? REMEDY[e.code] : undefined;
  return `${e.message}${e.code ? ` [${e.code}]` : ''}${remedy ? `; ${remedy}` : ''}`;
}

export async function run(opts: RunOptions): Promise<number> {
  if (opts.source === 'procfs') return runProcfsPolling(opts);
  const kinds: CaptureKind[] = opts.source ? [opts.source] : ['bpf', 'netlink'];
  const recorder = opts.record ? await ReplayWriter.create(opts.record) : undefined;
  let source: CaptureSource | undefined;
  const failures: string[] = [];
  for (const kind of kinds) {
    try {
      const s = new CaptureSource({
        kind,
        procRoot: opts.procRoot,
        recorder,
        ringBytesPerCpu: opts.ringBytesPerCpu,
        captureEnvs: opts.envs === true,
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
  const pipeline = createPipeline({ source, shards: opts.shards, capacity: opts.capacity, onFull: 'block', envsResolution: opts.envs });
  pipeline.start();
  const done = pipeline.done();
  let failed: unknown;
  done.catch((err: unknown) => {
    failed = err;
  });
  const stop = () => source.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const status = new StatusLine(pipeline, source, process.stderr.isTTY === true);
  try {
    const started = performance.now();
    for (;;) {
      const finished = await Promise.race([done.then(() => true, () => true), sleep(1000).then(() => false)]);
      if (finished) break;
      status.print();
      if (opts.duration !== undefined && (performance.now() - started) / 1000 >= opts.duration) source.stop();
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    status.end();
    source.stop();
    await recorder?.close();
  }
  if (failed) {
    process.stderr.write(`forkline run: ${describeFailure(failed)}\n`);
    return 1;
  }
  const summary = await done;
  const text = JSON.stringify(summary, null, 2);
  if (opts.summaryJson) await writeFile(opts.summaryJson, text + '\n');
  process.stdout.write(opts.json ? text + '\n' : formatSummary(summary));
  return 0;
}

/** The live status: a rewritten line on a terminal, a plain line every 10 s otherwise. */
class StatusLine {
  private last = { at: performance.now(), byType: [] as number[] };
  private lastPlain = 0;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly source: CaptureSource,
    private readonly tty: boolean,
  ) {}

  print(): void {
    const now = performance.now();
    if (!this.tty && now - this.lastPlain < 10_000) return;
    const p = this.pipeline.stats();
    const c = this.source.stats();
    const dt = (now - this.last.at) / 1000;
    const rate = (type: number) => Math.round(((p.router.byType[type] ?? 0) - (this.last.byType[type] ?? 0)) / dt);
    const cache = p.shards.reduce((n, s) => n + s.cacheSize, 0);
    const routed = BigInt(p.router.routed);
    const lag = p.shards.map((s) => String(routed > s.applied ? routed - s.applied : 0n)).join('/');
    const shardFull = p.router.ringFull.reduce((a, b) => a + b, 0);
    const decode = p.shards.reduce((n, s) => n + s.counters.decodeErrors, 0);
    const line =
      `forkline ${this.source.name}: fork ${rate(REC_FORK)}/s exec ${rate(REC_EXEC)}/s exit ${rate(REC_EXIT)}/s ` +
      `creds ${rate(REC_CREDS)}/s rename ${rate(REC_RENAME)}/s | drops lost ${c.lost} capture-full ${c.ringFull} ` +
      `shard-full ${shardFull} decode ${decode} | cache ${cache} | lag ${lag}`;
    this.last = { at: now, byType: [...p.router.byType] };
    this.lastPlain = now;
    process.stderr.write(this.tty ? `\r\x1b[K${line}` : `${line}\n`);
  }

  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

/** `--source procfs`: poll /proc (processes shorter than a poll are not seen). */
async function runProcfsPolling(opts: RunOptions): Promise<number> {
  process.stderr.write(
    `forkline run: polling ${opts.procRoot} every ${opts.interval} ms; processes that start and exit between two polls are not seen\n`,
  );
  const core = new CacheCore({ procRoot: opts.procRoot });
  const poller = new ProcfsPoller(core, opts.procRoot);
  const started = performance.now();
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
      if (opts.duration !== undefined && elapsed >= opts.duration) break;
      await sleepUnless(() => stopping, opts.interval);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
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
  const text = JSON.stringify(summary, null, 2);
  if (opts.summaryJson) await writeFile(opts.summaryJson, text + '\n');
  process.stdout.write(opts.json ? text + '\n' : formatSummary(summary));
  return 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

async function sleepUnless(stop: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

