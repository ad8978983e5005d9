// docs/architecture.md invariant 4 under stress: reader threads resolve and walk
// self-checking rows (see test/pipeline/stress-worker.ts) while two shard
// workers apply a long stream of forks, execs, exits and flushes at full
// speed into small tables, so that rows are freed and reused all the time.
// Every row read must be whole (its fields from one write), whether reached
// by seek/up, by resolve() or by row number (Cursor.load, here on the rows
// the writers are taking from the free list); every link must lead to the
// right ancestor (the same process before an exec; the parent as it was at
// fork time, in its own shard or in the other one, which the reader follows
// once that shard has applied the link) and every chain must end at pid 1,
// or at a link not applied yet (lineageIncomplete, counted). The rates
// seen are printed (the readers' performance targets, docs/architecture.md, are
// measured by bench/, never asserted in a test).

import { describe, expect, it } from 'vitest';
import { C } from '../../src/cache/counters.js';
import { ProcessTable } from '../../src/cache/table.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import {
  ChkSource,
  PHASE_QUIET,
  PHASE_STOP,
  PHASE_WRITING,
  startStressReader,
  type PhaseCounts,
  type StressReaderResult,
} from './stress-worker.js';

const CAPACITY = 4096;
// Small rings bound how far one shard runs ahead of the other, and so how
// long a shard keeps rows for children the other has not released yet.
const RING_BYTES = 512 << 10;
/** FORKLINE_TORN_EVENTS: a longer stream for a longer stress (issue 11 asks for >= 1e8 reads: ~16M events here). */
const EVENTS = Number(process.env.FORKLINE_TORN_EVENTS ?? 1_000_000);
const STREAM = { seed: 20240611, events: EVENTS, pidMax: 1324, maxLive: 600, maxDepth: 8, maxExecs: 2, flushEvery: 32 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MAXED: readonly (keyof PhaseCounts)[] = ['maxUpMs'];

function sum(results: StressReaderResult[], phase: 'writing' | 'quiet'): PhaseCounts {
  const total = { ...results[0]![phase] };
  for (const r of results.slice(1)) {
    for (const k of Object.keys(total) as (keyof PhaseCounts)[]) {
      total[k] = MAXED.includes(k) ? Math.max(total[k], r[phase][k]) : total[k] + r[phase][k];
    }
  }
  return total;
}

function perSecond(count: number, ms: number): string {
  return ms > 0 ? `${Math.round((count / ms) * 1000).toLocaleString('en')}/s` : 'n/a';
}

function describeReader(i: number, r: StressReaderResult): string {
  const x = r.writing;
  const q = r.quiet;
  const lines = [
    `reader ${i} while writing, checked: ${x.seeks} lookups (${perSecond(x.seeks, x.ms)}), ${x.rows} rows walked (${perSecond(x.rows, x.ms)}), ` +
      `${x.resolves} resolve() (${perSecond(x.resolves, x.ms)}) giving ${x.entries} entries, ${x.stringChecks} rows with strings checked, ` +
      `${x.scannedUsed}/${x.scanned} random rows in use checked, ${x.stale} stale walks (${x.unresolvedButStale} reported as parentUnresolved), ${x.retries} retries, ${x.incomplete} chains stopped at a link not applied yet, ` +
      `longest up() across shards ${x.maxUpMs.toFixed(2)} ms, ` +
      `${(x.ms / 1000).toFixed(2)} s`,
  ];
  if (x.bareMs > 0) {
    lines.push(
      `reader ${i} while writing, unchecked: ${perSecond(x.bareSeeks, x.bareMs)} lookups, ${perSecond(x.bareRows, x.bareMs)} rows; ` +
        `quiet: ${perSecond(q.bareSeeks, q.bareMs)} lookups, ${perSecond(q.bareRows, q.bareMs)} rows`,
    );
  }
  lines.push(`reader ${i} quiet, checked: ${perSecond(q.seeks, q.ms)} lookups, ${perSecond(q.rows, q.ms)} rows`);
  return lines.join('\n');
}

describe('torn-read stress (docs/architecture.md invariant 4)', () => {
  it('readers on other threads see no torn row and no impossible link while 2 shards apply churn into small tables', async () => {
    const source = new ChkSource(STREAM);
    const pipeline = createPipeline({ shards: 2, capacity: CAPACITY, ringBytes: RING_BYTES, source, exitedRetention: 0n });
    const phase = new Int32Array(new SharedArrayBuffer(4));
    const common = {
      handles: pipeline.handles,
      phase: phase.buffer as SharedArrayBuffer,
      pidLo: 300,
      pidHi: STREAM.pidMax,
    };
    const readers = [
      // hot cursor walks with strings checked on a sample of rows, and timed unchecked walks
      startStressReader({ ...common, seed: 1, stringEvery: 16, objectEvery: 0, bareEvery: 4, scanEvery: 0 }),
      // strings checked on every row, every 8th lookup through resolve(), and rows read by
      // number as the writers take them from the free list
      startStressReader({ ...common, seed: 2, stringEvery: 1, objectEvery: 8, bareEvery: 0, scanEvery: 2 }),
    ];
    const setPhase = (p: number) => {
      Atomics.store(phase, 0, p);
      Atomics.notify(phase, 0);
    };
    try {
      await Promise.all(readers.map((r) => r.ready));
      setPhase(PHASE_WRITING);
      pipeline.start();
      const summary = await pipeline.done();
      setPhase(PHASE_QUIET);
      await sleep(300);
      setPhase(PHASE_STOP);
      const results = await Promise.all(readers.map((r) => r.result));
      const w = sum(results, 'writing');
      const q = sum(results, 'quiet');
      const samples = results.flatMap((r) => r.samples);
      const rowsMade = source.counts.forks + source.counts.execs;
      console.log(
        [
          `stream: ${summary.applied} events in ${summary.seconds.toFixed(2)} s (${Math.round(summary.eventsPerSecond)}/s); ` +
            `${rowsMade} rows made in ${2 * CAPACITY} row slots; ${source.counts.pidReuses} pid reuses`,
          ...results.map((r, i) => describeReader(i, r)),
          `all readers while writing: ${w.found}/${w.seeks} pids found, ${w.complete} complete chains, ${w.rows + w.entries} rows and entries checked, ` +
            `${w.torn} torn, ${w.impossible} impossible, ${w.scanTorn} torn by row number`,
          ...samples,
        ].join('\n'),
      );

      // the whole stream was applied, into tables small enough to reuse every row many times
      const tables = pipeline.handles.shards.map((h) => new ProcessTable(h));
      const counter = (name: keyof typeof C) => tables.reduce((n, t) => n + t.counters[C[name]]!, 0);
      expect(summary.applied).toBe(STREAM.events);
      expect(summary.dropped).toMatchObject({ total: 0 });
      expect(counter('linkMisses') + counter('unlinkMisses') + counter('forkInodeMismatch') + counter('execPrevInodeMismatch')).toBe(0);
      expect(rowsMade / (2 * CAPACITY)).toBeGreaterThan(50);
      expect(source.counts.pidReuses).toBeGreaterThan(100_000);

      // the readers really read a lot while the writers applied
      expect(w.rows + w.entries).toBeGreaterThan(100_000);
      expect(w.complete).toBeGreaterThan(10_000);
      expect(w.stringChecks).toBeGreaterThan(10_000);
      expect(w.resolved).toBeGreaterThan(1_000);
      expect(q.rows).toBeGreaterThan(0);

      // and never saw a torn row or an impossible link (each kind reported apart; the samples say what was seen)
      expect.soft(w.torn + q.torn, 'torn rows read by seek/up/resolve').toBe(0);
      expect.soft(w.impossible + q.impossible, 'impossible links or cut chains').toBe(0);
      expect.soft(w.scanTorn + q.scanTorn, 'torn rows read by number (Cursor.load)').toBe(0);
      // once the pipeline is done, every link has been applied: every chain is whole
      expect.soft(q.incomplete, 'chains stopped at a link after the pipeline was done').toBe(0);
      expect(samples).toEqual([]);
    } finally {
      setPhase(PHASE_STOP);
      await pipeline.stop().catch(() => undefined);
      await Promise.all(readers.map((r) => r.worker.terminate()));
    }
  }, Math.max(120_000, EVENTS / 20));
});
