// The table people read: one line per case, one per metric.

import type { RunJson } from './result.js';

export interface TableOptions {
  color: boolean;
}

function si(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(x >= 100 ? 0 : 1);
}

export function formatMetric(value: number, unit: string): string {
  if (unit === 'B') return `${(value / 1048576).toFixed(1)} MiB`;
  if (unit === 'x') return `${value.toFixed(2)}x`;
  if (unit === 'rows') return si(value);
  return `${value.toFixed(1)} ${unit}`;
}

function table(rows: string[][], header: string[], align: ('l' | 'r')[]): string {
  const all = [header, ...rows];
  const width = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (align[i] === 'r' ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(header), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatRun(run: RunJson, opts: TableOptions): string {
  const bold = (s: string) => (opts.color ? `\x1b[1m${s}\x1b[0m` : s);
  const dim = (s: string) => (opts.color ? `\x1b[2m${s}\x1b[0m` : s);
  const out: string[] = [];
  out.push(
    bold(`forkline bench, ${run.mode} mode`) +
      dim(
        ` — ${run.commit ?? 'no git'}, node ${run.machine.node}, ${run.machine.cpus} x ${run.machine.cpuModel}, ${(run.durationMs / 1000).toFixed(1)} s`,
      ),
  );
  const rows: string[][] = [];
  for (const s of run.suites) {
    for (const c of s.cases) {
      const b = c.baseline;
      rows.push([
        c.key,
        `${si(c.candidate.medianOpsPerSec)} ${s.unit}/s`,
        si(c.candidate.p99OpsPerSec),
        `±${c.candidate.rmePercent.toFixed(1)}%`,
        b ? `${si(b.medianOpsPerSec)}` : '-',
        b ? si(b.p99OpsPerSec) : '-',
        b ? `±${b.rmePercent.toFixed(1)}%` : '-',
        c.ratio ? `${c.ratio.median.toPrecision(3)}x` : '-',
        c.ratio ? `±${(100 * c.ratio.relSpread).toFixed(0)}%` : '-',
        String(c.rounds),
      ]);
    }
  }
  if (rows.length > 0) {
    out.push('');
    out.push(
      table(
        rows,
        ['case', 'forkline median', 'p99', 'rme', 'naive median', 'p99', 'rme', 'ratio', 'spread', 'rounds'],
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
    out.push(
      dim(
        'rates: median and p99 (slowest 1%) of whole-batch rates; rme: 95% margin of the mean batch time; ratio: median of the per-round forkline/naive rate ratios; spread: robust sd of one round\'s ratio',
      ),
    );
  }
  const infos = run.suites.flatMap((s) => s.cases.filter((c) => c.info).map((c) => `${c.key}: ${Object.entries(c.info!).map(([k, v]) => `${k} ${v}`).join(', ')}`));
  if (infos.length > 0) out.push(dim(infos.join('\n')));
  const metrics = run.suites.flatMap((s) => s.metrics);
  if (metrics.length > 0) {
    out.push('');
    out.push(
      table(
        metrics.map((m) => [
          m.key,
          formatMetric(m.value, m.unit),
          m.target ? `${m.target.op} ${m.target.value}` : '',
          m.target ? (m.target.op === '<=' ? m.value <= m.target.value : m.value >= m.target.value) ? 'ok' : 'MISSED' : '',
          m.note ?? '',
        ]),
        ['metric', 'value', 'target', '', 'what'],
        ['l', 'r', 'l', 'l', 'l'],
      ),
    );
  }
  return out.join('\n');
}
