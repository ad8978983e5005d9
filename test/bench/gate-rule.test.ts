import { describe, expect, it } from 'vitest';
import { baselineFromRuns, judge, ratioLimit } from '../../bench/lib/gate.js';
import type { RunJson } from '../../bench/lib/result.js';
import { ratioStats } from '../../bench/lib/stats.js';

function runWith(ratios: Record<string, number[]>, metrics: Record<string, number> = {}): RunJson {
  const side = (rate: number) => ({
    label: 'x',
    batchesPerSample: 1,
    samplesMs: [1],
    medianOpsPerSec: rate,
    p99OpsPerSec: rate,
    meanOpsPerSec: rate,
    rmePercent: 1,
    medianBatchMs: 1,
    p99BatchMs: 1,
  });
  return {
    schema: 'forkline-bench/1',
    mode: 'quick',
    seed: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1,
    machine: { node: 'v20', v8: '11', platform: 'linux', arch: 'x64', kernel: '6', cpus: 2, cpuModel: 'cpu', memoryBytes: 1 },
    suites: [
      {
        name: 's',
        description: '',
        unit: 'events',
        elapsedMs: 1,
        cases: Object.entries(ratios).map(([name, r]) => ({
          key: `s/${name}`,
          name,
          gated: true,
          opsPerBatch: 1,
          rounds: r.length,
          warmupRounds: 1,
          elapsedMs: 1,
          candidate: side(1e6 * ratioStats(r).median),
          baseline: side(1e6),
          ratios: r,
          ratio: ratioStats(r),
        })),
        metrics: Object.entries(metrics).map(([name, value]) => ({ key: `s/${name}`, name, value, unit: 'B/row', gate: 'max' as const })),
      },
    ],
  };
}

const steady = (r: number, spread = 0.05) => Array.from({ length: 15 }, (_, i) => r * (1 + spread * Math.sin(i * 2.1)));

describe('the gate rule', () => {
  const base = baselineFromRuns([runWith({ a: steady(0.5) }, { bytes: 90 })], undefined, 0.25, 3);

  it('passes a ratio within the threshold and fails one that dropped beyond threshold and noise, naming the case and the figures', () => {
    const v1 = judge(runWith({ a: steady(0.42) }), base, 0.25, 3);
    expect(v1[0]).toMatchObject({ key: 's/a', status: 'pass' });
    const v2 = judge(runWith({ a: steady(0.15) }), base, 0.25, 3);
    expect(v2[0]).toMatchObject({ key: 's/a', status: 'fail' });
    expect(v2[0]!.message).toMatch(/^s\/a: ratio 0\.15\d*x naive vs baseline 0\.50\d*x \(-70\.\d%\), limit 0\.\d+x/);
  });

  it('widens the limit by k standard errors of the noise of both runs', () => {
    const b = base.cases['s/a']!;
    const quiet = ratioLimit(b, { median: 0.5, relStdErr: 0 }, 0.25, 3);
    const noisy = ratioLimit(b, { median: 0.5, relStdErr: 0.1 }, 0.25, 3);
    expect(quiet.limit).toBeCloseTo(b.ratio * 0.75 - 3 * b.ratio * b.relStdErr, 9);
    expect(noisy.limit).toBeCloseTo(b.ratio * 0.75 - 3 * Math.hypot(b.ratio * b.relStdErr, 0.5 * 0.1), 9);
    expect(noisy.limit).toBeLessThan(quiet.limit);
  });

  it('calls a passing case noisy when its noise term exceeds a quarter of the baseline ratio', () => {
    const v = judge(runWith({ a: steady(0.5, 0.9) }), base, 0.25, 3);
    expect(v[0]).toMatchObject({ key: 's/a', status: 'noisy' });
  });

  it('fails a deterministic figure that grew, and reports a case without a baseline as new', () => {
    const v = judge(runWith({ b: steady(1) }, { bytes: 91 }), base, 0.25, 3);
    expect(v.find((x) => x.key === 's/b')?.status).toBe('new');
    expect(v.find((x) => x.key === 's/bytes')?.status).toBe('fail');
  });

  it('takes the median of several runs as the baseline and keeps entries of cases it did not measure', () => {
    const b = baselineFromRuns([runWith({ a: steady(0.4) }), runWith({ a: steady(0.9) }), runWith({ a: steady(0.5) })], base, 0.2, 2);
    expect(b.cases['s/a']!.ratio).toBeCloseTo(0.5, 2);
    const c = baselineFromRuns([runWith({ c: steady(2) })], b, 0.2, 2);
    expect(Object.keys(c.cases).sort()).toEqual(['s/a', 's/c']);
    expect(c.metrics['s/bytes']!.value).toBe(90);
  });
});
