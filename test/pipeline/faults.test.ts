// Issue 3 "Faults" and docs/architecture.md invariant 7: a shard worker killed
// mid-stream is restarted and its shard rebuilt; malformed records are
// counted and skipped while the rest applies; corrupt replay files report
// the byte offset after applying everything before it.
// Workers run dist/: `npm run build` first (npm test does it).

import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ForklineError } from '../../src/errors.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import {
  CREDS_CREDS_MASK,
  FORK_GIVEN,
  FORK_LENS,
  H_FLAGS,
  H_SIZE,
  H_TYPE,
  REC_CREDS,
  REC_EXEC,
  REC_EXIT,
  REC_FLUSH,
  REC_FORK,
  REC_RENAME,
  RENAME_LENS,
  VAR_PATH,
} from '../../src/record/constants.js';
import { REPLAY_HEADER_BYTES, ReplaySource, ReplayWriter } from '../../src/pipeline/sources/replay.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';
import { STANDARD_MIX, type SyntheticOptions } from '../../src/pipeline/sources/synthetic/options.js';
import type { RecordSource } from '../../src/pipeline/source.js';
import {
  BufferSource,
  concat,
  differences,
  lineageDiff,
  livePidsOf,
  recordOffsets,
  reference,
  rejectionOf,
  syntheticBytes,
  tempDir,
} from './helpers.js';

const RETENTION = 2_000_000n;
const CAPACITY = 16384;

const tmp = tempDir('forkline-faults-');
afterAll(() => tmp.remove());

/** Fails the test instead of hanging it when a promise never settles. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function lineageOf(pipeline: Pipeline, ref: ReturnType<typeof reference>): string[] {
  const view = pipeline.reader();
  const pids = new Set([...livePidsOf(ref), ...view.liveEntries().map((e) => e.pid)]);
  const out = lineageDiff(ref, view, pids);
  const cacheSize = pipeline.stats().shards.reduce((n, s) => n + s.cacheSize, 0);
  const rows = pipeline.stats().shards.reduce((n, s) => n + s.rows, 0);
  if (cacheSize !== ref.size) out.push(`cache size: reference ${ref.size}, pipeline ${cacheSize}`);
  if (rows !== ref.stats().rows) out.push(`rows: reference ${ref.stats().rows}, pipeline ${rows}`);
  return out;
}

describe('a shard worker killed mid-stream is restarted and its shard rebuilt', () => {
  // big enough that the router is still reading when the first progress report comes
  const options: SyntheticOptions = { seed: 1, events: 200_000, ...STANDARD_MIX, maxLive: 2000, pidMax: 3000, lostRate: 0.001, reorderRate: 0.01, flushEvery: 500 };
  let expected: ReturnType<typeof reference> | undefined;
  const ref = () => (expected ??= reference(syntheticBytes(options), { capacity: CAPACITY, exitedRetention: RETENTION }));

  for (const [shards, victims] of [
    [1, [0]],
    [2, [0]],
    [2, [1]],
    [2, [0, 1]],
  ] as const) {
    it(`${shards} shard(s), killing the worker of shard ${victims.join(' and ')} at the first progress report: same lineage as ProcessResolver`, async () => {
      const kills: { shard: number; records: number; threadId: number }[] = [];
      const pipeline: Pipeline = createPipeline({
        shards,
        capacity: CAPACITY,
        source: new SyntheticSource(options),
        exitedRetention: RETENTION,
        onProgress: (p) => {
          if (kills.length > 0) return;
          for (const shard of victims) {
            const worker = pipeline.workerOf(shard);
            if (!worker) continue;
            kills.push({ shard, records: p.records, threadId: worker.threadId });
            void worker.terminate();
          }
        },
      });
      pipeline.start();
      const summary = await within(pipeline.done(), 15_000, 'done()');
      // the kill happened mid-stream, and a new worker replaced each victim
      expect(kills.map((k) => k.shard)).toEqual([...victims]);
      expect(kills[0]!.records).toBeLessThan(options.events);
      expect(summary.workerRestarts).toBeGreaterThanOrEqual(victims.length);
      expect(pipeline.stats().workerRestarts).toBe(summary.workerRestarts);
      // the rebuilt shard holds exactly what it would have without the crash
      expect(differences({ pipeline, summary, ref: ref() }, false, { restarts: true })).toEqual([]);
      expect(summary.events.fork + summary.events.exec + summary.events.exit).toBeGreaterThan(0);
      expect(summary.applied).toBe(options.events);
    });
  }

  it('a ring that was full when its worker died waits for the new worker: the rebuild does not count against blockTimeoutMs', async () => {
    // a small ring is full most of the time, and building a worker and its shard takes longer than 50 ms
    const pipeline: Pipeline = createPipeline({
      shards: 1,
      capacity: CAPACITY,
      ringBytes: 1 << 16,
      blockTimeoutMs: 50,
      source: new SyntheticSource(options),
      exitedRetention: RETENTION,
      onProgress: () => {
        const worker = pipeline.workerOf(0);
        if (worker && pipeline.stats().workerRestarts === 0) void worker.terminate();
      },
    });
    pipeline.start();
    const summary = await within(pipeline.done(), 30_000, 'done()');
    expect(summary.workerRestarts).toBeGreaterThanOrEqual(1);
    expect(summary.dropped.ringFull).toBe(0);
    expect(summary.applied).toBe(options.events);
  });

  it('the counters count each record once across a restart (decode errors, flushes, pid reuse)', async () => {
    // a few malformed records early in the stream, applied before the kill, then read again by the rebuild
    const clean = syntheticBytes(options);
    const bytes = clean.slice();
    const dv = new DataView(bytes.buffer);
    const offsets = recordOffsets(bytes).slice(0, 20_000);
    let bad = 0;
    for (const off of offsets) {
      if (dv.getUint16(off + H_TYPE, true) === REC_EXIT && bad < 5 && off > 100_000) {
        dv.setUint16(off + H_FLAGS, 0x40, true); // an unknown flag: framable, rejected by validateRecord
        bad++;
      }
    }
    expect(bad).toBe(5);
    const ref = reference(bytes, { capacity: CAPACITY, exitedRetention: RETENTION });
    let records = -1;
    const pipeline: Pipeline = createPipeline({
      shards: 1,
      capacity: CAPACITY,
      source: new BufferSource(bytes, 1 << 20),
      exitedRetention: RETENTION,
      onProgress: (p) => {
        if (records >= 0) return;
        records = p.records;
        void pipeline.workerOf(0)?.terminate();
      },
    });
    pipeline.start();
    const summary = await within(pipeline.done(), 15_000, 'done()');
    expect(records).toBeGreaterThan(20_000);
    expect(summary.workerRestarts).toBe(1);
    expect(lineageOf(pipeline, ref)).toEqual([]);
    const counters = pipeline.stats().shards[0]!.counters;
    const refStats = ref.stats();
    expect({
      decodeErrors: summary.dropped.decodeErrors,
      flushed: counters.flushed,
      pidReuse: counters.pidReuse,
      execBombs: counters.execBombs,
      addedEvent: counters.addedEvent,
    }).toEqual({
      decodeErrors: bad,
      flushed: refStats.flushed,
      pidReuse: refStats.pidReuse,
      execBombs: refStats.execBombs,
      addedEvent: refStats.added.event,
    });
  });

  it('a source that cannot be read again: done() rejects with ERR_WORKER_FAILED (and does not hang)', async () => {
    const bytes = syntheticBytes({ ...options, events: 150_000 });
    const inner = new BufferSource(bytes);
    const once: RecordSource = { name: 'once', replayable: false, totalBytes: bytes.length, chunks: () => inner.chunks() };
    let killed = false;
    const pipeline: Pipeline = createPipeline({
      shards: 2,
      capacity: CAPACITY,
      source: once,
      exitedRetention: RETENTION,
      onProgress: () => {
        if (killed) return;
        killed = true;
        void pipeline.workerOf(0)?.terminate();
      },
    });
    pipeline.start();
    const err = await within(rejectionOf(pipeline.done()), 10_000, 'done()');
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(ForklineError);
    expect(err.code).toBe('ERR_WORKER_FAILED');
  });
});

describe('a worker that keeps dying', () => {
  it('is rebuilt within the restart budget, then done() rejects with ERR_WORKER_FAILED naming the count and the last error', async () => {
    const bytes = syntheticBytes({ seed: 11, events: 400_000 });
    let kills = 0;
    const pipeline: Pipeline = createPipeline({
      shards: 2,
      capacity: CAPACITY,
      source: new BufferSource(bytes),
      exitedRetention: RETENTION,
      restartBudget: { restarts: 2, windowMs: 60_000 },
      onProgress: () => {
        const w = pipeline.workerOf(0);
        if (!w) return;
        kills++;
        void w.terminate();
      },
    });
    pipeline.start();
    const err = await within(rejectionOf(pipeline.done()), 60_000, 'done()');
    expect(err).toBeInstanceOf(ForklineError);
    expect(err.code).toBe('ERR_WORKER_FAILED');
    expect(err.message).toMatch(/shard 0 worker failed 3 times within 60000 ms; not rebuilt again\. Last error: shard 0 worker exited with code 1/);
    expect(kills).toBe(3);
  }, 90_000);
});

/** The synthetic stream as records, and their offsets and types. */
function recordsOf(options: SyntheticOptions) {
  const bytes = syntheticBytes(options);
  const offsets = recordOffsets(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types = offsets.map((off) => dv.getUint16(off + H_TYPE, true));
  const sizes = offsets.map((off) => dv.getUint32(off + H_SIZE, true));
  return { bytes, offsets, types, sizes };
}

/** bytes without the records at the indexes in `skip`. */
function without(bytes: Uint8Array, offsets: number[], sizes: number[], skip: Set<number>): Uint8Array {
  const kept: Uint8Array[] = [];
  offsets.forEach((off, i) => {
    if (!skip.has(i)) kept.push(bytes.subarray(off, off + sizes[i]!));
  });
  return concat(kept);
}

describe('malformed records are counted and skipped, and the rest applies', () => {
  const options: SyntheticOptions = { seed: 5, events: 6000, pidMax: 900, flushEvery: 250, envs: false };

  /**
   * Damage a few records so that their size still frames them (the router
   * routes them, the worker's validateRecord rejects them). Returns the
   * damaged copy and the indexes damaged.
   */
  function damage() {
    const { bytes, offsets, types, sizes } = recordsOf(options);
    const bad = bytes.slice();
    const dv = new DataView(bad.buffer);
    const nth = (type: number, n: number) => {
      let seen = 0;
      for (let i = 0; i < types.length; i++) if (types[i] === type && seen++ === n) return i;
      throw new Error(`no record ${n} of type ${type}`);
    };
    const damaged: { index: number; how: string }[] = [];
    // an unknown type code on a fork (its size still frames it)
    let i = nth(REC_FORK, 400);
    dv.setUint16(offsets[i]! + H_TYPE, 99, true);
    damaged.push({ index: i, how: 'unknown type 99' });
    // unknown `given` bits on an exec
    i = nth(REC_EXEC, 300);
    dv.setUint16(offsets[i]! + FORK_GIVEN, dv.getUint16(offsets[i]! + FORK_GIVEN, true) | 0x8000, true);
    damaged.push({ index: i, how: 'unknown given bit' });
    // a path length running past the end of the record, on another exec
    i = nth(REC_EXEC, 500);
    dv.setUint16(offsets[i]! + FORK_LENS + 2 * VAR_PATH, dv.getUint16(offsets[i]! + FORK_LENS + 2 * VAR_PATH, true) + sizes[i]!, true);
    damaged.push({ index: i, how: 'path length past the record' });
    // an unknown flag on an exit
    i = nth(REC_EXIT, 200);
    dv.setUint16(offsets[i]! + H_FLAGS, 0x40, true);
    damaged.push({ index: i, how: 'unknown exit flag' });
    // unknown credsMask bits on a creds record
    i = nth(REC_CREDS, 20);
    dv.setUint32(offsets[i]! + CREDS_CREDS_MASK, 0x8000, true);
    damaged.push({ index: i, how: 'unknown credsMask bit' });
    // a rename whose comm is over its bound (16 > 15) but whose size still agrees
    i = nth(REC_RENAME, 20);
    dv.setUint16(offsets[i]! + RENAME_LENS, 16, true);
    damaged.push({ index: i, how: 'rename comm over its bound' });
    const valid = without(bytes, offsets, sizes, new Set(damaged.map((d) => d.index)));
    return { bad, valid, damaged, total: offsets.length };
  }

  for (const shards of [1, 2]) {
    it(`${shards} shard(s): decodeErrors counts each bad record, the lineage is ProcessResolver's over the valid records`, async () => {
      const { bad, valid, damaged, total } = damage();
      expect(valid.length).toBeLessThan(bad.length);
      const ref = reference(valid, { capacity: CAPACITY, exitedRetention: RETENTION });
      // and the damage matters: applying the undamaged stream gives another lineage
      const undamaged = reference(syntheticBytes(options), { capacity: CAPACITY, exitedRetention: RETENTION });
      expect(lineageDiff(undamaged, ref, new Set([...livePidsOf(undamaged), ...livePidsOf(ref)])).length).toBeGreaterThan(0);

      const pipeline = createPipeline({ shards, capacity: CAPACITY, source: new BufferSource(bad), exitedRetention: RETENTION });
      pipeline.start();
      const summary = await within(pipeline.done(), 20_000, 'done()');
      expect(summary.dropped.decodeErrors).toBe(damaged.length);
      expect(summary.dropped.total).toBe(damaged.length + summary.dropped.lostEvents);
      expect(summary.applied).toBe(total - damaged.length);
      expect(lineageOf(pipeline, ref)).toEqual([]);
    });
  }

  it('a malformed record sent to every shard (a FLUSH) is one decode error, not one per shard', async () => {
    const { bytes, offsets, types } = recordsOf(options);
    const bad = bytes.slice();
    const flushes = offsets.filter((_, i) => types[i] === REC_FLUSH);
    expect(flushes.length).toBeGreaterThan(2);
    new DataView(bad.buffer).setUint16(flushes[2]! + H_FLAGS, 1, true); // FLUSH has no flags
    const pipeline = createPipeline({ shards: 2, capacity: CAPACITY, source: new BufferSource(bad), exitedRetention: RETENTION });
    pipeline.start();
    const summary = await within(pipeline.done(), 20_000, 'done()');
    // docs/summary.md: events count a broadcast FLUSH once; applied = read - ringFull - decodeErrors
    expect(summary.events.flush).toBe(flushes.length);
    expect(summary.dropped.decodeErrors).toBe(1);
    expect(summary.applied).toBe(offsets.length - 1);
  });

  it('ProcessResolver.applyRecords skips the same records (one apply path)', () => {
    const { bad, valid } = damage();
    const viaBad = reference(bad, { capacity: CAPACITY, exitedRetention: RETENTION });
    const viaValid = reference(valid, { capacity: CAPACITY, exitedRetention: RETENTION });
    expect(lineageDiff(viaValid, viaBad, new Set([...livePidsOf(viaValid), ...livePidsOf(viaBad)]))).toEqual([]);
    expect(viaBad.stats().rows).toBe(viaValid.stats().rows);
  });
});

describe('corrupt replay files report the byte offset and apply everything before it', () => {
  // over one 1 MiB read chunk of the replay source, so the damage is not in its first chunk
  const options: SyntheticOptions = { seed: 21, events: 12_000, pidMax: 1500, flushEvery: 250, lostRate: 0.002 };
  const stream = recordsOf(options);

  async function writeReplay(name: string, bytes: Uint8Array): Promise<string> {
    const file = tmp.file(name);
    const w = await ReplayWriter.create(file);
    await w.write(bytes);
    await w.close();
    return file;
  }

  async function replay(file: string, shards: number) {
    const pipeline = createPipeline({ shards, capacity: CAPACITY, source: new ReplaySource(file), exitedRetention: RETENTION });
    pipeline.start();
    const err = await within(rejectionOf(pipeline.done()), 20_000, 'done()');
    return { pipeline, err };
  }

  it('a whole recording replays to the lineage of ProcessResolver (the baseline of the cases below)', async () => {
    expect(stream.bytes.length).toBeGreaterThan(1 << 20);
    const file = await writeReplay('whole.rec', stream.bytes);
    const pipeline = createPipeline({ shards: 2, capacity: CAPACITY, source: new ReplaySource(file), exitedRetention: RETENTION });
    pipeline.start();
    const summary = await within(pipeline.done(), 20_000, 'done()');
    expect(summary.source).toBe('replay');
    expect(summary.applied).toBe(stream.offsets.length);
    expect(lineageOf(pipeline, reference(stream.bytes, { capacity: CAPACITY, exitedRetention: RETENTION }))).toEqual([]);
  });

  for (const [where, cut] of [
    ['in the middle of its body', (size: number) => size >> 1],
    ['inside its header', () => 5],
  ] as const) {
    for (const shards of [1, 2]) {
      it(`a file truncated ${where}: ERR_REPLAY_TRUNCATED at the record's offset, every record before it applied (${shards} shard(s))`, async () => {
        const k = Math.floor(stream.offsets.length * 0.9);
        const at = stream.offsets[k]!;
        expect(at).toBeGreaterThan(1 << 20);
        const file = await writeReplay(`truncated-${shards}-${cut(16)}.rec`, stream.bytes.subarray(0, at + cut(stream.sizes[k]!)));
        const { pipeline, err } = await replay(file, shards);
        expect(err).toBeInstanceOf(ForklineError);
        expect(err.code).toBe('ERR_REPLAY_TRUNCATED');
        expect(err.offset).toBe(REPLAY_HEADER_BYTES + at);
        const ref = reference(stream.bytes.subarray(0, at), { capacity: CAPACITY, exitedRetention: RETENTION });
        expect(lineageOf(pipeline, ref)).toEqual([]);
        expect(pipeline.stats().router.routed).toBe(k);
      });
    }
  }

  for (const shards of [1, 2]) {
    it(`a record whose size is not a multiple of 8: ERR_REPLAY_CORRUPT at its offset, every record before it applied (${shards} shard(s))`, async () => {
      const k = Math.floor(stream.offsets.length * 0.85);
      const at = stream.offsets[k]!;
      const bytes = stream.bytes.slice();
      new DataView(bytes.buffer).setUint32(at + H_SIZE, stream.sizes[k]! + 3, true);
      const file = await writeReplay(`corrupt-${shards}.rec`, bytes);
      const { pipeline, err } = await replay(file, shards);
      expect(err).toBeInstanceOf(ForklineError);
      expect(err.code).toBe('ERR_REPLAY_CORRUPT');
      expect(err.offset).toBe(REPLAY_HEADER_BYTES + at);
      const ref = reference(stream.bytes.subarray(0, at), { capacity: CAPACITY, exitedRetention: RETENTION });
      expect(lineageOf(pipeline, ref)).toEqual([]);
      expect(pipeline.stats().router.routed).toBe(k);
    });
  }

  it('a record with size 0 (a zeroed region) is corrupt too, not an endless loop', async () => {
    const k = 1000;
    const at = stream.offsets[k]!;
    const bytes = stream.bytes.slice();
    bytes.fill(0, at, at + stream.sizes[k]!);
    const file = await writeReplay('zeroed.rec', bytes);
    const { err } = await replay(file, 2);
    expect(err).toBeInstanceOf(ForklineError);
    expect(err.code).toBe('ERR_REPLAY_CORRUPT');
    expect(err.offset).toBe(REPLAY_HEADER_BYTES + at);
  });

  it('a file without the header: ERR_REPLAY_HEADER, nothing applied', async () => {
    const file = tmp.file('headerless.rec');
    writeFileSync(file, stream.bytes.subarray(0, 64 * 1024));
    const { pipeline, err } = await replay(file, 2);
    expect(err).toBeInstanceOf(ForklineError);
    expect(err.code).toBe('ERR_REPLAY_HEADER');
    expect(pipeline.stats().router.routed).toBe(0);
    expect(pipeline.reader().liveEntries()).toEqual([]);
  });

  it('a recording of another version: ERR_REPLAY_HEADER', async () => {
    const file = await writeReplay('version.rec', stream.bytes.subarray(0, 4096));
    const raw = readFileSync(file);
    raw.writeUInt32LE(99, 8);
    writeFileSync(file, raw);
    const { err } = await replay(file, 1);
    expect(err).toBeInstanceOf(ForklineError);
    expect(err.code).toBe('ERR_REPLAY_HEADER');
  });
});
