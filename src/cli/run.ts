// `forkline run`: watch the host live with the best source it allows.

import { writeFile } from 'node:fs/promises';
import { CacheCore } from '../cache/core.js';
import { bytesPerRow } from '../cache/table.js';
import { ProcfsPoller } from '../pipeline/sources/procfs-poll.js';
import { formatSummary, noDrops, noEvents, type RunSummary } from '../pipeline/summary.js';

export const SOURCES = ['bpf', 'netlink', 'procfs'] as const;
export type SourceName = (typeof SOURCES)[number];

/** Why a source cannot run in this build or on this host; undefined when it can. */
function unavailable(source: SourceName): string | undefined {
  switch (source) {
    case 'bpf':
      return 'BPF capture is not part of this build yet (live-capture issue)';
    case 'netlink':
      return 'the netlink proc connector source is not part of this build yet (live-capture issue)';
    case 'procfs':
      return undefined;
  }
}

export interface RunOptions {
  source?: SourceName;
  duration?: number;
  interval: number;
  summaryJson?: string;
  procRoot: string;
  json?: boolean;
}

export async function run(opts: RunOptions): Promise<number> {
  let source: SourceName | undefined = opts.source;
  if (source) {
    const why = unavailable(source);
    if (why) {
      process.stderr.write(`forkline run: --source ${source} cannot be used: ${why}\n`);
      return 2;
    }
  } else {
    for (const s of SOURCES) {
      const why = unavailable(s);
      if (!why) {
        source = s;
        break;
      }
      process.stderr.write(`forkline run: source ${s} skipped: ${why}\n`);
    }
  }
  if (source !== 'procfs') {
    process.stderr.write('forkline run: no source is available\n');
    return 2;
  }
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
      if (tty) {
        process.stderr.write(`\r\x1b[K${statusLine(core, poller, elapsed)}`);
      } else if (elapsed - lastLine >= 10 || c.fork + c.exec + c.exit > 0) {
        lastLine = elapsed;
        process.stderr.write(`${statusLine(core, poller, elapsed)}\n`);
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
    source,
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

function statusLine(core: CacheCore, poller: ProcfsPoller, elapsed: number): string {
  const t = poller.totals;
  return `forkline: ${elapsed.toFixed(0)}s  fork ${t.fork}  exec ${t.exec}  exit ${t.exit}  cache ${core.size}`;
}

async function sleepUnless(stop: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}
