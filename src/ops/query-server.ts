// The local query socket of a running agent (docs/operations.md): a UNIX
// socket speaking JSON lines, readable only by root, the agent's own user
// and an optional group, checked with the kernel's peer credentials. The
// main thread (which also routes every record) only accepts connections,
// parses requests and writes replies: resolve, tree and dump are answered
// by the reader threads of a query pool (query-pool.ts) attached to the
// shared tables, and stream back in chunks. Every request is bounded (line
// length, requests per second per connection, connections in all and per
// user, an idle timeout, the pool's queue) and anything malformed gets an
// error response: a client can never take the agent down nor stall it.

import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { PipelineHandles } from '../cache/shards.js';
import type { ProcessTableHandles } from '../cache/table.js';
import { authorize, readPeerCredentials, resolveGroup, type PeerReader } from './query-peer.js';
import { QueryPool, type ReaderOptions } from './query-pool.js';
import { routerStall } from './loop-stall.js';
import { routerStallNow } from './query-stats.js';
import { parseRequest, RequestError, type AgentStats, type QueryErrorCode, type QueryRequest } from './query-protocol.js';

/** What the server needs of the agent: its shared tables (for the reader threads) and its counters. */
export interface QueryAgent {
  /** pipeline.handles, or a single table's handles (the procfs poller's). */
  handles: PipelineHandles | ProcessTableHandles;
  /** How the reader threads read the tables (procRoot for user names, envs). */
  reader?: Omit<ReaderOptions, 'scrubWords'>;
  stats(): Omit<AgentStats, 'connections' | 'routerStallMs'>;
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
  /** Connections of one peer uid at once (default 8): one user cannot take every connection. */
  maxConnectionsPerUid?: number;
  /** A connection with no request (and no reply being read) for this long is closed (default 10 s). */
  idleTimeoutMs?: number;
  /** Reader threads answering resolve, tree and dump (default 2). */
  readerThreads?: number;
  /** Requests waiting for a reader thread before the answer is `busy` (default 32). */
  queueLength?: number;
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
  /** Stops listening, closes every connection, ends the reader threads, removes the socket file. */
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

export const QUERY_DEFAULTS = {
  maxRequestBytes: 65536,
  requestsPerSecond: 50,
  maxConnections: 16,
  maxConnectionsPerUid: 8,
  idleTimeoutMs: 10_000,
} as const;

/** Listens on options.path (replacing a dead agent's socket, never a live one's). */
export async function startQueryServer(options: QueryServerOptions, agent: QueryAgent): Promise<QueryServer> {
  const path = options.path;
  const log = options.log ?? ((line: string) => process.stderr.write(`forkline query: ${line}\n`));
  const gid = options.group != null ? resolveGroup(options.group, `${options.procRoot ?? '/proc'}/../etc`) : undefined;
  if (options.group != null && gid === undefined) throw new QueryServerError('ERR_SOCKET_GROUP', `socket group "${options.group}" does not exist`);
  const mode = options.mode ?? (gid !== undefined ? 0o660 : 0o600);
  const limits: Limits = {
    maxRequestBytes: options.maxRequestBytes ?? QUERY_DEFAULTS.maxRequestBytes,
    requestsPerSecond: options.requestsPerSecond ?? QUERY_DEFAULTS.requestsPerSecond,
    maxConnections: options.maxConnections ?? QUERY_DEFAULTS.maxConnections,
    maxConnectionsPerUid: options.maxConnectionsPerUid ?? QUERY_DEFAULTS.maxConnectionsPerUid,
    idleTimeoutMs: options.idleTimeoutMs ?? QUERY_DEFAULTS.idleTimeoutMs,
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
  routerStall(); // the stall figure of `stats` counts from here (or from the StatsSampler's start)

  const pool = new QueryPool(
    agent.handles,
    { ...agent.reader, scrubWords: options.scrubWords ?? [] },
    { threads: options.readerThreads, queue: options.queueLength },
  );
  const sockets = new Set<Socket>();
  const connections = new Set<Connection>();
  const perUid = new Map<number, number>();
  // half-open: a client that sends its requests and shuts down its side (printf … | socat) gets its answers, then the end
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (socket) => {
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
    const mine = perUid.get(peer.uid) ?? 0;
    if (mine >= limits.maxConnectionsPerUid) {
      refuse(socket, 'too_many_connections', `at most ${limits.maxConnectionsPerUid} connections at once per user (uid ${peer.uid})`);
      return;
    }
    perUid.set(peer.uid, mine + 1);
    const uid = peer.uid;
    const c = new Connection(socket, pool, agent, limits, auth.root, () => sockets.size, log);
    connections.add(c);
    socket.once('close', () => {
      connections.delete(c);
      const n = (perUid.get(uid) ?? 1) - 1;
      if (n > 0) perUid.set(uid, n);
      else perUid.delete(uid);
    });
  });
  server.maxConnections = limits.maxConnections * 4; // a hard stop beyond the polite refusals
  // one timer for every connection's idle check
  const idleCheck = setInterval(
    () => {
      const now = performance.now();
      for (const c of connections) c.checkIdle(now);
    },
    Math.max(20, Math.min(1000, limits.idleTimeoutMs / 4)),
  );
  idleCheck.unref();
  let ino: number;
  try {
    ino = await listen(server, path);
  } catch (err) {
    clearInterval(idleCheck);
    await pool.close();
    throw err;
  }
  try {
    chmodSync(path, mode);
    if (gid !== undefined) chownSync(path, process.getuid?.() ?? 0, gid);
  } catch (err) {
    clearInterval(idleCheck);
    server.close();
    unlinkIfOurs(path, ino);
    await pool.close();
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
        clearInterval(idleCheck);
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        unlinkIfOurs(path, ino);
      }).then(() => pool.close());
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
  maxConnectionsPerUid: number;
  idleTimeoutMs: number;
}

/**
 * One client: splits lines, enforces the bounds, answers in order (one
 * reply at a time; it stops reading while a reply is being made or the
 * client does not read), and closes when idle.
 */
class Connection {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private tokens: number;
  private refilled = performance.now();
  private closed = false;
  /** Requests read and not answered yet, in order (a string: its answer, an error line, already known). */
  private readonly queue: (QueryRequest | string)[] = [];
  /** A reply is being made by a reader thread. */
  private replying = false;
  /** The last complete request, reply or drain: what the idle timeout counts from. */
  private lastActivity = performance.now();
  /** The client shut down its side: end ours once every request read is answered. */
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly pool: QueryPool,
    private readonly agent: QueryAgent,
    private readonly limits: Limits,
    private readonly root: boolean,
    private readonly connections: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.tokens = limits.requestsPerSecond;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.lastActivity = performance.now();
      this.updateReading();
    });
    socket.once('end', () => {
      this.ended = true;
      this.next();
    });
    socket.once('close', () => {
      this.closed = true;
    });
  }

  /**
   * Closes the connection when nothing happened on it for the idle
   * timeout: no request, or a reply the client stopped reading. Bytes of
   * an unfinished line do not count (a line sent a byte at a time is idle).
   */
  checkIdle(now: number): void {
    if (this.closed) return;
    const stuck = this.socket.writableNeedDrain;
    if (this.replying && !stuck) {
      this.lastActivity = now; // a reader thread is at work on it
      return;
    }
    if (now - this.lastActivity < this.limits.idleTimeoutMs) return;
    this.closed = true;
    if (stuck) {
      this.socket.destroy(); // it does not read what it asked for
      return;
    }
    refuse(this.socket, 'idle_timeout', `no request for ${this.limits.idleTimeoutMs} ms: connection closed`);
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
      this.read(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.pendingBytes + rest.length > this.limits.maxRequestBytes) return this.tooLarge();
      this.pending.push(Buffer.from(rest)); // a copy: the chunk's memory is not ours to keep
      this.pendingBytes += rest.length;
    }
    this.next();
  }

  private tooLarge(): void {
    this.closed = true;
    this.pending = [];
    this.queue.length = 0;
    refuse(this.socket, 'request_too_large', `a request line is at most ${this.limits.maxRequestBytes} bytes`);
  }

  /** A complete line: parsed and queued (its rate limit counted as it arrives). */
  private read(line: Buffer): void {
    const text = line.toString('utf8').trim();
    if (text.length === 0) return; // blank lines are ignored
    this.lastActivity = performance.now();
    if (!this.take()) {
      this.queue.push(errorLine('rate_limited', `at most ${this.limits.requestsPerSecond} requests per second on a connection`));
      return;
    }
    try {
      this.queue.push(parseRequest(text));
    } catch (err) {
      if (err instanceof RequestError) this.queue.push(errorLine(err.code, err.message));
      else this.queue.push(this.internal(err as Error));
    }
  }

  /** Answers the queued requests in order; one at a time goes to the reader threads. */
  private next(): void {
    while (!this.replying && !this.closed && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (typeof item === 'string') {
        this.socket.write(item);
      } else if (item.op === 'stats') {
        this.socket.write(JSON.stringify({ ok: true, stats: { ...this.agent.stats(), routerStallMs: routerStallNow(), connections: this.connections() } }) + '\n');
      } else {
        const raw = item.op !== 'tree' && item.raw && this.root;
        this.replying = true;
        void this.pool.reply(item.op === 'tree' ? item : { ...item, raw }, this.socket).then((o) => {
          this.replying = false;
          this.lastActivity = performance.now();
          if (o.kind === 'error') {
            if (o.code === 'internal') this.log(`internal error answering a request: ${o.stack ?? o.message}`);
            this.socket.write(errorLine(o.code, o.message));
          } else if (o.kind === 'broken') {
            if (o.stack !== undefined) this.log(`internal error in the middle of a reply: ${o.stack}`);
            this.closed = true;
            this.socket.destroy();
            return;
          }
          this.next();
        });
      }
    }
    if (this.ended && !this.replying && this.queue.length === 0 && !this.closed) {
      this.closed = true;
      this.socket.end();
      return;
    }
    this.updateReading();
  }

  /** Reads while nothing waits: no reply under way, no queued request, nothing the client has not taken. */
  private updateReading(): void {
    if (this.closed) return;
    if (this.replying || this.queue.length > 0 || this.socket.writableNeedDrain) this.socket.pause();
    else this.socket.resume();
  }

  private internal(err: Error): string {
    this.log(`internal error answering a request: ${err.stack ?? String(err)}`);
    return errorLine('internal', `internal error: ${err.message}`);
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
