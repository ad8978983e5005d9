// Starts the shard workers and watches them. A worker that dies (an
// exception, a kill) is reported to the pipeline, which rebuilds its shard
// and asks for a new worker; a clean end is a worker that drained its
// closed ring.

import { Worker } from 'node:worker_threads';
import { workerEntry } from './paths.js';
import type { LinkKeys } from '../cache/table.js';
import type { ShardWorkerData } from './shard-runner.js';

export interface WorkerCrash {
  shard: number;
  error: Error;
}

export class ShardSupervisor {
  private readonly workers: (Worker | undefined)[];
  private readonly finished: Promise<void>[];
  private stopping = false;
  /** Workers restarted after a crash. */
  restarts = 0;

  constructor(
    shards: number,
    private readonly onCrash: (crash: WorkerCrash) => void,
  ) {
    this.workers = new Array<Worker | undefined>(shards).fill(undefined);
    this.finished = new Array<Promise<void>>(shards).fill(Promise.resolve());
  }

  /** Starts the worker of data.shard; resolves once it runs (its table attached, reading its ring), or has ended. */
  start(data: ShardWorkerData): Promise<void> {
    const shard = data.shard;
    const worker = new Worker(workerEntry('shard-worker'), { workerData: data, name: `forkline-shard-${shard}` });
    this.workers[shard] = worker;
    let running: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (running = resolve));
    this.finished[shard] = new Promise<void>((resolve) => {
      let failure: Error | undefined;
      let done = false;
      worker.on('message', (msg: { type: string }) => {
        if (msg.type === 'ready') running();
        if (msg.type === 'done') done = true;
      });
      worker.on('error', (err) => {
        failure = err;
      });
      worker.on('exit', (code) => {
        if (this.workers[shard] === worker) this.workers[shard] = undefined;
        running();
        resolve();
        if (done && failure === undefined) return;
        if (this.stopping && code === 0) return;
        this.onCrash({ shard, error: failure ?? new Error(`shard ${shard} worker exited with code ${code}`) });
      });
    });
    return ready;
  }

  /**
   * Asks every live worker but the target's for the keys of its rows whose
   * parent lives in `target`. `silent` lists the workers that ended
   * without answering (they died meanwhile).
   */
  async linksInto(target: number): Promise<{ keys: LinkKeys[]; silent: number[] }> {
    const replies = this.workers.map((w, shard) => {
      if (!w || shard === target) return Promise.resolve<LinkKeys | 'none' | 'silent'>('none');
      return new Promise<LinkKeys | 'silent'>((resolve) => {
        const onMessage = (msg: { type: string; target?: number; keys?: LinkKeys }) => {
          if (msg.type === 'links' && msg.target === target && msg.keys) {
            w.off('message', onMessage);
            w.off('exit', onExit);
            resolve(msg.keys);
          }
        };
        const onExit = () => resolve('silent');
        w.on('message', onMessage);
        w.once('exit', onExit);
        w.postMessage({ type: 'links-into', target });
      });
    });
    const answers = await Promise.all(replies);
    const keys: LinkKeys[] = [];
    const silent: number[] = [];
    answers.forEach((a, shard) => {
      if (a === 'silent') silent.push(shard);
      else if (a !== 'none') keys.push(a);
    });
    return { keys, silent };
  }

  /** Whether the worker of a shard is running. */
  alive(shard: number): boolean {
    return this.workers[shard] !== undefined;
  }

  /** The worker of a shard, for tests that kill one. */
  worker(shard: number): Worker | undefined {
    return this.workers[shard];
  }

  /** Resolves when every worker has ended (after its ring was closed and drained). */
  async join(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.finished);
  }

  /** Ends every worker now (the pipeline failed). */
  async terminate(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w?.terminate()));
  }
}
