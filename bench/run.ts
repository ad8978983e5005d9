// npm run bench [-- options]: runs the suites and prints the table.
//
//   --quick            quick mode (what bench:check runs, a few seconds); default: full mode
//   --suite NAME       only this suite ("suite/case": one case); repeatable or comma-separated
//   --json FILE        also write the results as JSON (format: docs/benchmarks.md)
//   --seed N           seed of the generated streams (default 1)
//   --no-history       do not append to bench/history.json nor rewrite bench/chart.html
//   --list             list the suites and exit

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { writeChart } from './chart.js';
import { appendHistory } from './lib/history.js';
import { formatRun } from './lib/report.js';
import { log, runMain, selections } from './lib/cli.js';
import { loadSuites, runSuites } from './lib/runner.js';

const OPTIONS = {
  quick: { type: 'boolean' },
  full: { type: 'boolean' },
  suite: { type: 'string', multiple: true },
  json: { type: 'string' },
  seed: { type: 'string' },
  'no-history': { type: 'boolean' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS, allowPositionals: false });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--quick] [--suite NAME[/CASE]]... [--json FILE] [--seed N] [--no-history] [--list]\n',
    );
    return 0;
  }
  if (values.list) {
    for (const s of await loadSuites()) process.stdout.write(`${s.name.padEnd(16)} ${s.description}\n`);
    return 0;
  }
  const run = await runSuites({
    mode: values.quick && !values.full ? 'quick' : 'full',
    seed: Number(values.seed ?? 1),
    select: selections(values.suite),
    log,
  });
  process.stdout.write(`\n${formatRun(run, { color: process.stdout.isTTY === true })}\n`);
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(run, null, 1)}\n`);
    log(`results written to ${values.json}`);
  }
  if (!values['no-history']) {
    appendHistory(run, 'run');
    log(`chart of the last runs: ${writeChart()}`);
  }
  return 0;
}

runMain('bench', main);
