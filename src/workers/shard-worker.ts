// Thread entry of a shard worker (worker_threads). Long-lived: one per
// shard, for the life of the pipeline. piscina does not fit here: it runs
// short tasks from a queue on any free thread, while a shard needs one
// thread bound to one ring and one table for its whole life.

import { parentPort, workerData } from 'node:worker_threads';
import { ShardRunner, type ShardWorkerData } from './shard-runner.js';

const runner = new ShardRunner(workerData as ShardWorkerData);
parentPort?.postMessage({ type: 'ready' });
parentPort?.on('message', (msg: { type: string; target?: number }) => {
  if (msg.type === 'links-into' && msg.target !== undefined) {
    parentPort?.postMessage({ type: 'links', target: msg.target, keys: runner.linksInto(msg.target) });
  }
});
// run() blocks this thread (Atomics.wait while idle), so messages are read
// between batches by a short yield: run it in slices.
function slice(): void {
  if (runner.runSlice()) setImmediate(slice);
  else {
    parentPort?.postMessage({ type: 'done' });
    parentPort?.close(); // nothing more to receive: let the thread end
  }
}
slice();
