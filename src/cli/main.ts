// The `forkline` command line.

import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { CacheCore } from '../cache/core.js';
import { ProcfsPoller } from '../pipeline/sources/procfs-poll.js';
import { ProcessResolver } from '../cache/resolver.js';

/** The summary printed by every command that applies a stream (docs/summary.md). */
export interface RunSummary {
  source: string;
  events: { fork: number; exec: number; exit: number };
  applied: number;
  dropped: { total: number; [cause: string]: number };
  cacheSize: number;
  seconds: number;
  eventsPerSecond: number;
}

const SOURCES = ['bpf', 'netlink', 'procfs'] as const;
type SourceName = (typeof SOURCES)[number];

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

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

async function run(opts: { source?: SourceName; duration?: number; interval: number; summaryJson?: string; procRoot: string; json?: boolean }): Promise<number> {
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
    events: { ...t },
    applied,
    dropped: { total: 0 },
    cacheSize: core.size,
    seconds,
    eventsPerSecond: seconds > 0 ? applied / seconds : 0,
  };
  const text = JSON.stringify(summary, null, 2);
  if (opts.summaryJson) await writeFile(opts.summaryJson, text + '\n');
  process.stdout.write(opts.json ? text + '\n' : humanSummary(summary));
  return 0;
}

function statusLine(core: CacheCore, poller: ProcfsPoller, elapsed: number): string {
  const t = poller.totals;
  return `forkline: ${elapsed.toFixed(0)}s  fork ${t.fork}  exec ${t.exec}  exit ${t.exit}  cache ${core.size}`;
}

function humanSummary(s: RunSummary): string {
  return (
    `source ${s.source}: ${s.applied} events (fork ${s.events.fork}, exec ${s.events.exec}, exit ${s.events.exit}) ` +
    `in ${s.seconds.toFixed(1)} s, ${s.dropped.total} dropped, ${s.cacheSize} processes cached\n`
  );
}

async function sleepUnless(stop: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}

async function snapshot(opts: { dot?: boolean; raw?: boolean; procRoot: string }): Promise<number> {
  const r = new ProcessResolver({ procRoot: opts.procRoot });
  await r.snapshot();
  process.stdout.write(opts.dot ? r.toDot(true) : r.toJSON(opts.raw === true) + '\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('forkline')
    .description('Process lineage for Linux: every process, its binary, arguments, credentials, container and ancestors.')
    .exitOverride();
  program
    .command('run')
    .description('watch the host live with the best source available and keep the process cache')
    .addOption(new Option('--source <name>', 'force a source').choices([...SOURCES]))
    .option('--duration <seconds>', 'stop after this many seconds', positive('--duration'))
    .option('--interval <ms>', 'poll interval of the procfs source', positive('--interval'), 1000)
    .option('--summary-json <file>', 'write the final summary as JSON to a file')
    .option('--json', 'print the final summary as JSON')
    .option('--proc-root <dir>', 'where /proc is', '/proc')
    .action(async (o) => {
      code = await run({ ...o, procRoot: o.procRoot });
    });
  program
    .command('snapshot')
    .description('read /proc once and print the process cache (JSON, or Graphviz with --dot)')
    .option('--dot', 'print Graphviz DOT instead of JSON')
    .option('--raw', 'do not scrub arguments (JSON)')
    .option('--proc-root <dir>', 'where /proc is', '/proc')
    .action(async (o) => {
      code = await snapshot(o);
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.exitCode === 'number') return e.exitCode;
    throw err;
  }
  return code;
}
