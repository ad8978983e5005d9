// The latency budget (docs/capture.md, "Latency budget"): the BPF programs
// submit without waking the reader thread while it ticks, so a storm wakes
// it about once per tick, not once per record; the agent measures how long
// after the kernel's timestamp each record became resolvable. Counts, not
// timings: the CPU figures are bench:live's (docs/benchmarks.md). As root;
// elsewhere skipped with the reason.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForklineError } from '../../src/errors.js';
import { CaptureSource, DEFAULT_MAX_LATENCY_MS } from '../../src/pipeline/sources/capture.js';
import type { VisibilityLag } from '../../src/pipeline/pipeline.js';
import { eventually, liveSkipReason, liveTitle, sleep, startLive } from './harness.js';

const skip = liveSkipReason('bpf');

describe.skipIf(skip !== undefined)(liveTitle('live BPF capture: the latency budget', skip), () => {
  const BUDGET_MS = 20;
  let dir = '';
  let records = 0;
  let wakeups = 0;
  let seconds = 0;
  let lag: VisibilityLag | undefined;
  let child = 0;
  let childSeen = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'forkline-budget-'));
    const bin = join(dir, 'storm');
    execFileSync('gcc', ['-O2', '-o', bin, join(import.meta.dirname, 'storm.c')]);
    const live = startLive('bpf', { snapshot: false, maxLatencyMs: BUDGET_MS });
    await sleep(300);
    const before = live.source.stats();
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const p = spawn(bin, ['2'], { stdio: 'ignore' });
      p.on('error', reject);
      p.on('exit', () => resolve());
    });
    seconds = (performance.now() - t0) / 1000;
    const after = live.source.stats();
    records = Number(after.records! - before.records!);
    wakeups = Number(after.wakeups! - before.wakeups!);
    const c = spawn('/bin/sleep', ['1'], { stdio: 'ignore' });
    child = c.pid!;
    await eventually(() => expect(live.view.resolve(child)?.path).toBe('/usr/bin/sleep'));
    childSeen = true;
    lag = live.pipeline.visibilityLag();
    await live.stop();
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('wakes the reader thread per tick of the budget, not per record', () => {
    expect(records).toBeGreaterThan(500); // the storm made enough records to tell
    // one wake-up per tick, plus the kernel's past a quarter-full ring (none here) and going to sleep and back
    expect(wakeups).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / BUDGET_MS) + 10);
    expect(wakeups).toBeLessThan(records / 2);
  });

  it('measures the visibility lag of the records it applied', () => {
    expect(childSeen).toBe(true);
    expect(lag).toBeDefined();
    expect(lag!.samples).toBeGreaterThan(records / 2);
    // no timing asserted: p50 is positive, p99 at least p50, max at least p99
    expect(lag!.p50Ms).toBeGreaterThan(0);
    expect(lag!.p99Ms).toBeGreaterThanOrEqual(lag!.p50Ms);
    expect(lag!.maxMs).toBeGreaterThanOrEqual(lag!.p99Ms);
  });
});

describe('CaptureSource maxLatencyMs', () => {
  it('defaults to a few ms and refuses what is not an integer in 1..1000 with a clear error', () => {
    expect(DEFAULT_MAX_LATENCY_MS).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_MAX_LATENCY_MS).toBeLessThanOrEqual(10);
    for (const bad of [0, -1, 1.5, 1001, Number.NaN]) {
      let err: unknown;
      try {
        new CaptureSource({ kind: 'bpf', maxLatencyMs: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ForklineError);
      expect((err as ForklineError).code).toBe('ERR_BPF_OPTIONS');
      expect((err as Error).message).toMatch(/maxLatencyMs must be an integer number of milliseconds in 1\.\.1000/);
    }
  });
});
