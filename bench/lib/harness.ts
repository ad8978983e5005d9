// Times a BenchCase: whole batches, candidate and baseline in alternation.
//
// tinybench drives the loop (warm-up phase, time budget, minimum number of
// rounds); one tinybench iteration is one *round*: one sample of each side,
// in the order A B on even rounds and B A on odd rounds (ABBA). A sample is
// one or more whole batches (thousands of events each), timed with
// process.hrtime, so the timer's own cost (~100 ns) stays out of the
// figures. Before each batch, untimed: the case's prepare step, and a
// scavenge (with --expose-gc) so that garbage one side left in the young
// generation is not collected on the other side's clock.
//
// Alternating the sides means that whatever slows the machine down for a
// while (another tenant, a noisy neighbour on the other core, frequency
// changes) slows both sides of a round alike: each round gives one paired
// ratio, and the case's ratio is the median of those.

import { hrtime } from 'node:process';
import { Bench, type FnReturnedObject, type HookMode } from 'tinybench';
import type { BenchCase, Contender, Mode } from './suite.js';
import { quantile, ratioStats, rmePercent, sorted, mean, type RatioStats } from './stats.js';

export interface Budget {
  /**
   * Shortest sample, ms: a side whose batch is quicker runs it several times
   * per sample (prepare untimed in between), so that a scavenge or a
   * scheduler tick is a small part of every sample. Calibrated from the
   * warm-up, separately for each side.
   */
  minSampleMs: number;
  /** Warm-up: at least this many rounds and this long (JIT tiers, caches, heap sizing). */
  warmupRounds: number;
  warmupMs: number;
  /** Measured: at least this many rounds and this long. */
  minRounds: number;
  timeMs: number;
}

/** Budgets per case. Quick mode keeps a whole `bench:check` within ~15 s on 2 cores. */
export const BUDGETS: Record<Mode, Budget> = {
  quick: { minSampleMs: 5, warmupRounds: 3, warmupMs: 150, minRounds: 12, timeMs: 700 },
  full: { minSampleMs: 25, warmupRounds: 10, warmupMs: 1500, minRounds: 40, timeMs: 6000 },
};

export interface SideResult {
  label: string;
  /** Batches per sample (see Budget.minSampleMs). */
  batchesPerSample: number;
  /** Batch durations, ms, in the order measured. */
  samplesMs: number[];
  medianOpsPerSec: number;
  /** Rate of the p99 batch (the slow tail): opsPerBatch / p99 batch time. */
  p99OpsPerSec: number;
  meanOpsPerSec: number;
  /** Relative margin of error of the mean batch time, percent, 95%. */
  rmePercent: number;
  medianBatchMs: number;
  p99BatchMs: number;
}

export interface CaseResult {
  name: string;
  opsPerBatch: number;
  rounds: number;
  warmupRounds: number;
  elapsedMs: number;
  candidate: SideResult;
  baseline?: SideResult;
  /** candidate rate / baseline rate, one per round (= baseline time / candidate time). */
  ratios?: number[];
  ratio?: RatioStats;
  info?: Record<string, number | string>;
}

function side(label: string, samplesMs: number[], batchOps: number, reps: number): SideResult {
  const asc = sorted(samplesMs);
  const med = quantile(asc, 0.5);
  const p99 = quantile(asc, 0.99);
  const ops = batchOps * reps;
  return {
    label,
    batchesPerSample: reps,
    samplesMs,
    medianOpsPerSec: (ops / med) * 1000,
    p99OpsPerSec: (ops / p99) * 1000,
    meanOpsPerSec: (ops / mean(samplesMs)) * 1000,
    rmePercent: rmePercent(samplesMs),
    medianBatchMs: med,
    p99BatchMs: p99,
  };
}

/** Keeps batch results alive so no batch can be optimised away. */
export let sink = 0;

const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc;

/** One sample: `reps` batches, each prepared untimed; returns the timed ms. */
async function timeSample(c: Contender, reps: number): Promise<number> {
  let ns = 0n;
  for (let i = 0; i < reps; i++) {
    if (c.prepare) {
      const p = c.prepare();
      if (p) await p;
    }
    // empty the young generation (untimed, ~1 ms): the garbage the other
    // side left behind is not collected on this side's clock
    gc?.({ type: 'minor' });
    const t0 = hrtime.bigint();
    let r = c.batch();
    if (typeof r !== 'number') r = await r;
    const t1 = hrtime.bigint();
    sink = (sink + r) | 0;
    ns += t1 - t0;
  }
  return Number(ns) / 1e6;
}

/** Batches per sample so that a sample lasts at least minMs, from warm-up batch times. */
function repsFor(warmupMs: number[], minMs: number): number {
  if (warmupMs.length === 0) return 1;
  // the later half of the warm-up: the JIT has settled
  const ms = quantile(sorted(warmupMs.slice(Math.floor(warmupMs.length / 2))), 0.5);
  return Math.max(1, Math.min(1000, Math.ceil(minMs / Math.max(ms, 1e-3))));
}

export async function measureCase(c: BenchCase, budget: Budget): Promise<CaseResult> {
  const cand: number[] = [];
  const base: number[] = [];
  const ratios: number[] = [];
  let phase: HookMode = 'warmup';
  let round = 0;
  let warmupRounds = 0;
  const b = c.baseline;
  const warmC: number[] = [];
  const warmB: number[] = [];
  let repsC = 1;
  let repsB = 1;

  const roundFn = async (): Promise<FnReturnedObject> => {
    const w0 = hrtime.bigint();
    let tc: number;
    let tb = 0;
    if (!b) tc = await timeSample(c.candidate, repsC);
    else if ((round & 1) === 0) {
      tc = await timeSample(c.candidate, repsC);
      tb = await timeSample(b, repsB);
    } else {
      tb = await timeSample(b, repsB);
      tc = await timeSample(c.candidate, repsC);
    }
    round++;
    if (phase === 'run') {
      cand.push(tc);
      if (b) {
        base.push(tb);
        // rate ratio: (ops / tc) / (ops / tb) with each side's ops per sample
        ratios.push((repsC * tb) / (repsB * tc));
      }
    } else {
      warmupRounds++;
      warmC.push(tc);
      if (b) warmB.push(tb);
    }
    // the budget counts the whole round, untimed preparation included, so
    // the time budget is wall-clock time
    const wall = Number(hrtime.bigint() - w0) / 1e6;
    return { overriddenDuration: tc + tb, overriddenIterationCost: wall };
  };

  const bench = new Bench({
    name: c.name,
    time: budget.timeMs,
    iterations: budget.minRounds,
    warmup: true,
    warmupTime: budget.warmupMs,
    warmupIterations: budget.warmupRounds,
    timestampProvider: 'hrtimeNow',
    throws: true,
  });
  bench.add(c.name, roundFn, {
    beforeAll(mode) {
      phase = mode ?? 'run';
      if (phase === 'run') {
        repsC = c.batchesPerSample ?? repsFor(warmC, budget.minSampleMs);
        repsB = c.batchesPerSample ?? repsFor(warmB, budget.minSampleMs);
      }
    },
  });
  const started = performance.now();
  await bench.run();
  const elapsedMs = performance.now() - started;

  const result: CaseResult = {
    name: c.name,
    opsPerBatch: c.opsPerBatch,
    rounds: cand.length,
    warmupRounds,
    elapsedMs,
    candidate: side(c.candidate.label, cand, c.opsPerBatch, repsC),
  };
  if (b) {
    result.baseline = side(b.label, base, c.opsPerBatch, repsB);
    result.ratios = ratios;
    result.ratio = ratioStats(ratios);
  }
  if (c.info) result.info = c.info();
  return result;
}
