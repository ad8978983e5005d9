// The live status line of `forkline run`: rendered from the agent's stats,
// the same figures `forkline status` gives (src/ops/query-stats.ts).

import { describe, expect, it } from 'vitest';
import { formatStatusLine } from '../../src/cli/run.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';
import { StatsSampler } from '../../src/ops/query-stats.js';

describe('forkline run status line', () => {
  it('shows events/s by type, drops by cause, cache size and shard lag', async () => {
    const pipeline = createPipeline({ shards: 2, capacity: 4096, source: new SyntheticSource({ seed: 5, events: 20_000, lostRate: 0.01 }) });
    pipeline.start();
    const sampler = new StatsSampler({ source: 'synthetic', pipeline });
    const summary = await pipeline.done();
    const s = sampler.stats();
    sampler.stop();
    const line = formatStatusLine(s);
    expect(line).toMatch(
      /^forkline synthetic: fork \d+\/s exec \d+\/s exit \d+\/s creds \d+\/s rename \d+\/s \| drops lost (\d+) capture-full 0 shard-full 0 decode 0 table-full 0 link-messages 0 \| cache (\d+) \| lag 0\/0$/,
    );
    const [, lost, cache] = /drops lost (\d+) .* cache (\d+)/.exec(line)!;
    expect(Number(lost)).toBe(summary.dropped.lostEvents);
    expect(Number(lost)).toBeGreaterThan(0);
    expect(Number(cache)).toBe(summary.cacheSize);
    // the same drops as the run summary, total included
    expect(s.drops).toMatchObject({ total: summary.dropped.total, lostEvents: summary.dropped.lostEvents, linkMessages: summary.dropped.linkMessages });
  });
});
