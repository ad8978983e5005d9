// A full capture ring (the pipeline falls behind the kernel): the reader
// thread drops what does not fit, counts every record it dropped, and the
// agent goes on. Nothing is lost silently: the records the reader emitted
// are exactly those the router routed plus those the ring refused. As root;
// elsewhere skipped with the reason.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/pipeline/summary.js';
import { liveSkipReason, liveTitle, startLive } from './harness.js';

const skip = liveSkipReason('bpf');

describe.skipIf(skip !== undefined)(liveTitle('live BPF capture: a capture ring that overflows', skip), () => {
  let dir = '';
  let summary: RunSummary;
  let emitted = 0n;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'forkline-full-'));
    const bin = join(dir, 'storm');
    execFileSync('gcc', ['-O2', '-o', bin, join(import.meta.dirname, 'storm.c')]);
    // shard workers made ~1000x slower (the benchmark gate's test hook) behind small rings: the capture ring must overflow
    process.env.FORKLINE_TEST_APPLY_DELAY = '2000000';
    const live = (() => {
      try {
        return startLive('bpf', { snapshot: false, ringBytes: 1 << 16, shardRingBytes: 1 << 16, shards: 1 });
      } finally {
        delete process.env.FORKLINE_TEST_APPLY_DELAY;
      }
    })();
    await new Promise<void>((resolve, reject) => {
      const p = spawn(bin, ['3'], { stdio: 'ignore' });
      p.on('error', reject);
      p.on('exit', () => resolve());
    });
    await live.caughtUp(live.now(), 30_000);
    summary = await live.stop();
    emitted = live.source.stats().emitted ?? 0n;
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drops what does not fit and counts it, in the capture section and in the run drops', () => {
    expect(summary.capture!.ringFull).toBeGreaterThan(0);
    expect(summary.dropped.ringFull).toBeGreaterThanOrEqual(summary.capture!.ringFull);
    expect(summary.dropped.total).toBeGreaterThanOrEqual(summary.capture!.ringFull);
    expect(summary.events.fork).toBeGreaterThan(0); // and it went on applying
  });

  it('loses nothing silently: emitted = routed from the ring + refused by the ring', () => {
    const fromRing = Object.entries(summary.events)
      .filter(([type]) => type !== 'flush') // FLUSH records are made by the source, not by the reader thread
      .reduce((n, [, v]) => n + v, 0);
    expect(Number(emitted)).toBe(fromRing + summary.capture!.ringFull);
  });
});
