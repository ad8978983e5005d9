// bench/chart.html: the last runs (bench/history.json) against the baseline
// (bench/baseline.json), one small SVG per gated case, self-contained (no
// script, no network). Written after every run; also on its own:
//
//   node dist-bench/bench/chart.js [--out FILE]

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { checkBaselineFile, ratioLimit, type BaselineFile } from './lib/gate.js';
import { readHistory, type HistoryEntry } from './lib/history.js';
import { BASELINE_FILE, CHART_FILE } from './lib/paths.js';
import { formatMetric } from './lib/report.js';

const W = 360;
const H = 150;
const PAD = { l: 58, r: 10, t: 22, b: 22 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const rate = (x: number | null) => (x === null ? '-' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M/s` : `${(x / 1e3).toFixed(1)}k/s`);

function panel(key: string, history: HistoryEntry[], baseline: BaselineFile | undefined): string {
  const points = history
    .map((h, i) => ({ i, h, c: h.cases[key] }))
    .filter((p): p is { i: number; h: HistoryEntry; c: NonNullable<typeof p.c> } => p.c !== undefined && Number.isFinite(p.c.ratio));
  const base = baseline?.cases[key];
  const values = points.map((p) => p.c.ratio);
  if (base) values.push(base.ratio, base.ratio * (1 - baseline!.threshold));
  if (values.length === 0) return '';
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const margin = (hi - lo) * 0.15 || hi * 0.1 || 0.1;
  lo = Math.max(0, lo - margin);
  hi += margin;
  const n = Math.max(2, history.length);
  const x = (i: number) => PAD.l + ((W - PAD.l - PAD.r) * i) / (n - 1);
  const y = (v: number) => PAD.t + (H - PAD.t - PAD.b) * (1 - (v - lo) / (hi - lo));
  const parts: string[] = [];
  parts.push(`<text x="${PAD.l}" y="14" class="title">${esc(key)}</text>`);
  for (const v of [lo, (lo + hi) / 2, hi]) {
    parts.push(`<text x="${PAD.l - 4}" y="${y(v) + 3}" class="axis" text-anchor="end">${v.toPrecision(3)}x</text>`);
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`);
  }
  if (base) {
    const floor = base.ratio * (1 - baseline!.threshold);
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(base.ratio)}" y2="${y(base.ratio)}" class="base"><title>baseline ${base.ratio.toPrecision(3)}x (${esc(baseline!.recordedAt)})</title></line>`);
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(floor)}" y2="${y(floor)}" class="floor"><title>baseline - ${(baseline!.threshold * 100).toFixed(0)}%: fails below this, minus noise</title></line>`);
  }
  if (points.length > 1) {
    parts.push(`<polyline class="line" points="${points.map((p) => `${x(p.i).toFixed(1)},${y(p.c.ratio).toFixed(1)}`).join(' ')}"/>`);
  }
  for (const p of points) {
    let failed = false;
    if (base) {
      const { limit } = ratioLimit(base, { median: p.c.ratio, relStdErr: p.c.relStdErr || 0 }, baseline!.threshold, baseline!.k);
      failed = p.c.ratio < limit;
    }
    const tip = `${p.h.at} ${p.h.mode} ${p.h.source}${p.h.commit ? ` ${p.h.commit}` : ''}\nratio ${p.c.ratio.toPrecision(3)}x\nforkline ${rate(p.c.candidateOpsPerSec)}, naive ${rate(p.c.baselineOpsPerSec)}`;
    parts.push(`<circle cx="${x(p.i).toFixed(1)}" cy="${y(p.c.ratio).toFixed(1)}" r="3.5" class="${failed ? 'pt fail' : 'pt'}"><title>${esc(tip)}</title></circle>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

function section(mode: string, history: HistoryEntry[], baseline: BaselineFile | undefined): string {
  const keys = new Set<string>(Object.keys(baseline?.cases ?? {}));
  for (const h of history) for (const [k, c] of Object.entries(h.cases)) if (Number.isFinite(c.ratio)) keys.add(k);
  const panels = [...keys].sort().map((k) => panel(k, history, baseline)).filter(Boolean);
  const note = baseline
    ? `Green: the baseline ratio (recorded ${esc(baseline.recordedAt)}${baseline.commit ? `, ${esc(baseline.commit)}` : ''}). ` +
      `Dashed red: baseline - ${(baseline.threshold * 100).toFixed(0)}%; the gate fails a run below that line minus ${baseline.k} standard errors of noise (red points).`
    : `No baseline in this mode: the gate (bench:check) runs quick mode; these ratios come from larger inputs and are not comparable with quick ones.`;
  return `<h2>${esc(mode)} mode: the last ${history.length} runs</h2><p>${note}</p><div class="grid-panels">${panels.join('\n')}</div>`;
}

export function renderChart(history: HistoryEntry[], baseline: BaselineFile | undefined): string {
  const modes = [...new Set([baseline?.mode ?? 'quick', ...history.map((h) => h.mode)])];
  const sections = modes
    .map((m) => {
      const runs = history.filter((h) => h.mode === m);
      const base = baseline?.mode === m ? baseline : undefined;
      return runs.length > 0 || base ? section(m, runs, base) : '';
    })
    .join('\n');
  const last = history.at(-1);
  const metricRows = last
    ? Object.entries(last.metrics)
        .map(([k, m]) => {
          const b = baseline?.metrics[k];
          return `<tr><td>${esc(k)}</td><td>${esc(formatMetric(m.value, m.unit))}</td><td>${b ? esc(formatMetric(b.value, b.unit)) : ''}</td></tr>`;
        })
        .join('')
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>forkline benchmarks</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:18px} h2{font-size:15px;margin-top:24px} .grid-panels{display:flex;flex-wrap:wrap;gap:12px}
svg{border:1px solid #ddd;border-radius:4px;background:#fff}
.title{font:600 12px system-ui,sans-serif;fill:#222} .axis{font:10px system-ui,sans-serif;fill:#777}
.grid{stroke:#eee} .base{stroke:#2a7;stroke-width:1.5} .floor{stroke:#d44;stroke-dasharray:4 3}
.line{fill:none;stroke:#36c;stroke-width:1.5} .pt{fill:#36c} .pt.fail{fill:#d22}
table{border-collapse:collapse;margin-top:16px} td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
p{color:#555;max-width:60em}
</style></head><body>
<h1>forkline benchmarks: forkline's rate / the naive resolver's rate, per case</h1>
<p>Each point is one run, oldest left (hover for its date, commit and rates): the median over rounds of forkline's rate divided by the naive resolver's, both measured in that run.</p>
${sections}
${metricRows ? `<table><tr><th>metric (last run${last ? `, ${esc(last.mode)}` : ''})</th><th>value</th><th>baseline</th></tr>${metricRows}</table>` : ''}
</body></html>
`;
}

export function readBaseline(file = BASELINE_FILE): BaselineFile | undefined {
  if (!existsSync(file)) return undefined;
  return checkBaselineFile(JSON.parse(readFileSync(file, 'utf8')), file);
}

export function writeChart(out = CHART_FILE, baselineFile = BASELINE_FILE): string {
  writeFileSync(out, renderChart(readHistory(), readBaseline(baselineFile)));
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--out');
  const file = writeChart(i > 0 ? process.argv[i + 1] : undefined);
  process.stdout.write(`${file}\n`);
}
