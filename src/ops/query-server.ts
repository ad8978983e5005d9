// The local query socket of a running agent (docs/operations.md): a UNIX
// socket speaking JSON lines, readable only by root, the agent's own user
// and an optional group, checked with the kernel's peer credentials. It
// reads the cache through a ProcessView in the main thread. Every request
// is bounded (line length, requests per second per connection, concurrent
// connections) and anything malformed gets an error response: a client
// can never take the agent down.

import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { ProcessView } from '../cache/view.js';
import { ArgvScrubber } from '../cache/scrub.js';
import type { ProcessEntry } from '../cache/types.js';
import { authorize, readPeerCredentials, resolveGroup, type PeerReader } from './query-peer.js';
import {
  parseRequest,
  RequestError,
  wireEntry,
  type AgentStats,
  type QueryErrorCode,
  type QueryRequest,
  type TreeNode,
} from './query-protocol.js';

/** What the server needs of the agent: a reader of the cache and its counters. */
export interface QueryAgent {
  view: ProcessView;
  stats(): Omit<AgentStats, 'connections'>;
}

export interface QueryServerOptions {
  path: string;
  /** Members of this group (name or gid) may query too; the socket becomes group-owned. */
  group?: string | null;
  /** Socket file mode (default 0600, 0660 with a group). */
  mode?: number;
  maxRequestBytes?: number;
  requestsPerSecond?: number;
  maxConnections?: number;
  /** Where the peers' /proc/<pid>/status is read (default /proc); user and group names come from its sibling etc/. */
  procRoot?: string;
  /** Extra words to scrub from argv. */
  scrubWords?: readonly string[];
  /** How the peer's credentials are read (default: SO_PEERCRED through the addon). Tests replace it. */
  peerReader?: PeerReader;
  /** Where refusals and server errors are reported (default: stderr). */
  log?: (line: string) => void;
}

export interface QueryServer {
  readonly path: string;
  readonly connections: number;
  /** Stops listening, closes every connection, removes the socket file. */
  close(): Promise<void>;
}

export class QueryServerError extends Error {
  constructor(
    readonly code: 'ERR_SOCKET_IN_USE' | 'ERR_SOCKET_PATH' | 'ERR_SOCKET_GROUP',
    message: string,
  ) {
    super(message);
    this.name = 'QueryServerError';
  }
}

export const QUERY_DEFAULTS = { maxRequestBytes: 65536, requestsPerSecond: 50, maxConnections: 16 } as const;

/** Listens on options.path (replacing a dead agent's socket, never a live one's). */
export async function startQueryServer(options: QueryServerOptions, agent: QueryAgent): Promise<QueryServer> {
  const path = options.path;
  const log = options.log ?? ((line: string) => process.stderr.write(`forkline query: ${line}\n`));
  const gid = options.group != null ? resolveGroup(options.group, `${options.procRoot ?? '/proc'}/../etc`) : undefined;
  if (options.group != null && gid === undefined) throw new QueryServerError('ERR_SOCKET_GROUP', `socket group "${options.group}" does not exist`);
  const mode = options.mode ?? (gid !== undefined ? 0o660 : 0o600);
  const limits = {
    maxRequestBytes: options.maxRequestBytes ?? QUERY_DEFAULTS.maxRequestBytes,
    requestsPerSecond: options.requestsPerSecond ?? QUERY_DEFAULTS.requestsPerSecond,
    maxConnections: options.maxConnections ?? QUERY_DEFAULTS.maxConnections,
  };
  const dir = dirname(path);
  let dirExisted = true;
  try {
    lstatSync(dir);
  } catch {
    dirExisted = false;
  }
  if (!dirExisted) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755); // whatever the umask
  }
  await removeStaleSocket(path);

  const handler = new Handler(agent, options.scrubWords ?? []);
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: false }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a client that went away: nothing to do
    if (sockets.size > limits.maxConnections) {
      refuse(socket, 'too_many_connections', `at most ${limits.maxConnections} connections at once`);
      return;
    }
    let peer;
    try {
      peer = (options.peerReader ?? readPeerCredentials)(socket);
    } catch (err) {
      log(`refused a connection: its peer credentials cannot be read (${(err as Error).message})`);
      refuse(socket, 'forbidden', `peer credentials cannot be read: ${(err as Error).message}`);
      return;
    }
    const auth = authorize(peer, gid, options.procRoot);
    if (!auth.allowed) {
      log(`refused a connection: ${auth.reason}`);
      refuse(socket, 'forbidden', `not allowed: ${auth.reason}; the query socket is for root${gid !== undefined ? ` and group ${gid}` : ''}`);
      return;
    }
    new Connection(socket, handler, limits, auth.root, () => sockets.size, log);
  });
  server.maxConnections = limits.maxConnections * 4; // a hard stop beyond the polite refusals
  const ino = await listen(server, path);
  try {
    chmodSync(path, mode);
    if (gid !== undefined) chownSync(path, process.getuid?.() ?? 0, gid);
  } catch (err) {
    server.close();
    unlinkIfOurs(path, ino);
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    path,
    get connections() {
      return sockets.size;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        unlinkIfOurs(path, ino);
      });
      return closed;
    },
  };
}

/** Binds with a umask that leaves no window in which the socket is open to others; returns the socket's inode. */
function listen(server: Server, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    const old = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve(lstatSync(path).ino);
      });
    } finally {
      process.umask(old);
    }
  });
}

function unlinkIfOurs(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

/** A socket file left by an agent that died is removed; a live agent's is not, nor anything that is not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new QueryServerError('ERR_SOCKET_PATH', `${path} exists and is not a socket: remove it or choose another socket.path`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    const timer = setTimeout(() => {
      c.destroy();
      resolve(true); // something accepted the connection but stays silent: do not steal it
    }, 1000);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve(true);
    });
    c.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT');
    });
  });
  if (alive) throw new QueryServerError('ERR_SOCKET_IN_USE', `another forkline agent is listening on ${path}: stop it first, or give this one another socket.path`);
  unlinkSync(path);
}

function errorLine(code: QueryErrorCode, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message } }) + '\n';
}

function refuse(socket: Socket, code: QueryErrorCode, message: string): void {
  socket.resume(); // read (and discard) what comes: the peer's close is seen at once
  socket.end(errorLine(code, message));
  socket.setTimeout(1000, () => socket.destroy());
}

interface Limits {
  maxRequestBytes: number;
  requestsPerSecond: number;
  maxConnections: number;
}

/** One client: splits lines, enforces the bounds, answers in order, stops reading while the client does not. */
class Connection {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private tokens: number;
  private refilled = performance.now();
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly handler: Handler,
    private readonly limits: Limits,
    private readonly root: boolean,
    private readonly connections: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.tokens = limits.requestsPerSecond;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => socket.resume());
    socket.once('close', () => {
      this.closed = true;
    });
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      if (this.closed) return;
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const part = chunk.subarray(start, nl);
      if (this.pendingBytes + part.length > this.limits.maxRequestBytes) return this.tooLarge();
      const line = this.pending.length > 0 ? Buffer.concat([...this.pending, part]) : part;
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      this.answer(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.pendingBytes + rest.length > this.limits.maxRequestBytes) return this.tooLarge();
      this.pending.push(Buffer.from(rest)); // a copy: the chunk's memory is not ours to keep
      this.pendingBytes += rest.length;
    }
  }

  private tooLarge(): void {
    this.closed = true;
    this.pending = [];
    refuse(this.socket, 'request_too_large', `a request line is at most ${this.limits.maxRequestBytes} bytes`);
  }

  private answer(line: Buffer): void {
    const text = line.toString('utf8').trim();
    if (text.length === 0) return; // blank lines are ignored
    let out: string;
    if (!this.take()) {
      out = errorLine('rate_limited', `at most ${this.limits.requestsPerSecond} requests per second on a connection`);
    } else {
      try {
        out = this.handler.handle(parseRequest(text), this.root, this.connections());
      } catch (err) {
        if (err instanceof RequestError) {
          out = errorLine(err.code, err.message);
        } else {
          this.log(`internal error answering a request: ${(err as Error).stack ?? String(err)}`);
          out = errorLine('internal', `internal error: ${(err as Error).message}`);
        }
      }
    }
    // a client that does not read its answers is not read from either
    if (!this.socket.write(out)) this.socket.pause();
  }

  /** Token bucket: requestsPerSecond tokens, refilled continuously. */
  private take(): boolean {
    const now = performance.now();
    const rate = this.limits.requestsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilled) / 1000) * rate);
    this.refilled = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The answers. Each returns one response line. */
class Handler {
  private readonly scrubber: ArgvScrubber;

  constructor(
    private readonly agent: QueryAgent,
    scrubWords: readonly string[],
  ) {
    this.scrubber = new ArgvScrubber(scrubWords);
  }

  handle(req: QueryRequest, root: boolean, connections: number): string {
    switch (req.op) {
      case 'resolve':
        return this.resolve(req.pid, req.raw && root);
      case 'tree':
        return this.tree(req.pid);
      case 'stats':
        return JSON.stringify({ ok: true, stats: { ...this.agent.stats(), connections } }) + '\n';
      case 'dump': {
        const raw = req.raw && root;
        if (req.format === 'dot') return JSON.stringify({ ok: true, format: 'dot', raw: false, dump: this.agent.view.toDot(true) }) + '\n';
        // toJSON is one line of JSON already: embedded as it is
        return `{"ok":true,"format":"json","raw":${raw},"dump":${this.agent.view.toJSON(raw)}}\n`;
      }
    }
  }

  private argv(e: ProcessEntry, raw: boolean): string[] {
    return raw ? [...e.argv] : this.scrubber.scrub(e.argv);
  }

  private resolve(pid: number, raw: boolean): string {
    const chain = this.agent.view.ancestors(pid);
    if (chain.length === 0) throw new RequestError('not_found', `no process ${pid} in the cache`);
    return JSON.stringify({ ok: true, pid, raw, chain: chain.map((e) => wireEntry(e, this.argv(e, raw))) }) + '\n';
  }

  /**
   * Processes (instances: pid and fork time) under `pid`, or every tree.
   * Live pids are nodes; a live process whose parent exited hangs under
   * that parent as it was at fork time, marked exited, up to a live
   * ancestor or the top of what the cache knows.
   */
  private tree(pid: number | undefined): string {
    interface Node {
      entry: ProcessEntry;
      exited: boolean;
      /** Not a cached pid: only reached as the ancestor of one. */
      ancestorOnly: boolean;
      parentKey: string | undefined;
      children: string[];
    }
    const nodes = new Map<string, Node>();
    const key = (e: ProcessEntry) => `${e.pid}:${e.forkTime}`;
    /** The entry's fork parent: the first entry of another pid up its chain. */
    const forkParent = (e: ProcessEntry): ProcessEntry | undefined => {
      let a = e.ancestor;
      while (a && a.pid === e.pid && a.forkTime === e.forkTime) a = a.ancestor;
      return a;
    };
    const live = this.agent.view.liveEntries();
    for (const e of live) nodes.set(key(e), { entry: e, exited: e.exitTime !== 0n, ancestorOnly: false, parentKey: undefined, children: [] });
    // link every node to its parent instance, adding exited ancestors as needed
    const pending = [...nodes.keys()];
    while (pending.length > 0) {
      const k = pending.pop()!;
      const n = nodes.get(k)!;
      const p = forkParent(n.entry);
      if (!p) continue;
      const pk = key(p);
      if (pk === k) continue;
      let pn = nodes.get(pk);
      if (!pn) {
        pn = { entry: p, exited: true, ancestorOnly: true, parentKey: undefined, children: [] };
        nodes.set(pk, pn);
        pending.push(pk);
      }
      n.parentKey = pk;
      pn.children.push(k);
    }
    let roots: string[];
    if (pid !== undefined) {
      const e = live.find((x) => x.pid === pid);
      if (!e) throw new RequestError('not_found', `no process ${pid} in the cache`);
      roots = [key(e)];
    } else {
      roots = [...nodes.entries()].filter(([, n]) => n.parentKey === undefined).map(([k]) => k);
    }
    const byPid = (a: string, b: string) => {
      const x = nodes.get(a)!.entry;
      const y = nodes.get(b)!.entry;
      return x.pid - y.pid || (x.forkTime < y.forkTime ? -1 : 1);
    };
    roots.sort(byPid);
    // depth first, iteratively (trees can be thousands deep)
    const out: TreeNode[] = [];
    const stack: { k: string; depth: number; parent: number | null }[] = roots.reverse().map((k) => ({ k, depth: 0, parent: null }));
    const seen = new Set<string>();
    while (stack.length > 0) {
      const { k, depth, parent } = stack.pop()!;
      if (seen.has(k)) continue; // a cycle would be a bug: never loop
      seen.add(k);
      const n = nodes.get(k)!;
      const e = n.entry;
      const index = out.length;
      out.push({
        pid: e.pid,
        ppid: e.ppid,
        path: e.path,
        argv: this.scrubber.scrub(e.argv),
        uid: e.credentials.uid,
        user: e.credentials.user,
        containerId: e.containerId,
        exited: n.exited,
        exitCode: n.exited && !n.ancestorOnly ? e.exitCode : null,
        forkTime: String(e.forkTime),
        depth,
        parent,
      });
      const children = [...n.children].sort(byPid).reverse();
      for (const c of children) stack.push({ k: c, depth: depth + 1, parent: index });
    }
    return JSON.stringify({ ok: true, pid: pid ?? null, nodes: out }) + '\n';
  }
}
