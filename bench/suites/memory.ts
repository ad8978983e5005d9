// Memory: bytes per cached process row and the resident set for 100k (and,
// in full mode, 1M) running processes, forkline and the naive resolver, each
// measured in a fresh child process (bench/memory-child.ts) so the figure
// holds nothing but the cache.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { MemoryChildResult } from '../memory-child.js';
import type { BenchSuite, Metric } from '../lib/suite.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../memory-child.js', import.meta.url));

async function measure(impl: 'forkline' | 'naive', processes: number, seed: number): Promise<MemoryChildResult> {
  const { stdout } = await run(process.execPath, ['--expose-gc', CHILD, impl, String(processes), String(seed)], {
    maxBuffer: 1 << 20,
    env: process.env,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as MemoryChildResult;
}

const breakdown = (r: MemoryChildResult) =>
  Object.entries(r.sabBreakdown ?? {})
    .map(([k, b]) => `${k} ${(b / r.rows!).toFixed(0)}`)
    .join(', ');

const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);

const suite: BenchSuite = {
  name: 'memory',
  order: 40,
  unit: 'bytes',
  description:
    'bytes per process row (layout and measured shared memory) and RSS of 100k (full: also 1M) running processes, forkline vs naive, one child process each',
  async measure(ctx) {
    const sizes = ctx.mode === 'quick' ? [100_000] : [100_000, 1_000_000];
    const metrics: Metric[] = [];
    for (const n of sizes) {
      // one at a time: two children at once would share the 2 cores and the page cache
      const f = await measure('forkline', n, ctx.seed);
      const v = await measure('naive', n, ctx.seed);
      const l = label(n);
      if (n === sizes[0]) {
        metrics.push({
          name: 'bytesPerRow',
          value: f.bytesPerRow!,
          unit: 'B/row',
          target: { op: '<=', value: 96 },
          gate: 'max',
          note: 'row columns + pid index share, strings apart (stats().bytesPerRow)',
        });
      }
      const rssF = f.rssAfter - f.rssBefore;
      const rssV = v.rssAfter - v.rssBefore;
      metrics.push(
        {
          name: `${l}/sharedBytesPerRow`,
          value: f.sabBytes! / f.rows!,
          unit: 'B/row',
          note: `every SharedArrayBuffer of the tables (reserved: ${breakdown(f)}) / rows in use`,
        },
        { name: `${l}/stringBytesPerRow`, value: f.stringBytes! / f.rows!, unit: 'B/row', note: 'interned string bytes in use / rows in use' },
        { name: `${l}/rows`, value: f.rows!, unit: 'rows', note: `${f.live} running processes (fork + exec image each)` },
        { name: `${l}/rss`, value: f.rssAfter, unit: 'B', note: 'process RSS, forkline' },
        { name: `${l}/rssPerProcess`, value: rssF / n, unit: 'B/process', note: 'RSS growth / running processes, forkline' },
        { name: `${l}/naive/rss`, value: v.rssAfter, unit: 'B', note: 'process RSS, naive' },
        { name: `${l}/naive/rssPerProcess`, value: rssV / n, unit: 'B/process', note: 'RSS growth / running processes, naive' },
        { name: `${l}/naiveToForklineRss`, value: rssV / rssF, unit: 'x', note: 'naive RSS growth / forkline RSS growth' },
      );
      ctx.log(`memory: ${l} processes measured`);
    }
    return metrics;
  },
};

export default suite;
