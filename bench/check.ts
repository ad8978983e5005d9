// npm run bench:check: the regression gate. Runs the quick suites and
// compares each gated case's ratio to the naive resolver (measured in this
// run) with bench/baseline.json; exits 1, naming the case and the figures,
// when one dropped more than the threshold beyond the measured noise
// (rule: lib/gate.ts). npm run bench:update (--update) rewrites the baseline.
//
//   --suite NAME[/CASE]  only these suites or cases; repeatable or comma-separated
//   --baseline FILE      baseline file (default bench/baseline.json)
//   --update             record a new baseline instead of checking: the median of --runs
//                        quick runs (cases not run keep their entries)
//   --runs N             runs for --update (default 3)
//   --threshold X        tolerated drop before noise, fraction (default: the baseline's, else 0.25)
//   --k X                standard errors of noise tolerated on top (default: the baseline's, else 3)
//   --no-confirm         judge the first measurement (default: a failing or too noisy case
//                        is measured again and judged on the second measurement)
//   --strict             also fail when a case stays too noisy to judge (see NOISY in lib/gate.ts)
//   --json FILE          also write the run's results (format: docs/benchmarks.md)
//   --seed N             seed of the generated streams (default 1)
//   --no-history         do not append to bench/history.json nor rewrite bench/chart.html
//
// Exit codes: 0 pass, 1 regression, 2 usage error or no baseline.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeChart } from './chart.js';
import { log, runMain, selections } from './lib/cli.js';
import {
  baselineFromRuns,
  checkBaselineFile,
  DEFAULT_K,
  DEFAULT_THRESHOLD,
  judge,
  type BaselineFile,
  type Verdict,
} from './lib/gate.js';
import { appendHistory } from './lib/history.js';
import { BASELINE_FILE } from './lib/paths.js';
import { formatRun } from './lib/report.js';
import type { RunJson } from './lib/result.js';
import { runSuites, type Selection } from './lib/runner.js';

const OPTIONS = {
  suite: { type: 'string', multiple: true },
  baseline: { type: 'string' },
  update: { type: 'boolean' },
  runs: { type: 'string' },
  threshold: { type: 'string' },
  k: { type: 'string' },
  'no-confirm': { type: 'boolean' },
  strict: { type: 'boolean' },
  json: { type: 'string' },
  seed: { type: 'string' },
  'no-history': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function number(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${v}"`);
  return n;
}

/** Replaces, in `run`, the cases and metrics that `again` measured anew. */
function merge(run: RunJson, again: RunJson): RunJson {
  const suites = run.suites.map((s) => {
    const t = again.suites.find((x) => x.name === s.name);
    if (!t) return s;
    return {
      ...s,
      cases: s.cases.map((c) => t.cases.find((x) => x.key === c.key) ?? c),
      metrics: s.metrics.map((m) => t.metrics.find((x) => x.key === m.key) ?? m),
    };
  });
  return { ...run, suites, durationMs: run.durationMs + again.durationMs };
}

function printVerdicts(verdicts: Verdict[]): void {
  for (const v of verdicts) {
    const tag = { pass: 'ok', new: 'new', noisy: 'NOISY', fail: 'FAIL' }[v.status];
    process.stdout.write(`${tag.padEnd(6)}${v.message}\n`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS, allowPositionals: false });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench:check -- [--suite NAME[/CASE]]... [--baseline FILE] [--update] [--runs N] [--threshold X] [--k X] [--no-confirm] [--strict] [--json FILE] [--seed N] [--no-history]\n',
    );
    return 0;
  }
  const file = values.baseline ?? BASELINE_FILE;
  const previous: BaselineFile | undefined = existsSync(file)
    ? checkBaselineFile(JSON.parse(readFileSync(file, 'utf8')), file)
    : undefined;
  if (!previous && !values.update) {
    process.stderr.write(`bench:check: no baseline at ${file}; record one with npm run bench:update\n`);
    return 2;
  }
  const threshold = number('threshold', values.threshold, previous?.threshold ?? DEFAULT_THRESHOLD);
  const k = number('k', values.k, previous?.k ?? DEFAULT_K);
  if (threshold >= 1) throw new Error('--threshold is a fraction, below 1');
  const seed = Number(values.seed ?? 1);
  const select = selections(values.suite);

  const runs = values.update ? Math.max(1, Math.floor(number('runs', values.runs, 3))) : 1;
  const measured: RunJson[] = [];
  for (let i = 0; i < runs; i++) {
    if (runs > 1) log(`run ${i + 1} of ${runs}`);
    measured.push(await runSuites({ mode: 'quick', seed, select, log }));
  }
  let run = measured[measured.length - 1]!;
  process.stdout.write(`\n${formatRun(run, { color: process.stdout.isTTY === true })}\n\n`);

  let code = 0;
  if (values.update) {
    const next = baselineFromRuns(measured, previous, threshold, k);
    writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
    for (const [key, c] of Object.entries(next.cases)) {
      process.stdout.write(`${key}: ${c.ratio.toPrecision(3)}x naive (±${(100 * c.relStdErr).toFixed(1)}% standard error)\n`);
    }
    process.stdout.write(
      `baseline written to ${file}: ${Object.keys(next.cases).length} ratios (median of ${runs} runs), threshold ${threshold}, k ${k}\n`,
    );
  } else {
    let verdicts = judge(run, previous!, threshold, k);
    const doubtful = verdicts.filter((v) => (v.status === 'fail' || v.status === 'noisy') && v.kind === 'ratio');
    if (doubtful.length > 0 && !values['no-confirm']) {
      printVerdicts(doubtful);
      const again: Selection[] = doubtful.map((v) => {
        const [suite, c] = v.key.split('/', 2);
        return { suite: suite!, case: c! };
      });
      process.stdout.write(`measuring ${doubtful.map((v) => v.key).join(', ')} again\n\n`);
      run = merge(run, await runSuites({ mode: 'quick', seed, select: again, log }));
      verdicts = judge(run, previous!, threshold, k);
    }
    printVerdicts(verdicts);
    const bad = verdicts.filter((v) => v.status === 'fail');
    const noisy = verdicts.filter((v) => v.status === 'noisy');
    if (noisy.length > 0) {
      process.stdout.write(
        `\n${noisy.map((v) => v.key).join(', ')}: too noisy to judge (the machine is busy?): ` +
          `a regression smaller than the limit shown would not be seen${values.strict ? '; --strict: failing' : ''}.\n`,
      );
    }
    if (bad.length > 0) {
      process.stdout.write(
        `\nbench:check FAILED: ${bad.map((v) => v.key).join(', ')} regressed against ${file}` +
          (values['no-confirm'] ? '' : ' (measured twice)') +
          '.\nIf the change is intended, record a new baseline with npm run bench:update.\n',
      );
      code = 1;
    } else if (noisy.length > 0 && values.strict) {
      code = 1;
    } else {
      process.stdout.write(`\nbench:check passed: ${verdicts.length} figures within the limits of ${file}\n`);
    }
  }
  if (values.json) writeFileSync(values.json, `${JSON.stringify(run, null, 1)}\n`);
  if (!values['no-history']) {
    for (const r of measured.slice(0, -1)) appendHistory(r, 'check');
    appendHistory(run, 'check');
    writeChart(undefined, file);
  }
  return code;
}

runMain('bench:check', main);
