// Finds the suites (every module in bench/suites/) and runs them.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUDGETS, measureCase } from './harness.js';
import { SUITES_DIR } from './paths.js';
import { commit, machine, SCHEMA, type CaseJson, type MetricJson, type RunJson, type SuiteJson } from './result.js';
import type { BenchSuite, Mode, SuiteContext } from './suite.js';

export async function loadSuites(): Promise<BenchSuite[]> {
  const files = readdirSync(SUITES_DIR).filter((f) => f.endsWith('.js'));
  const suites: BenchSuite[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(SUITES_DIR, f)).href)) as { default?: BenchSuite };
    const s = mod.default;
    if (!s || typeof s.name !== 'string' || (typeof s.setup !== 'function' && typeof s.measure !== 'function')) {
      throw new Error(`bench/suites/${f.replace(/\.js$/, '.ts')} must default-export a suite { name, description, unit, setup() or measure() }`);
    }
    suites.push(s);
  }
  const names = new Set<string>();
  for (const s of suites) {
    if (names.has(s.name)) throw new Error(`two suites are named "${s.name}"`);
    names.add(s.name);
  }
  return suites.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

/**
 * A filter: "suite" selects a suite, "suite/case" one case of it (its setup
 * still builds every case, only the selected ones are timed).
 */
export interface Selection {
  suite: string;
  case?: string;
}

export function parseSelection(arg: string): Selection {
  const [suite, c] = arg.split('/', 2);
  return c ? { suite: suite!, case: c } : { suite: suite! };
}

export interface RunOptions {
  mode: Mode;
  seed: number;
  select?: Selection[];
  log: (message: string) => void;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const rate = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`);

export async function runSuites(opts: RunOptions): Promise<RunJson> {
  const all = await loadSuites();
  const select = opts.select ?? [];
  for (const sel of select) {
    if (!all.some((s) => s.name === sel.suite)) {
      throw new Error(`no suite named "${sel.suite}" (suites: ${all.map((s) => s.name).join(', ')})`);
    }
  }
  const chosen = select.length === 0 ? all : all.filter((s) => select.some((x) => x.suite === s.name));
  const started = Date.now();
  const ctx: SuiteContext = { mode: opts.mode, seed: opts.seed, log: opts.log };
  const suites: SuiteJson[] = [];
  for (const suite of chosen) {
    const t0 = performance.now();
    const cases: CaseJson[] = [];
    const metrics: MetricJson[] = [];
    const wanted = select.filter((x) => x.suite === suite.name && x.case !== undefined).map((x) => x.case!);
    if (suite.setup) {
      opts.log(`${suite.name}: building inputs`);
      const built = await suite.setup(ctx);
      for (const w of wanted) {
        if (!built.some((c) => c.name === w)) {
          throw new Error(`suite "${suite.name}" has no case "${w}" (cases: ${built.map((c) => c.name).join(', ')})`);
        }
      }
      for (const c of built) {
        if (wanted.length > 0 && !wanted.includes(c.name)) continue;
        gc();
        const r = await measureCase(c, BUDGETS[opts.mode]);
        if (c.teardown) await c.teardown();
        const gated = c.baseline !== undefined && (c.gated ?? suite.gated ?? true);
        cases.push({ ...r, key: `${suite.name}/${c.name}`, gated });
        opts.log(
          `${suite.name}/${c.name}: ${r.rounds} rounds in ${(r.elapsedMs / 1000).toFixed(1)} s, ` +
            `${rate(r.candidate.medianOpsPerSec)} ${suite.unit}/s` +
            (r.ratio ? `, ${r.ratio.median.toPrecision(3)}x naive` : ''),
        );
      }
    }
    if (suite.measure && wanted.length === 0) {
      opts.log(`${suite.name}: measuring`);
      for (const m of await suite.measure(ctx)) metrics.push({ ...m, key: `${suite.name}/${m.name}` });
    }
    opts.log(`${suite.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    suites.push({
      name: suite.name,
      description: suite.description,
      unit: suite.unit,
      elapsedMs: performance.now() - t0,
      cases,
      metrics,
    });
  }
  const out: RunJson = {
    schema: SCHEMA,
    mode: opts.mode,
    seed: opts.seed,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: machine(),
    suites,
  };
  const c = commit();
  if (c) out.commit = c;
  return out;
}
