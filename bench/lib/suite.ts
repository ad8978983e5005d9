// What a benchmark suite is. Every file in bench/suites/ default-exports one
// BenchSuite; bench/run.ts and bench/check.ts find them by listing that
// folder, so adding a suite is adding a file (docs/benchmarks.md).

export type Mode = 'quick' | 'full';

export interface SuiteContext {
  mode: Mode;
  /** Seed of every generated input: the same seed gives the same streams. */
  seed: number;
  /** Progress and notes for people; goes to stderr. */
  log(message: string): void;
}

/**
 * One side of a comparison. `batch` applies a whole batch of `opsPerBatch`
 * operations and is timed as one sample; `prepare` runs untimed before each
 * batch (undo the previous batch, reset state, set fresh event times).
 */
export interface Contender {
  /** Shown in the table, e.g. "ProcessResolver", "naive Map". */
  label: string;
  prepare?(): void | Promise<void>;
  /** Returns a number the harness keeps, so the work cannot be optimised away. */
  batch(): number | Promise<number>;
}

/**
 * A throughput case: the candidate (forkline) and the baseline (the naive
 * resolver, or whatever naive implementation fits the stage) run the same
 * batches in alternation, ABBA, in one process.
 */
export interface BenchCase {
  name: string;
  /** Operations (events, lookups, records) in one batch; the rate is opsPerBatch / batch time. */
  opsPerBatch: number;
  candidate: Contender;
  /** Without a baseline the case reports rates only and is never gated. */
  baseline?: Contender;
  /**
   * Batches per sample, fixed. Default: calibrated per side from the warm-up
   * so a sample lasts at least the mode's minSampleMs. Set 1 when both sides
   * must apply the same batches in lockstep (a stream walked in chunks).
   */
  batchesPerSample?: number;
  /** Whether bench:check gates this case's ratio (default: the suite's `gated`). */
  gated?: boolean;
  /** Facts checked after the run (e.g. table-full rejections): shown in the table and the JSON. */
  info?(): Record<string, number | string>;
  teardown?(): void | Promise<void>;
}

/** A measured figure that is not a rate (bytes per row, RSS, ...). */
export interface Metric {
  /** Unique within the suite, e.g. "100k/bytesPerRow". */
  name: string;
  value: number;
  unit: string;
  /** A performance target of docs/architecture.md, when there is one, shown next to the figure. */
  target?: { op: '<=' | '>='; value: number };
  /**
   * 'max': bench:check fails when the value grows beyond the baseline
   * (deterministic figures only, such as layout bytes per row).
   */
  gate?: 'max';
  note?: string;
}

export interface BenchSuite {
  name: string;
  /** One sentence: what is measured and against what. */
  description: string;
  /** Unit of the operations counted, plural: "events", "lookups", "records". */
  unit: string;
  /** Position in a full run (ascending); ties by name. */
  order?: number;
  /** Whether bench:check gates the cases of this suite (default true). */
  gated?: boolean;
  /** Builds the inputs once and returns the cases to time. */
  setup?(ctx: SuiteContext): BenchCase[] | Promise<BenchCase[]>;
  /** Suites that measure figures other than rates (memory) implement this instead of, or besides, setup. */
  measure?(ctx: SuiteContext): Metric[] | Promise<Metric[]>;
}
