// The regression gate's rule and the baseline file. Pure functions: the CLI
// (bench/check.ts) measures, this decides.
//
// For every gated case the figure is the ratio R = forkline rate / naive
// rate, measured in the same run (median of the per-round paired ratios).
// The case fails when
//
//     R_now < R_base * (1 - threshold) - k * sqrt((R_base * se_base)^2 + (R_now * se_now)^2)
//
// where se is the relative standard error of a median ratio (from the spread
// of that run's paired ratios, see lib/stats.ts). `threshold` is the
// regression we refuse to let through whatever the noise says; the k * noise
// term widens the margin on a run (or a baseline) whose batches were noisy,
// so a noisy machine does not fail good code. check.ts re-measures a failing
// suite once and fails only if it fails again.

import type { RunJson } from './result.js';
import { allCases, allMetrics, type Machine } from './result.js';
import type { Mode } from './suite.js';
import { median } from './stats.js';

export const BASELINE_SCHEMA = 'forkline-bench-baseline/1';

/** Defaults (docs/benchmarks.md explains the choice); a baseline file may override them. */
export const DEFAULT_THRESHOLD = 0.25;
export const DEFAULT_K = 3;
/**
 * A passing case whose noise term exceeds this fraction of the baseline
 * ratio is 'noisy': the run could not have seen a regression of twice the
 * threshold. check.ts measures it again; still noisy, it is reported (and
 * fails the gate with --strict).
 */
export const NOISY = 0.25;

export interface BaselineCase {
  ratio: number;
  relSpread: number;
  relStdErr: number;
  rounds: number;
  /** For people reading the file: the rates behind the ratio. */
  candidateOpsPerSec: number;
  baselineOpsPerSec: number;
}

export interface BaselineMetric {
  value: number;
  unit: string;
}

export interface BaselineFile {
  schema: typeof BASELINE_SCHEMA;
  recordedAt: string;
  commit?: string;
  mode: Mode;
  machine: Machine;
  /** Largest tolerated drop of a ratio, as a fraction, before noise. */
  threshold: number;
  /** Standard errors of noise tolerated on top of the threshold. */
  k: number;
  cases: Record<string, BaselineCase>;
  /** Deterministic figures that must not grow (metrics with gate 'max'). */
  metrics: Record<string, BaselineMetric>;
}

export interface Verdict {
  key: string;
  kind: 'ratio' | 'max';
  status: 'pass' | 'fail' | 'noisy' | 'new';
  /** The figure now, and in the baseline. */
  now: number;
  base?: number;
  /** Lowest passing ratio ('ratio'), highest passing value ('max'). */
  limit?: number;
  /** The noise term of the limit, in ratio units. */
  noise?: number;
  message: string;
}

/**
 * The baseline from one or more quick runs (bench:update makes 3): per case,
 * the median over runs of the run's ratio, spread and standard error, so one
 * unlucky run does not set the bar. Cases and metrics not measured keep
 * their previous entries.
 */
export function baselineFromRuns(runs: RunJson[], previous: BaselineFile | undefined, threshold: number, k: number): BaselineFile {
  if (runs.length === 0) throw new Error('no run to make a baseline from');
  const cases: Record<string, BaselineCase> = { ...(previous?.cases ?? {}) };
  const keys = new Set(runs.flatMap((r) => allCases(r).filter((c) => c.gated && c.ratio && c.baseline).map((c) => c.key)));
  for (const key of keys) {
    const got = runs.map((r) => allCases(r).find((c) => c.key === key)).filter((c) => c?.ratio && c.baseline);
    const med = (f: (c: (typeof got)[number] & object) => number) => median(got.map((c) => f(c!)));
    cases[key] = {
      ratio: round(med((c) => c.ratio!.median), 4),
      relSpread: round(med((c) => c.ratio!.relSpread), 4),
      relStdErr: round(med((c) => c.ratio!.relStdErr), 4),
      rounds: Math.round(med((c) => c.rounds)),
      candidateOpsPerSec: Math.round(med((c) => c.candidate.medianOpsPerSec)),
      baselineOpsPerSec: Math.round(med((c) => c.baseline!.medianOpsPerSec)),
    };
  }
  const metrics: Record<string, BaselineMetric> = { ...(previous?.metrics ?? {}) };
  for (const run of runs) for (const m of allMetrics(run)) if (m.gate === 'max') metrics[m.key] = { value: m.value, unit: m.unit };
  const last = runs[runs.length - 1]!;
  const out: BaselineFile = {
    schema: BASELINE_SCHEMA,
    recordedAt: last.startedAt,
    mode: last.mode,
    machine: last.machine,
    threshold,
    k,
    cases: sortKeys(cases),
    metrics: sortKeys(metrics),
  };
  if (last.commit) out.commit = last.commit;
  return out;
}

export function ratioLimit(base: BaselineCase, now: { median: number; relStdErr: number }, threshold: number, k: number) {
  const noise = k * Math.hypot(base.ratio * base.relStdErr, now.median * now.relStdErr);
  return { limit: base.ratio * (1 - threshold) - noise, noise };
}

export function judge(run: RunJson, baseline: BaselineFile, threshold: number, k: number): Verdict[] {
  const out: Verdict[] = [];
  for (const c of allCases(run)) {
    if (!c.gated || !c.ratio) continue;
    const base = baseline.cases[c.key];
    const now = c.ratio.median;
    if (!base) {
      out.push({ key: c.key, kind: 'ratio', status: 'new', now, message: `${c.key}: ${now.toPrecision(3)}x naive, no baseline yet (npm run bench:update records one)` });
      continue;
    }
    const { limit, noise } = ratioLimit(base, c.ratio, threshold, k);
    const status = now < limit ? 'fail' : noise > NOISY * base.ratio ? 'noisy' : 'pass';
    const change = (100 * (now / base.ratio - 1)).toFixed(1);
    out.push({
      key: c.key,
      kind: 'ratio',
      status,
      now,
      base: base.ratio,
      limit,
      noise,
      message:
        `${c.key}: ratio ${now.toPrecision(3)}x naive vs baseline ${base.ratio.toPrecision(3)}x (${change}%), ` +
        `limit ${limit.toPrecision(3)}x = baseline - ${(threshold * 100).toFixed(0)}% - ${k} x noise ${noise.toPrecision(2)}; ` +
        `forkline ${fmtRate(c.candidate.medianOpsPerSec)}/s, naive ${fmtRate(c.baseline!.medianOpsPerSec)}/s, ` +
        `spread ±${(100 * c.ratio.relSpread).toFixed(0)}% over ${c.rounds} rounds`,
    });
  }
  for (const m of allMetrics(run)) {
    if (m.gate !== 'max') continue;
    const base = baseline.metrics[m.key];
    if (!base) {
      out.push({ key: m.key, kind: 'max', status: 'new', now: m.value, message: `${m.key}: ${m.value} ${m.unit}, no baseline yet` });
      continue;
    }
    const pass = m.value <= base.value * (1 + 1e-9);
    out.push({
      key: m.key,
      kind: 'max',
      status: pass ? 'pass' : 'fail',
      now: m.value,
      base: base.value,
      limit: base.value,
      message: `${m.key}: ${+m.value.toPrecision(6)} ${m.unit} vs baseline ${+base.value.toPrecision(6)} ${base.unit} (must not grow)`,
    });
  }
  return out;
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

export function checkBaselineFile(v: unknown, file: string): BaselineFile {
  const b = v as BaselineFile;
  if (!b || b.schema !== BASELINE_SCHEMA || typeof b.cases !== 'object') {
    throw new Error(`${file} is not a forkline baseline (schema ${BASELINE_SCHEMA}); npm run bench:update writes one`);
  }
  return b;
}
