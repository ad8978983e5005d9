// A reader thread of the query pool (query-pool.ts; piscina runs this file
// in each of its threads). It attaches a ProcessView to the agent's shared
// tables once, then answers one request per task: the response line goes
// back to the main thread in chunks over the task's MessagePort, at most
// CHUNKS_IN_FLIGHT chunks ahead of the socket (the main thread acks each
// chunk once the socket took it), so a slow client slows this thread, not
// the agent, and a dump is never whole in memory as text.

import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'piscina';
import { ArgvScrubber } from '../cache/scrub.js';
import { ProcessView } from '../cache/view.js';
import { answer, type AnswerContext } from './query-answers.js';
import { RequestError } from './query-protocol.js';
import type { PoolTask, QueryWorkerData, WorkerMessage } from './query-pool.js';

/** Bytes of text gathered before a chunk is sent. */
const CHUNK_BYTES = 64 * 1024;
/** Chunks sent and not yet taken by the socket. */
const CHUNKS_IN_FLIGHT = 4;

let context: AnswerContext | undefined;

function contextOf(data: QueryWorkerData): AnswerContext {
  return (context ??= {
    view: ProcessView.attach(data.handles, data.view),
    scrubber: new ArgvScrubber(data.view.scrubWords ?? []),
    envsWithValue: new Set(data.view.envsWithValue ?? []),
  });
}

class Cancelled extends Error {}

/** Sends text over `port` in transferred chunks, waiting for the main thread's acks. */
class ChunkSender {
  private credit = CHUNKS_IN_FLIGHT;
  private wake: (() => void) | undefined;
  private cancelled = false;
  private readonly encoder = new TextEncoder();
  private text = '';
  /** Whether anything was sent: after that an error cannot be an error line any more. */
  sent = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (m: 'ack' | 'cancel') => {
      if (m === 'cancel') this.cancelled = true;
      else this.credit++;
      this.wake?.();
    });
  }

  async write(piece: string): Promise<void> {
    this.text += piece;
    if (this.text.length >= CHUNK_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.text.length === 0) return;
    while (this.credit === 0 && !this.cancelled) await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    if (this.cancelled) throw new Cancelled();
    this.credit--;
    // an encoded array owns its buffer (a Buffer may share a pool): safe to transfer
    const bytes = this.encoder.encode(this.text);
    this.text = '';
    this.sent = true;
    this.post({ chunk: bytes }, [bytes.buffer]);
  }

  post(m: WorkerMessage, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(m, transfer);
  }
}

/** One task: answers `task.request`; everything goes through `task.port`, which is closed at the end. */
export default async function run(task: PoolTask): Promise<void> {
  const sender = new ChunkSender(task.port);
  try {
    const ctx = contextOf(workerData as QueryWorkerData);
    for (const piece of answer(ctx, task.request)) await sender.write(piece);
    await sender.flush();
    sender.post({ end: true });
  } catch (err) {
    if (err instanceof Cancelled) return;
    if (err instanceof RequestError && !sender.sent) sender.post({ error: { code: err.code, message: err.message } });
    else sender.post({ error: { code: 'internal', message: (err as Error).message, stack: (err as Error).stack, partial: sender.sent } });
  } finally {
    task.port.close();
  }
}
