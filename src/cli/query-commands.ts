// `forkline tree`, `resolve`, `dump` and `status`: ask the running agent
// through its query socket (docs/operations.md) and print the answer.

import { loadConfig } from '../ops/config.js';
import { AgentBusyError, AgentDownError, isBusy, query, QueryFailedError } from '../ops/query-client.js';
import type { AgentStats, QueryResponse, TreeNode, WireEntry } from '../ops/query-protocol.js';
import { OutputFile } from '../pipeline/output-file.js';
import type { VisibilityLag } from '../pipeline/pipeline.js';

export interface QueryCommandOptions {
  socket?: string;
  config?: string;
  json?: boolean;
}

/** --socket, else the config's socket.path (flags > FORKLINE_SOCKET_PATH > config file > default). */
export function socketPathOf(o: QueryCommandOptions): string {
  return loadConfig({ file: o.config, lenientDefaultFile: true, flags: { 'socket.path': o.socket } }).socket.path;
}

/**
 * Exit codes of the query commands (docs/operations.md, "Commands"):
 * 0 answered; 1 no agent is running, or it refused or failed the request
 * (not found, forbidden, a broken answer); 2 (status) the agent dropped
 * events during the last minute; 3 the agent is busy: try again.
 */
export const EXIT = { ok: 0, failed: 1, dropping: 2, busy: 3 } as const;

/** One request: the answer, or the exit code once the failure is printed. */
async function ask(command: string, o: QueryCommandOptions, request: Record<string, unknown>): Promise<Record<string, unknown> | number> {
  let socketPath: string;
  try {
    socketPath = socketPathOf(o);
  } catch (err) {
    process.stderr.write(`forkline ${command}: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
  let res: QueryResponse;
  try {
    res = await query(socketPath, request);
  } catch (err) {
    if (err instanceof AgentBusyError) {
      process.stderr.write(`forkline ${command}: ${err.message}\n`);
      return EXIT.busy;
    }
    if (err instanceof AgentDownError || err instanceof QueryFailedError) {
      process.stderr.write(`forkline ${command}: ${err.message}\n`);
      return EXIT.failed;
    }
    throw err;
  }
  if (!res.ok) {
    if (isBusy(res)) {
      process.stderr.write(`forkline ${command}: the forkline agent on ${socketPath} is busy (${res.error.message}) [${res.error.code}]: try again\n`);
      return EXIT.busy;
    }
    process.stderr.write(`forkline ${command}: ${res.error.message} [${res.error.code}]\n`);
    return EXIT.failed;
  }
  return res;
}

const colours = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

function paint(code: string, s: string): string {
  return colours() ? `\x1b[${code}m${s}\x1b[0m` : s;
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function commandLine(path: string, argv: readonly string[]): string {
  if (argv.length === 0) return path;
  return argv.map(shellQuote).join(' ');
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export async function tree(pid: number | undefined, o: QueryCommandOptions): Promise<number> {
  const res = await ask('tree', o, pid === undefined ? { op: 'tree' } : { op: 'tree', pid });
  if (typeof res === 'number') return res;
  if (o.json) {
    process.stdout.write(JSON.stringify(res) + '\n');
    return 0;
  }
  process.stdout.write(renderTree(res.nodes as TreeNode[], colours() ? (process.stdout.columns ?? 120) : 0));
  return 0;
}

/** pstree-like lines from the flat depth-first node list; `width` 0: no clipping. */
export function renderTree(nodes: readonly TreeNode[], width = 0): string {
  const lastChild = new Map<number | null, number>();
  nodes.forEach((n, i) => lastChild.set(n.parent, i));
  const more: boolean[] = [];
  let out = '';
  nodes.forEach((n, i) => {
    const last = lastChild.get(n.parent) === i;
    let prefix = '';
    for (let d = 1; d < n.depth; d++) prefix += more[d] ? '│  ' : '   ';
    if (n.depth > 0) prefix += last ? '└─ ' : '├─ ';
    more[n.depth] = !last;
    const mark = n.exited ? ` [exited${n.exitCode !== null ? ` ${n.exitCode}` : ''}]` : '';
    let text = `${n.pid} ${commandLine(n.path, n.argv)}`;
    if (width > 0) text = clip(text, Math.max(20, width - prefix.length - mark.length));
    const pid = String(n.pid);
    const body = paint(n.exited ? '2' : '1', pid) + (n.exited ? paint('2', text.slice(pid.length)) : text.slice(pid.length));
    out += `${prefix}${body}${mark ? paint('31', mark) : ''}\n`;
  });
  return out;
}

export async function resolve(pid: number, o: QueryCommandOptions & { raw?: boolean }): Promise<number> {
  const res = await ask('resolve', o, { op: 'resolve', pid, raw: o.raw === true });
  if (typeof res === 'number') return res;
  if (o.json) {
    process.stdout.write(JSON.stringify(res) + '\n');
    return 0;
  }
  process.stdout.write(renderChain(res.chain as WireEntry[]));
  return 0;
}

/** One line per entry of the chain, the process first: pid, path, argv, uid, container. */
export function renderChain(chain: readonly WireEntry[]): string {
  let out = '';
  for (const e of chain) {
    const user = e.user ? `(${e.user})` : '';
    const fields = [
      paint('1', String(e.pid).padStart(7)),
      e.path || '?',
      commandLine('', e.argv) || '-',
      `uid=${e.uid}${user}`,
      `container=${e.containerId || '-'}`,
    ];
    if (e.exited) fields.push(paint('31', `[exited${e.exitCode !== null ? ` ${e.exitCode}` : ''}]`));
    if (e.isParentMissing) fields.push('[parent missing]');
    out += fields.join('  ') + '\n';
  }
  return out;
}

export async function dump(o: QueryCommandOptions & { dot?: boolean; out?: string; raw?: boolean }): Promise<number> {
  const res = await ask('dump', o, { op: 'dump', format: o.dot ? 'dot' : 'json', raw: o.raw === true });
  if (typeof res === 'number') return res;
  const text = o.dot ? String(res.dump) : JSON.stringify(res.dump) + '\n';
  if (o.out) {
    await OutputFile.write(o.out, text);
    process.stderr.write(`forkline dump: written to ${o.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}

/** Exit codes (EXIT): 0 healthy, 1 no agent (or no answer), 2 the agent dropped events during the last minute, 3 busy. */
export async function status(o: QueryCommandOptions): Promise<number> {
  const res = await ask('status', o, { op: 'stats' });
  if (typeof res === 'number') return res;
  const s = res.stats as AgentStats;
  if (o.json) {
    process.stdout.write(JSON.stringify(s) + '\n');
  } else {
    const d = s.drops;
    const lines = [
      `agent      pid ${s.pid}, source ${s.source}, up ${formatUptime(s.uptimeSeconds)}`,
      `events/s   ${s.eventsPerSecond.total ?? 0} (fork ${s.eventsPerSecond.fork ?? 0}, exec ${s.eventsPerSecond.exec ?? 0}, exit ${s.eventsPerSecond.exit ?? 0}); ${s.events} events in all`,
      `drops      ${d.total} (lost ${d.lostEvents}, capture-full ${d.captureRingFull}, shard-full ${d.shardRingFull}, decode ${d.decodeErrors}, table-full ${d.tableFull}, link-messages ${d.linkMessages}); ${d.lastMinute} in the last minute`,
      `cache      ${s.cacheSize} processes, ${s.rows} rows, ${s.shards} shards, lag ${s.shardLag.join('/')}`,
      `stall      router ${s.routerStallMs.max} ms at most in the last minute, p99 ${s.routerStallMs.p99} ms`,
    ];
    // live sources: kernel timestamp to resolvable (src/cli/run.ts adds it to the stats)
    const v = (s as { visibilityLag?: VisibilityLag }).visibilityLag;
    if (v) lines.push(`visible    p50 ${v.p50Ms} ms, p99 ${v.p99Ms} ms, max ${v.maxMs} ms after the kernel's timestamp (${v.samples} records, last 10-20 s)`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (s.dropping) {
    process.stderr.write(`forkline status: the agent dropped ${s.drops.lastMinute} events during the last minute\n`);
    return EXIT.dropping;
  }
  return EXIT.ok;
}

function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${seconds.toFixed(1)}s`;
}
