// The `forkline` command line.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ProcessResolver } from '../cache/resolver.js';
import { run, SOURCES } from './run.js';
import { replay, synth } from './stream-commands.js';

function positive(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
    }
    return n;
  };
}

function fraction(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`${name} must be in [0, 1)`);
    return n;
  };
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
    .option('--record <file>', 'record the stream it applies (replay it with forkline replay)')
    .option('--json', 'print the final summary as JSON')
    .option('--shards <n>', 'shard workers (default: one per core)', positive('--shards', true))
    .option('--capacity <rows>', 'rows per shard', positive('--capacity', true))
    .option('--ring-bytes-per-cpu <n>', 'bytes of each per-CPU BPF ring buffer (a power of two)', positive('--ring-bytes-per-cpu', true))
    .option('--envs', 'capture environment variables')
    .option('--proc-root <dir>', 'where /proc is', '/proc')
    .action(async (o) => {
      code = await run(o);
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
  program
    .command('synth')
    .description('write a seeded synthetic stream of process churn (the standard mix) to a recording')
    .requiredOption('--events <n>', 'number of events', positive('--events', true))
    .option('--seed <n>', 'seed (same seed, same stream)', positive('--seed', true), 1)
    .requiredOption('--out <file>', 'recording to write')
    .option('--lost-rate <f>', 'fraction of events lost (reported by lost markers)', fraction('--lost-rate'))
    .option('--reorder-rate <f>', 'fraction of adjacent events from different CPUs swapped', fraction('--reorder-rate'))
    .option('--envs', 'include environment variables')
    .action(async (o) => {
      code = await synth(o);
    });
  program
    .command('replay')
    .description('apply a recording through the sharded pipeline and print the summary')
    .argument('<file>', 'recording (from forkline synth or forkline run --record)')
    .option('--shards <n>', 'shard workers (default: one per core)', positive('--shards', true))
    .option('--capacity <rows>', 'rows per shard', positive('--capacity', true))
    .option('--retention-ms <ms>', 'how long exited pids stay resolvable', positive('--retention-ms'))
    .option('--json', 'print the summary as JSON')
    .option('--summary-json <file>', 'write the summary as JSON to a file')
    .action(async (file: string, o) => {
      code = await replay({ file, ...o });
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
