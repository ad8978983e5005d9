// The machine-readable result of a run (`--json FILE`), documented in
// docs/benchmarks.md. Bump SCHEMA on any incompatible change.

import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import type { CaseResult } from './harness.js';
import type { Metric, Mode } from './suite.js';
import { ROOT } from './paths.js';

export const SCHEMA = 'forkline-bench/1';

export interface CaseJson extends CaseResult {
  /** "suite/case": the key the gate and the baseline use. */
  key: string;
  gated: boolean;
}

export interface MetricJson extends Metric {
  /** "suite/metric". */
  key: string;
}

export interface SuiteJson {
  name: string;
  description: string;
  unit: string;
  elapsedMs: number;
  cases: CaseJson[];
  metrics: MetricJson[];
}

export interface Machine {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  kernel: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
}

export interface RunJson {
  schema: typeof SCHEMA;
  mode: Mode;
  seed: number;
  startedAt: string;
  durationMs: number;
  /** `git rev-parse --short HEAD`, with "+dirty" when the tree has changes; absent outside a clone. */
  commit?: string;
  machine: Machine;
  suites: SuiteJson[];
}

export function machine(): Machine {
  const c = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    kernel: release(),
    cpus: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
  };
}

export function commit(): string | undefined {
  try {
    const opts = { cwd: ROOT, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'] };
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], opts).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return undefined;
  }
}

export function allCases(run: RunJson): CaseJson[] {
  return run.suites.flatMap((s) => s.cases);
}

export function allMetrics(run: RunJson): MetricJson[] {
  return run.suites.flatMap((s) => s.metrics);
}
