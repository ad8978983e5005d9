// The query socket's protocol (docs/operations.md, "Query socket"): JSON
// lines, one request object per line, one response object per line.
// Requests are validated here, field by field, before anything reads the
// cache: a request that is not exactly what the protocol says is an error
// response, never an exception.

import type { ProcessEntry } from '../cache/types.js';

export type QueryErrorCode =
  | 'bad_json' // the line is not JSON
  | 'bad_request' // JSON, but not a request object, or a field of the wrong type
  | 'unknown_op' // op is not one of resolve, tree, stats, dump
  | 'not_found' // no cached process with that pid
  | 'request_too_large' // the line is longer than socket.maxRequestBytes (the connection is closed)
  | 'rate_limited' // more than socket.requestsPerSecond on this connection
  | 'too_many_connections' // socket.maxConnections, or the per-user limit, reached (the connection is closed)
  | 'busy' // every reader thread is busy and their queue is full: try again
  | 'idle_timeout' // no request for the idle timeout (the connection is closed)
  | 'forbidden' // the peer is not root, the agent's user or in socket.group (the connection is closed)
  | 'internal'; // a bug: the agent stays up

export interface QueryError {
  code: QueryErrorCode;
  message: string;
}

export type QueryRequest =
  | { op: 'resolve'; pid: number; raw: boolean }
  | { op: 'tree'; pid: number | undefined }
  | { op: 'stats' }
  | { op: 'dump'; format: 'json' | 'dot'; raw: boolean };

export const OPS = ['resolve', 'tree', 'stats', 'dump'] as const;
export const PID_MAX = 4194304;

export class RequestError extends Error {
  constructor(
    readonly code: QueryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A request line (without its newline) as a QueryRequest, or a RequestError saying what is wrong. */
export function parseRequest(line: string): QueryRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new RequestError('bad_json', `request is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RequestError('bad_request', 'a request must be a JSON object with an "op"');
  const r = v as Record<string, unknown>;
  if (typeof r.op !== 'string') throw new RequestError('bad_request', '"op" must be a string: one of ' + OPS.join(', '));
  const allowed = (...keys: string[]) => {
    for (const k of Object.keys(r)) if (k !== 'op' && !keys.includes(k)) throw new RequestError('bad_request', `op "${r.op}" takes no field "${k}"`);
  };
  const bool = (k: string): boolean => {
    if (r[k] === undefined) return false;
    if (typeof r[k] !== 'boolean') throw new RequestError('bad_request', `"${k}" must be true or false`);
    return r[k] as boolean;
  };
  const pid = (required: boolean): number | undefined => {
    if (r.pid === undefined && !required) return undefined;
    const p = r.pid;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > PID_MAX) {
      throw new RequestError('bad_request', `"pid" must be an integer in 1..${PID_MAX}`);
    }
    return p;
  };
  switch (r.op) {
    case 'resolve':
      allowed('pid', 'raw');
      return { op: 'resolve', pid: pid(true)!, raw: bool('raw') };
    case 'tree':
      allowed('pid');
      return { op: 'tree', pid: pid(false) };
    case 'stats':
      allowed();
      return { op: 'stats' };
    case 'dump':
      allowed('format', 'raw');
      if (r.format !== 'json' && r.format !== 'dot') throw new RequestError('bad_request', '"format" must be "json" or "dot"');
      return { op: 'dump', format: r.format, raw: bool('raw') };
    default:
      throw new RequestError('unknown_op', `unknown op ${JSON.stringify(r.op).slice(0, 80)}: one of ${OPS.join(', ')}`);
  }
}

/** One entry of a resolve chain as the protocol sends it (times: decimal strings of ns, boot clock). */
export interface WireEntry {
  pid: number;
  ppid: number;
  path: string;
  comm: string;
  argv: string[];
  argsTruncated: boolean;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  user: string;
  group: string;
  containerId: string;
  cgroup: string;
  tty: string;
  exited: boolean;
  exitCode: number | null;
  forkTime: string;
  execTime: string;
  exitTime: string | null;
  isExec: boolean;
  isParentMissing: boolean;
  source: string;
}

export function wireEntry(e: ProcessEntry, argv: string[], exited = e.exitTime !== 0n): WireEntry {
  return {
    pid: e.pid,
    ppid: e.ppid,
    path: e.path,
    comm: e.comm,
    argv,
    argsTruncated: e.argsTruncated,
    uid: e.credentials.uid,
    gid: e.credentials.gid,
    euid: e.credentials.euid,
    egid: e.credentials.egid,
    user: e.credentials.user,
    group: e.credentials.group,
    containerId: e.containerId,
    cgroup: e.cgroup,
    tty: e.tty,
    exited,
    exitCode: exited ? e.exitCode : null,
    forkTime: String(e.forkTime),
    execTime: String(e.execTime),
    exitTime: e.exitTime !== 0n ? String(e.exitTime) : null,
    isExec: e.isExec,
    isParentMissing: e.isParentMissing,
    source: e.source,
  };
}

/** One process of a tree response: a flat list in depth-first order, `parent` the index of its parent node. */
export interface TreeNode {
  pid: number;
  ppid: number;
  path: string;
  argv: string[];
  uid: number;
  user: string;
  containerId: string;
  /** Not running any more: an exited ancestor of a live process, or a pid waiting out the retention window. */
  exited: boolean;
  exitCode: number | null;
  forkTime: string;
  depth: number;
  parent: number | null;
}

/** The `stats` response body. */
export interface AgentStats {
  source: string;
  pid: number;
  uptimeSeconds: number;
  /** Events routed per second over the last sample window, by type, and their total. */
  eventsPerSecond: Record<string, number>;
  events: number;
  drops: {
    total: number;
    lostEvents: number;
    captureRingFull: number;
    shardRingFull: number;
    decodeErrors: number;
    tableFull: number;
    /** Cross-shard LINK/UNLINK messages that could not be delivered. */
    linkMessages: number;
    /** Drops counted during the last minute (or since the start, when younger). */
    lastMinute: number;
  };
  dropping: boolean;
  cacheSize: number;
  rows: number;
  shards: number;
  /** Records routed to the pipeline that each shard has not applied yet. */
  shardLag: number[];
  workerRestarts: number;
  /**
   * The router stall: how late the agent's main thread (which routes every
   * record) ran, beyond the 10 ms sampling interval of its event-loop
   * delay monitor; `max` over the last minute, `p99` over the last one or
   * two seconds.
   */
  routerStallMs: { max: number; p99: number };
  connections: number;
}

export type QueryResponse = ({ ok: true } & Record<string, unknown>) | { ok: false; error: QueryError };
