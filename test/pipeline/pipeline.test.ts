// The embedding API of the sharded pipeline (issue 3 "Embedding",
// docs/pipeline.md, docs/summary.md): start/done/stop and the summary,
// states, full rings under the drop policy, and a reader in another thread.
// Workers run dist/: `npm run build` first (npm test does it).

import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ForklineError } from '../../src/errors.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';
import { STANDARD_MIX, type SyntheticOptions } from '../../src/pipeline/sources/synthetic/options.js';
import { BufferSource, countTypes, differences, encodeAll, lineageDiff, livePidsOf, recordOffsets, reference, syntheticBytes } from './helpers.js';

const RETENTION = 2_000_000n;
const CAPACITY = 16384;

/** Fails the test instead of hanging it when a promise never settles. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function stateError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('createPipeline: start, done and the run summary', () => {
  const options: SyntheticOptions = { seed: 31, events: 30_000, pidMax: 2500, lostRate: 0.003, reorderRate: 0.01, flushEvery: 400 };

  it('done() resolves with the summary of docs/summary.md, its counts those of the stream', async () => {
    const { types, lostCount } = countTypes(options);
    expect(lostCount).toBeGreaterThan(0);
    expect(types.reparent).toBeGreaterThan(0);
    const pipeline = createPipeline({ shards: 2, capacity: CAPACITY, source: new SyntheticSource(options), exitedRetention: RETENTION });
    pipeline.start();
    const summary = await within(pipeline.done(), 20_000, 'done()');
    const ref = reference(syntheticBytes(options), { capacity: CAPACITY, exitedRetention: RETENTION });

    expect(Object.keys(summary).sort()).toEqual(
      ['source', 'shards', 'events', 'applied', 'dropped', 'cacheSize', 'rows', 'bytesPerRow', 'workerRestarts', 'seconds', 'eventsPerSecond'].sort(),
    );
    expect(summary.source).toBe('synthetic');
    expect(summary.shards).toBe(2);
    expect(summary.events).toEqual({ ...types, clock: 0 });
    expect(summary.applied).toBe(options.events);
    expect(summary.dropped).toEqual({ total: lostCount, ringFull: 0, decodeErrors: 0, tableFull: 0, lostEvents: lostCount, linkMessages: 0 });
    expect(summary.cacheSize).toBe(ref.size);
    expect(summary.rows).toBe(ref.stats().rows);
    expect(summary.bytesPerRow).toBeGreaterThan(0);
    expect(summary.bytesPerRow).toBeLessThanOrEqual(96); // docs/architecture.md, "Performance targets": at most 96 bytes per row
    expect(summary.workerRestarts).toBe(0);
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.eventsPerSecond).toBeCloseTo(summary.applied / summary.seconds, -1);
    // and the cache is the one the stream gives
    expect(differences({ pipeline, summary, ref }, false)).toEqual([]);
    // JSON-safe: the summary is what `--json` prints
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });

  it('stats() per shard adds up to the summary, and the workers have ended after done()', async () => {
    const pipeline = createPipeline({ shards: 3, capacity: CAPACITY, source: new SyntheticSource(options), exitedRetention: RETENTION });
    pipeline.start();
    expect(pipeline.workerOf(0)).toBeDefined();
    const summary = await within(pipeline.done(), 20_000, 'done()');
    const stats = pipeline.stats();
    expect(stats.shards.map((s) => s.shard)).toEqual([0, 1, 2]);
    expect(stats.shards.reduce((n, s) => n + s.cacheSize, 0)).toBe(summary.cacheSize);
    expect(stats.shards.reduce((n, s) => n + s.rows, 0)).toBe(summary.rows);
    expect(stats.shards.every((s) => s.ringUsed === 0)).toBe(true);
    expect(stats.router.routed).toBe(options.events);
    // every shard published a watermark covering the last record it was sent
    expect(stats.shards.every((s) => s.applied > 0n)).toBe(true);
    expect([0, 1, 2].map((s) => pipeline.workerOf(s))).toEqual([undefined, undefined, undefined]);
    // done() again gives the same counts
    const again = await within(pipeline.done(), 5_000, 'done() again');
    expect({ ...again, seconds: 0, eventsPerSecond: 0 }).toEqual({ ...summary, seconds: 0, eventsPerSecond: 0 });
  });
});

describe('states', () => {
  it('start() twice throws ForklineError ERR_PIPELINE_STATE', async () => {
    const pipeline = createPipeline({ shards: 1, capacity: 4096, source: new SyntheticSource({ seed: 1, events: 2000 }) });
    pipeline.start();
    const err = stateError(() => pipeline.start());
    expect(err).toBeInstanceOf(ForklineError);
    expect((err as ForklineError).code).toBe('ERR_PIPELINE_STATE');
    const summary = await within(pipeline.done(), 20_000, 'done()');
    expect(summary.applied).toBe(2000); // the refused start() changed nothing
    const after = stateError(() => pipeline.start());
    expect(after).toBeInstanceOf(ForklineError);
    expect((after as ForklineError).code).toBe('ERR_PIPELINE_STATE');
  });

  it('stop() before start() returns an empty summary, and the pipeline cannot start afterwards', async () => {
    const pipeline = createPipeline({ shards: 2, capacity: 4096, source: new SyntheticSource({ seed: 1, events: 2000 }) });
    const summary = await within(pipeline.stop(), 5_000, 'stop()');
    expect(summary.applied).toBe(0);
    expect(summary.cacheSize).toBe(0);
    expect(pipeline.workerOf(0)).toBeUndefined();
    const err = stateError(() => pipeline.start());
    expect(err).toBeInstanceOf(ForklineError);
    expect((err as ForklineError).code).toBe('ERR_PIPELINE_STATE');
  });

  it('stop() in the middle returns a summary, ends the workers, and the cache holds exactly the records read', async () => {
    const options: SyntheticOptions = { seed: 8, events: 1_000_000, ...STANDARD_MIX, flushEvery: 1000 };
    let progress = 0;
    let stopping: Promise<unknown> | undefined;
    const pipeline: Pipeline = createPipeline({
      shards: 2,
      capacity: 65536,
      source: new SyntheticSource(options),
      exitedRetention: RETENTION,
      onProgress: () => {
        progress++;
        stopping ??= pipeline.stop();
      },
    });
    pipeline.start();
    const summary = await within(pipeline.done(), 20_000, 'done()');
    expect(stopping).toBeDefined();
    const stopped = (await within(stopping!, 5_000, 'stop()')) as typeof summary;
    expect(stopped.applied).toBe(summary.applied);
    // stopped early, with what was read applied
    expect(summary.applied).toBeGreaterThan(0);
    expect(summary.applied).toBeLessThan(options.events);
    const read = Object.values(summary.events).reduce((a, b) => a + b, 0);
    expect(read).toBe(summary.applied);
    expect([0, 1].map((s) => pipeline.workerOf(s))).toEqual([undefined, undefined]);
    expect(pipeline.stats().shards.every((s) => s.ringUsed === 0)).toBe(true);
    // the cache is ProcessResolver's over the records read (same prefix of the stream)
    const bytes = syntheticBytes({ ...options, events: Math.min(options.events, read + 10) });
    const end = recordOffsets(bytes)[read]!;
    const ref = reference(bytes.subarray(0, end), { capacity: 65536, exitedRetention: RETENTION });
    const view = pipeline.reader();
    expect(lineageDiff(ref, view, new Set([...livePidsOf(ref), ...view.liveEntries().map((e) => e.pid)]))).toEqual([]);
    expect(summary.cacheSize).toBe(ref.size);
    expect(summary.rows).toBe(ref.stats().rows);
    expect(progress).toBeGreaterThanOrEqual(1);
  });
});

describe('full rings', () => {
  it("onFull 'drop' with a 4 KiB ring: drops are counted in dropped.ringFull, and the run ends", async () => {
    const options: SyntheticOptions = { seed: 12, events: 200_000, ...STANDARD_MIX, flushEvery: 0 };
    const pipeline = createPipeline({
      shards: 1,
      capacity: 65536,
      ringBytes: 4096,
      onFull: 'drop',
      source: new SyntheticSource(options),
      exitedRetention: RETENTION,
    });
    pipeline.start();
    const summary = await within(pipeline.done(), 30_000, 'done()');
    expect(summary.dropped.ringFull).toBeGreaterThan(0);
    expect(summary.dropped.total).toBe(summary.dropped.ringFull + summary.dropped.lostEvents);
    // each record read is either applied or dropped, and the worker applied exactly the ones not dropped
    expect(summary.applied + summary.dropped.ringFull).toBe(options.events);
    const stats = pipeline.stats();
    expect(stats.shards[0]!.counters.records).toBe(summary.applied);
    expect(stats.router.ringFull).toEqual([summary.dropped.ringFull]);
  });

  it("onFull 'drop' with 2 shards and tiny rings (cross-shard links in flight): counted, and the run ends", async () => {
    const options: SyntheticOptions = { seed: 13, events: 200_000, ...STANDARD_MIX, flushEvery: 1000 };
    const pipeline = createPipeline({
      shards: 2,
      capacity: 65536,
      ringBytes: 4096,
      onFull: 'drop',
      source: new SyntheticSource(options),
      exitedRetention: RETENTION,
    });
    pipeline.start();
    const summary = await within(pipeline.done(), 30_000, 'done()');
    expect(summary.dropped.ringFull).toBeGreaterThan(0);
    expect(summary.applied).toBeGreaterThan(0);
    expect(summary.applied).toBeLessThan(options.events);
    expect(pipeline.stats().router.ringFull.reduce((a, b) => a + b, 0)).toBe(summary.dropped.ringFull);
    expect(summary.workerRestarts).toBe(0);
  });

  it("onFull 'drop': a FLUSH dropped for every shard is one dropped event, and applied counts what the workers applied", async () => {
    // a stream of FLUSH records only: each is sent to both shards, so the workers' record counters say exactly how many were applied
    const events = 100_000;
    const bytes = encodeAll(Array.from({ length: events }, (_, i) => ({ type: 'flush' as const, time: BigInt(1_000_000 + i), cpu: 0 })));
    const pipeline = createPipeline({ shards: 2, capacity: 1024, ringBytes: 4096, onFull: 'drop', source: new BufferSource(bytes), exitedRetention: RETENTION });
    pipeline.start();
    const summary = await within(pipeline.done(), 30_000, 'done()');
    const perShard = pipeline.stats().shards.map((s) => s.counters.records);
    expect(perShard[0]).toBe(perShard[1]); // a FLUSH goes to every shard or to none
    const appliedFlushes = perShard[0]!;
    expect(appliedFlushes).toBeLessThan(events); // the 4 KiB rings did fill
    expect(summary.events.flush).toBe(events);
    // docs/summary.md: applied = read - ringFull - decodeErrors; dropped.total = every event that did not make it
    expect({ applied: summary.applied, ringFull: summary.dropped.ringFull, total: summary.dropped.total }).toEqual({
      applied: appliedFlushes,
      ringFull: events - appliedFlushes,
      total: events - appliedFlushes,
    });
  });

  it("onFull 'block' (default) with a 4 KiB ring: the router waits for the worker, nothing is dropped", async () => {
    const options: SyntheticOptions = { seed: 14, events: 50_000, pidMax: 4000, flushEvery: 500 };
    const pipeline = createPipeline({
      shards: 2,
      capacity: CAPACITY,
      ringBytes: 4096,
      blockTimeoutMs: 10_000,
      source: new SyntheticSource(options),
      exitedRetention: RETENTION,
    });
    pipeline.start();
    const summary = await within(pipeline.done(), 30_000, 'done()');
    expect(summary.dropped.ringFull).toBe(0);
    expect(summary.applied).toBe(options.events);
    const ref = reference(syntheticBytes(options), { capacity: CAPACITY, exitedRetention: RETENTION });
    expect(differences({ pipeline, summary, ref }, false)).toEqual([]);
  });
});

describe('a reader in another worker thread', () => {
  it('new ProcessView(pipeline.handles) in a worker resolves the same paths and ancestors as the main-thread reader', async () => {
    const options: SyntheticOptions = { seed: 41, events: 20_000, pidMax: 3000, flushEvery: 500 };
    const pipeline = createPipeline({ shards: 2, capacity: CAPACITY, source: new SyntheticSource(options), exitedRetention: RETENTION });
    pipeline.start();
    await within(pipeline.done(), 20_000, 'done()');
    const main = pipeline.reader();
    const live = main.liveEntries();
    expect(live.length).toBeGreaterThan(20);
    // deep chains first, then a pid that is not cached
    const pids = [...live].sort((a, b) => main.ancestors(b.pid).length - main.ancestors(a.pid).length).slice(0, 20).map((e) => e.pid);
    const absent = 1_000_000;
    expect(main.resolve(absent)).toBeUndefined();

    const viewUrl = pathToFileURL(fileURLToPath(new URL('../../dist/cache/view.js', import.meta.url))).href;
    const code = `
      const { parentPort, workerData, threadId } = require('node:worker_threads');
      import(${JSON.stringify(viewUrl)}).then(({ ProcessView }) => {
        const view = new ProcessView(workerData);
        const pids = ${JSON.stringify([...pids, absent])};
        const out = pids.map((pid) => {
          const chain = view.ancestors(pid);
          return {
            pid,
            path: chain[0]?.path,
            argv: chain[0] ? [...chain[0].argv] : undefined,
            ancestors: chain.map((e) => e.pid),
            keys: chain.map((e) => e.pid + ':' + e.forkTime + ':' + e.execTime),
            paths: chain.map((e) => e.path),
          };
        });
        const c = view.cursor();
        let depth = 0;
        if (c.seek(pids[0])) do depth++; while (c.up());
        parentPort.postMessage({ threadId, out, depth, live: view.liveEntries().length });
      }, (err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
    `;
    const worker = new Worker(code, { eval: true, workerData: pipeline.handles });
    const reply = await within(
      new Promise<{ threadId: number; out: unknown[]; depth: number; live: number; error?: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
      10_000,
      'the worker reader',
    );
    await worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.threadId).not.toBe(0);
    const expected = [...pids, absent].map((pid) => {
      const chain = main.ancestors(pid);
      return {
        pid,
        path: chain[0]?.path,
        argv: chain[0] ? [...chain[0].argv] : undefined,
        ancestors: chain.map((e) => e.pid),
        keys: chain.map((e) => `${e.pid}:${e.forkTime}:${e.execTime}`),
        paths: chain.map((e) => e.path),
      };
    });
    expect(reply.out).toEqual(expected);
    // a deep chain that crosses shards, walked with the allocation-free cursor too
    expect(reply.depth).toBe(expected[0]!.ancestors.length);
    expect(reply.depth).toBeGreaterThan(3);
    expect(reply.live).toBe(live.length);
  });
});

describe('records for another pid namespace', () => {
  it('are counted as decode errors by a pipeline keyed by host pids, and the workers keep going', async () => {
    const events = [
      { type: 'fork', pid: 100, ppid: 0, pidns: 0, time: 10n, cpu: 0, execTime: 0n, inode: 1, path: '/bin/a' },
      { type: 'fork', pid: 101, ppid: 0, pidns: 4026532000, time: 20n, cpu: 0, execTime: 0n, inode: 1, path: '/bin/b' },
      { type: 'fork', pid: 102, ppid: 100, pidns: 0, time: 30n, cpu: 0, execTime: 0n, inode: 1, path: '/bin/a' },
    ] as const;
    const bytes = encodeAll(events as never);
    const pipeline = createPipeline({ shards: 2, capacity: 1024, source: new BufferSource(bytes), exitedRetention: RETENTION });
    pipeline.start();
    const summary = await pipeline.done();
    expect(summary.dropped.decodeErrors).toBe(1);
    expect(summary.workerRestarts).toBe(0);
    const view = pipeline.reader();
    expect(view.resolve(102)?.ancestor?.pid).toBe(100);
    expect(view.resolve(101)).toBeUndefined();
  });
});
