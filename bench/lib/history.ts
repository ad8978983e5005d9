// bench/history.json: a short summary of the last runs on this machine, for
// the chart. Local (gitignored); every `npm run bench` and `bench:check`
// appends to it.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { HISTORY_FILE } from './paths.js';
import { allCases, allMetrics, type RunJson } from './result.js';
import type { Mode } from './suite.js';

export const HISTORY_LENGTH = 30;

export interface HistoryCase {
  ratio: number;
  relStdErr: number;
  candidateOpsPerSec: number;
  baselineOpsPerSec: number | null;
}

export interface HistoryEntry {
  at: string;
  mode: Mode;
  source: 'run' | 'check';
  commit?: string;
  cases: Record<string, HistoryCase>;
  metrics: Record<string, { value: number; unit: string }>;
}

export function readHistory(file = HISTORY_FILE): HistoryEntry[] {
  if (!existsSync(file)) return [];
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(v) ? (v as HistoryEntry[]) : [];
  } catch {
    return []; // a damaged local history is not worth failing a run for
  }
}

export function appendHistory(run: RunJson, source: 'run' | 'check', file = HISTORY_FILE): HistoryEntry[] {
  const entry: HistoryEntry = { at: run.startedAt, mode: run.mode, source, cases: {}, metrics: {} };
  if (run.commit) entry.commit = run.commit;
  for (const c of allCases(run)) {
    entry.cases[c.key] = {
      ratio: c.ratio?.median ?? Number.NaN,
      relStdErr: c.ratio?.relStdErr ?? Number.NaN,
      candidateOpsPerSec: c.candidate.medianOpsPerSec,
      baselineOpsPerSec: c.baseline?.medianOpsPerSec ?? null,
    };
  }
  for (const m of allMetrics(run)) entry.metrics[m.key] = { value: m.value, unit: m.unit };
  const history = [...readHistory(file), entry].slice(-HISTORY_LENGTH);
  writeFileSync(file, `${JSON.stringify(history, null, 1)}\n`);
  return history;
}
