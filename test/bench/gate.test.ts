// The benchmark gate, end to end: `npm run bench:check`'s own command, spawned
// as a child process in quick mode on one case (apply/fork, the quickest that
// goes through ProcessResolver's fork apply), against a baseline recorded by
// `bench:update`'s command in a temporary file. Identical code must pass five
// runs in a row; with the test-only apply delay (src/cache/test-hooks.ts) the
// gate must fail and name the case.
//
// The runs are sequential on purpose: two benchmark processes at once would
// compete for the same two cores.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CASE = 'apply/fork';
/** Busy-loop iterations per fork and exec apply: makes a fork several (about 4) times slower on this machine kind. */
const SLOW_APPLY = '1500';

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** A package script as [build, run] commands: `rm -rf dist-bench && tsc ... && node ...`. */
function splitScript(name: string): { build: string; run: string } {
  const parts = scripts[name]!.split('&&').map((s) => s.trim());
  return { build: parts.slice(0, -1).join(' && '), run: parts[parts.length - 1]! };
}

function sh(command: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('sh', ['-c', command], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, FORKLINE_TEST_APPLY_DELAY: undefined, ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe('bench:check, the regression gate', () => {
  let dir: string;
  let baseline: string;
  const check = splitScript('bench:check');
  const update = splitScript('bench:update');

  beforeAll(() => {
    expect(check.run).toMatch(/dist-bench\/bench\/check\.js$/);
    const built = sh(check.build);
    expect(built.code, built.out).toBe(0);
    dir = mkdtempSync(join(tmpdir(), 'forkline-gate-'));
    baseline = join(dir, 'baseline.json');
    const recorded = sh(`${update.run} --suite ${CASE} --baseline ${baseline} --no-history`);
    expect(recorded.code, recorded.out).toBe(0);
    expect(JSON.parse(readFileSync(baseline, 'utf8')).cases[CASE].ratio).toBeGreaterThan(0);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes identical code five runs in a row', () => {
    for (let i = 1; i <= 5; i++) {
      const r = sh(`${check.run} --suite ${CASE} --baseline ${baseline} --no-history`);
      expect(r.code, `run ${i} of 5:\n${r.out}`).toBe(0);
      expect(r.out).toContain('bench:check passed');
    }
  }, 200_000);

  it('fails, naming the case and the figures, when apply is made several times slower', () => {
    const r = sh(`${check.run} --suite ${CASE} --baseline ${baseline} --no-history`, {
      FORKLINE_TEST_APPLY_DELAY: SLOW_APPLY,
    });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(new RegExp(`FAIL +${CASE}: ratio [\\d.]+x naive vs baseline [\\d.]+x \\(-\\d+\\.\\d%\\), limit`));
    expect(r.out).toContain(`bench:check FAILED: ${CASE} regressed`);
  }, 120_000);
});
