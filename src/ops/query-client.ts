// A client of the agent's query socket (docs/operations.md): one request,
// one response line. A socket that is missing or refuses connections means
// no agent is running, said as such (AgentDownError); an agent that cannot
// take the request now (connections or queue full, no answer in time) is
// busy (AgentBusyError, or a response with a code of BUSY_CODES).

import { connect } from 'node:net';
import type { QueryErrorCode, QueryResponse } from './query-protocol.js';

/** Refusals that mean "the agent runs but cannot answer now": try again later. */
export const BUSY_CODES: readonly QueryErrorCode[] = ['too_many_connections', 'busy', 'rate_limited', 'idle_timeout'];

export function isBusy(res: QueryResponse): boolean {
  return !res.ok && BUSY_CODES.includes(res.error.code);
}

export class AgentDownError extends Error {
  readonly code = 'ERR_AGENT_DOWN';
  constructor(
    readonly socketPath: string,
    readonly errno?: string,
  ) {
    super(`no forkline agent is running (socket ${socketPath}): start it with forkline run`);
    this.name = 'AgentDownError';
  }
}

/** The agent is there but cannot take the request now: its listen backlog is full, or it did not answer in time. */
export class AgentBusyError extends Error {
  readonly code = 'ERR_AGENT_BUSY';
  constructor(
    readonly socketPath: string,
    reason: string,
  ) {
    super(`the forkline agent on ${socketPath} is busy (${reason}): try again`);
    this.name = 'AgentBusyError';
  }
}

/** A refusal or a transport failure that is not "no agent" nor "busy" (permission denied, broken answer). */
export class QueryFailedError extends Error {
  readonly code = 'ERR_QUERY_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'QueryFailedError';
  }
}

export interface QueryOptions {
  timeoutMs?: number;
}

/** Sends one request and resolves with its response object (ok or not). */
export function query(socketPath: string, request: Record<string, unknown>, o: QueryOptions = {}): Promise<QueryResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => done(() => reject(new AgentBusyError(socketPath, `no answer within ${o.timeoutMs ?? 30_000} ms`))),
      o.timeoutMs ?? 30_000,
    );
    socket.once('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: Buffer) => {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        chunks.push(chunk);
        return;
      }
      chunks.push(chunk.subarray(0, nl));
      const text = Buffer.concat(chunks).toString('utf8');
      done(() => {
        try {
          resolve(JSON.parse(text) as QueryResponse);
        } catch {
          reject(new QueryFailedError(`the agent on ${socketPath} sent an answer that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    socket.once('end', () => done(() => reject(new QueryFailedError(`the agent on ${socketPath} closed the connection without an answer`))));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') done(() => reject(new AgentDownError(socketPath, err.code)));
      else if (err.code === 'EAGAIN') done(() => reject(new AgentBusyError(socketPath, 'it accepts no more connections now')));
      else if (err.code === 'EACCES') {
        done(() => reject(new QueryFailedError(`permission denied on ${socketPath}: the query socket is for root and the group of socket.group`)));
      } else done(() => reject(new QueryFailedError(`cannot query the agent on ${socketPath}: ${err.message}`)));
    });
  });
}
