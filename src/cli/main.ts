// The `forkline` command line.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ProcessResolver } from '../cache/resolver.js';
import { ForklineError } from '../errors.js';
import { checkMemory, checkValue, ConfigError, hostResources, loadConfig } from '../ops/config.js';
import { OutputFile, OutputFileError } from '../pipeline/output-file.js';
import { dump, resolve, status, tree } from './query-commands.js';
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

/** A flag that means what a configuration key means, checked as the key is (same bounds, same message). */
function configValue(key: string) {
  return (v: string): number => {
    try {
      return checkValue(key, v) as number;
    } catch (err) {
      if (err instanceof ConfigError) throw new InvalidArgumentError(err.reason);
      throw err;
    }
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

function pidArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 4194304) throw new InvalidArgumentError('a pid is an integer in 1..4194304');
  return n;
}

/** `forkline run`'s flags as config keys (undefined: not given, the environment or file decides). */
function runFlags(o: Record<string, unknown>): Record<string, unknown> {
  return {
    source: o.source,
    replay: o.replay,
    duration: o.duration,
    interval: o.interval,
    shards: o.shards,
    capacity: o.capacity,
    ringBytesPerCpu: o.ringBytesPerCpu,
    maxLatencyMs: o.maxLatencyMs,
    envs: o.envs,
    procRoot: o.procRoot,
    record: o.record,
    summaryJson: o.summaryJson,
    'socket.path': typeof o.socket === 'string' ? o.socket : undefined,
    'socket.group': o.socketGroup,
    'socket.enabled': o.socket === false ? false : undefined,
  };
}

/** Errors that are the user's input, not a bug: printed as one line, no stack. */
function userError(err: unknown): err is Error & { code?: string } {
  return err instanceof OutputFileError || err instanceof ConfigError || err instanceof ForklineError;
}

/** Checks every output file a command was given before it does any work. */
async function checkOutputs(...files: (string | undefined | null)[]): Promise<void> {
  for (const f of files) if (typeof f === 'string') await OutputFile.check(f);
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  // `forkline tree | head`: a reader that went away is not an error
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(code);
  });
  const program = new Command()
    .name('forkline')
    .description('Process lineage for Linux: every process, its binary, arguments, credentials, container and ancestors.')
    .exitOverride();
  program
    .command('run')
    .description('watch the host live with the best source available, keep the process cache and serve it on the query socket')
    .addOption(new Option('--source <name>', 'force a source').choices([...SOURCES]))
    .option('--duration <seconds>', 'stop after this many seconds', positive('--duration'))
    .option('--interval <ms>', 'poll interval of the procfs source (default 1000)', positive('--interval', true))
    .option('--summary-json <file>', 'write the final summary as JSON to a file')
    .option('--record <file>', 'record the stream it applies (replay it with forkline replay)')
    .option('--json', 'print the final summary as JSON')
    .option('--shards <n>', 'shard workers (default: one per core)', positive('--shards', true))
    .option('--capacity <rows>', 'rows per shard', positive('--capacity', true))
    .option('--ring-bytes-per-cpu <n>', 'bytes of each per-CPU BPF ring buffer (a power of two)', positive('--ring-bytes-per-cpu', true))
    .option('--max-latency-ms <ms>', 'latency budget of the live capture: records wait at most this long in the kernel rings (default 4)', positive('--max-latency-ms', true))
    .option('--envs', 'capture environment variables')
    .option('--proc-root <dir>', 'where /proc is (default /proc)')
    .option('--config <file>', 'configuration file (default /etc/forkline/config.json when it exists)')
    .option('--socket <path>', 'query socket (default /run/forkline/forkline.sock)')
    .option('--no-socket', 'do not serve the query socket')
    .option('--socket-group <group>', 'group allowed to query the agent (socket mode 0660)')
    .option('--print-config', 'print the effective configuration (flags > environment > file > defaults) and exit')
    .addOption(new Option('--replay <file>', 'for tests: apply a recording instead of watching the host, then serve queries').hideHelp())
    .action(async (o) => {
      let config;
      try {
        config = loadConfig({ file: o.config, flags: runFlags(o), host: hostResources() });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`forkline run: ${err.message}\n`);
        code = 2;
        return;
      }
      if (o.printConfig) {
        process.stdout.write(JSON.stringify(config, null, 2) + '\n');
        return;
      }
      await checkOutputs(config.record, config.summaryJson);
      code = await run(config, { json: o.json === true });
    });
  const socketOption = ['--socket <path>', 'the agent\'s query socket (default: socket.path of the configuration)'] as const;
  const configOption = ['--config <file>', 'configuration file, for socket.path (default /etc/forkline/config.json)'] as const;
  program
    .command('tree')
    .description('print the process tree of the running agent (exited ancestors marked)')
    .argument('[pid]', 'only the subtree under this pid', pidArg)
    .option(...socketOption)
    .option(...configOption)
    .option('--json', 'print the answer as JSON')
    .action(async (pid: number | undefined, o) => {
      code = await tree(pid, o);
    });
  program
    .command('resolve')
    .description('print a process and its ancestors, one line each: pid, path, argv, uid, container')
    .argument('<pid>', 'the process', pidArg)
    .option(...socketOption)
    .option(...configOption)
    .option('--raw', 'arguments unscrubbed (root only)')
    .option('--json', 'print the answer as JSON')
    .action(async (pid: number, o) => {
      code = await resolve(pid, o);
    });
  program
    .command('dump')
    .description('print the running agent\'s whole cache as JSON or Graphviz')
    .option('--json', 'JSON (the default)')
    .option('--dot', 'Graphviz DOT')
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--raw', 'arguments unscrubbed (JSON, root only)')
    .option(...socketOption)
    .option(...configOption)
    .action(async (o) => {
      if (o.json && o.dot) {
        process.stderr.write('forkline dump: --json or --dot, not both\n');
        code = 2;
        return;
      }
      await checkOutputs(o.out);
      code = await dump({ ...o, json: false });
    });
  program
    .command('status')
    .description('say whether the agent runs and how it does (exit 1: not running, 2: dropping events, 3: busy)')
    .option(...socketOption)
    .option(...configOption)
    .option('--json', 'print the stats as JSON')
    .action(async (o) => {
      code = await status(o);
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
      await checkOutputs(o.out);
      code = await synth(o);
    });
  program
    .command('replay')
    .description('apply a recording through the sharded pipeline and print the summary')
    .argument('<file>', 'recording (from forkline synth or forkline run --record)')
    .option('--shards <n>', 'shard workers (default: one per core)', configValue('shards'))
    .option('--capacity <rows>', 'rows per shard', configValue('capacity'))
    .option('--retention-ms <ms>', 'how long exited pids stay resolvable', positive('--retention-ms'))
    .option('--json', 'print the summary as JSON')
    .option('--summary-json <file>', 'write the summary as JSON to a file')
    .option('--allow-corrupt', 'exit 0 even when records were refused as corrupt (they are still counted and named)')
    .action(async (file: string, o) => {
      checkMemory({ capacity: o.capacity, shards: o.shards }, hostResources(), 'flag'); // a ConfigError: exit 2, below
      await checkOutputs(o.summaryJson);
      code = await replay({ file, ...o });
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.exitCode === 'number') return e.exitCode;
    if (userError(err)) {
      process.stderr.write(`forkline ${commandOf(argv)}: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
      return err instanceof ForklineError ? 1 : 2;
    }
    throw err;
  }
  return code;
}

/** The subcommand of argv (for messages), skipping the node binary and the script. */
function commandOf(argv: string[]): string {
  return argv.slice(2).find((a) => !a.startsWith('-')) ?? '';
}
