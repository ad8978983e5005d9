// The reader threads of the query socket: a bounded piscina pool whose
// threads (query-worker.ts) attach a ProcessView to the agent's shared
// tables and answer resolve, tree and dump. The main thread, which also
// routes every record, only hands them the parsed request and writes the
// chunks they send back to the socket, with backpressure: a dump of the
// whole cache never stalls the router. Tasks beyond the threads wait in a
// bounded queue; beyond that the answer is `busy`.

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Socket } from 'node:net';
import { Piscina } from 'piscina';
import type { PipelineHandles } from '../cache/shards.js';
import type { ProcessTableHandles } from '../cache/table.js';
import type { ViewOptions } from '../cache/view.js';
import { workerEntry } from '../workers/paths.js';
import type { PoolRequest } from './query-answers.js';
import type { QueryErrorCode } from './query-protocol.js';

/** How the reader threads read the cache: what ProcessView.attach is given, plus how argv and envs are shown. */
export type ReaderOptions = Pick<ViewOptions, 'procRoot' | 'withEnvs' | 'envsWithValue' | 'scrubWords'>;

export interface QueryWorkerData {
  handles: PipelineHandles | ProcessTableHandles;
  view: ReaderOptions;
}

export interface PoolTask {
  request: PoolRequest;
  /** The reply's channel: the worker's chunks, end or error; the main thread's acks and cancel. */
  port: MessagePort;
}

export type WorkerMessage =
  | { chunk: Uint8Array }
  | { end: true }
  | { error: { code: QueryErrorCode; message: string; stack?: string; partial?: boolean } };

export interface QueryPoolOptions {
  /** Reader threads (default 2). */
  threads?: number;
  /** Requests waiting for a thread before the answer is `busy` (default 32). */
  queue?: number;
}

export const QUERY_POOL_DEFAULTS = { threads: 2, queue: 32 } as const;

/** How much lower the reader threads' priority is than the agent's (nice increment). */
const READER_NICE = 10;

/** How a reply ended. */
export type ReplyOutcome =
  | { kind: 'done' }
  /** An error line to send (nothing of the reply was sent). */
  | { kind: 'error'; code: QueryErrorCode; message: string; stack?: string }
  /** The reply broke off after part of it was sent, or the connection went away: close it. */
  | { kind: 'broken'; message: string; stack?: string };

export class QueryPool {
  private readonly pool: Piscina<PoolTask, void>;
  private closing = false;

  constructor(handles: PipelineHandles | ProcessTableHandles, view: ReaderOptions, options: QueryPoolOptions = {}) {
    const threads = options.threads ?? QUERY_POOL_DEFAULTS.threads;
    const data: QueryWorkerData = { handles, view };
    this.pool = new Piscina({
      filename: workerEntry('query-worker', 'ops').href,
      minThreads: 1,
      maxThreads: threads,
      maxQueue: options.queue ?? QUERY_POOL_DEFAULTS.queue,
      // idle threads beyond the first end after a minute
      idleTimeout: 60_000,
      // a Linux thread's nice value is its own: on a busy host the router and the shard workers get the CPU before a dump
      niceIncrement: READER_NICE,
      workerData: data,
    });
  }

  /** Requests waiting for a thread. */
  get queued(): number {
    return this.pool.queueSize;
  }

  /**
   * Answers `request` on `socket`: the reader thread's chunks are written
   * as they arrive, the next ones let come only as the socket drains. On an
   * error before anything was written the outcome is the error (the caller
   * sends its line); the connection closing cancels the task.
   */
  reply(request: PoolRequest, socket: Socket): Promise<ReplyOutcome> {
    const { port1, port2 } = new MessageChannel();
    return new Promise<ReplyOutcome>((resolve) => {
      let settled = false;
      /** Part of the reply went out: a failure now can only cut the connection. */
      let wrote = false;
      const settle = (o: ReplyOutcome) => {
        if (settled) return;
        settled = true;
        socket.off('close', onClose);
        port1.close();
        resolve(o);
      };
      const ack = () => {
        if (!settled) port1.postMessage('ack');
      };
      const onClose = () => {
        port1.postMessage('cancel');
        settle({ kind: 'broken', message: 'the connection closed' });
      };
      socket.once('close', onClose);
      port1.on('message', (m: WorkerMessage) => {
        if ('chunk' in m) {
          const c = m.chunk;
          wrote = true;
          if (socket.write(Buffer.from(c.buffer, c.byteOffset, c.byteLength))) ack();
          else socket.once('drain', ack);
        } else if ('end' in m) {
          settle({ kind: 'done' });
        } else if (m.error.partial) {
          settle({ kind: 'broken', message: m.error.message, stack: m.error.stack });
        } else {
          settle({ kind: 'error', code: m.error.code, message: m.error.message, stack: m.error.stack });
        }
      });
      this.pool.run({ request, port: port2 }, { transferList: [port2] }).then(
        () => {
          // the worker's last message may still be on its way: it settles
        },
        (err: Error) => {
          if (this.closing) settle({ kind: 'broken', message: 'the query server is closing' });
          else if (wrote) settle({ kind: 'broken', message: `the query thread failed: ${err.message}`, stack: err.stack });
          else if (/queue is at limit/i.test(err.message)) {
            settle({ kind: 'error', code: 'busy', message: 'every query thread is taken and their queue is full' });
          } else {
            settle({ kind: 'error', code: 'internal', message: `the query thread failed: ${err.message}`, stack: err.stack });
          }
        },
      );
    });
  }

  close(): Promise<void> {
    this.closing = true;
    return this.pool.destroy();
  }
}
