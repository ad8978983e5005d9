// The embedded resolver runs itself (issue 13, point 8): start()/stop()
// flush exited entries by the clock, and sendStats() sends the counters to
// StatsD under the agent's names. docs/cache.md, "Running in the background".

import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import StatsD from 'hot-shots';
import { describe, expect, it } from 'vitest';
import { EbpflessResolver, ProcessResolver } from '../../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('start()/stop(): exited entries flushed by the clock', () => {
  it('flushes an exited pid once its retention has passed, with no further event', async () => {
    const r = new ProcessResolver({ capacity: 64, exitedRetention: 50_000_000n, dequeueIntervalMs: 10 });
    r.addForkEntry({ pid: 10, ppid: 0, time: 1_000_000n });
    r.applyExitEntry({ pid: 10, time: 2_000_000n });
    await sleep(120);
    expect(r.size).toBe(1); // not started: only the next event would flush it
    r.start();
    try {
      const until = Date.now() + 5000;
      while (r.size > 0 && Date.now() < until) await sleep(10);
      expect(r.size).toBe(0);
      expect(r.stats().flushed).toBe(1);
    } finally {
      await r.stop();
    }
  });

  it('keeps an exited pid for its retention', async () => {
    const r = new ProcessResolver({ capacity: 64, exitedRetention: 60_000_000_000n, dequeueIntervalMs: 10 });
    r.addForkEntry({ pid: 10, ppid: 0, time: 1_000_000n });
    r.applyExitEntry({ pid: 10, time: 2_000_000n });
    r.start();
    await sleep(100);
    await r.stop();
    expect(r.size).toBe(1);
  });

  it('its timers do not keep the process alive', () => {
    const dist = join(process.cwd(), 'dist', 'index.js');
    if (!existsSync(dist)) {
      console.warn('skipped: dist/ not built (npm run build:ts)');
      return;
    }
    const script = `import { ProcessResolver } from ${JSON.stringify(dist)};
      const r = new ProcessResolver({ capacity: 16, statsd: { host: '127.0.0.1', port: 9 } }); r.start();`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 });
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => new ProcessResolver({ dequeueIntervalMs: 0 })).toThrow(RangeError);
    expect(() => new ProcessResolver({ statsd: 'localhost' as never })).toThrow(/statsd/);
    expect(() => new ProcessResolver({ statsd: { port: 70000 } })).toThrow(RangeError);
  });
});

describe('sendStats(): the counters under the agent\'s names', () => {
  it('sends hits and misses by source, broken lineage, reparents, exec bombs as growth since the last send', () => {
    const client = new StatsD({ mock: true });
    const r = new ProcessResolver({ capacity: 64, statsd: client });
    r.addForkEntry({ pid: 10, ppid: 0, time: 1n });
    r.addExecEntry({ pid: 10, time: 2n, path: '/bin/a', inode: 1 });
    r.addExecEntry({ pid: 10, time: 3n, path: '/bin/a', inode: 1 }); // exec bomb
    r.resolve(10);
    r.resolve(11); // miss
    r.hasValidLineage(r.addForkEntry({ pid: 12, ppid: 99, time: 4n })!); // broken
    expect(r.sendStats()).toBe(true);
    const lines = client.mockBuffer!;
    expect(lines).toContain('forkline.process_resolver.hits:1|c|#source:event');
    expect(lines).toContain('forkline.process_resolver.misses:1|c');
    expect(lines).toContain('forkline.process_resolver.broken_lineage:1|c');
    expect(lines).toContain('forkline.process_resolver.exec_bombs:1|c');
    expect(lines).toContain('forkline.process_resolver.reparent:0|c|#result:success');
    expect(lines).toContain('forkline.process_resolver.cache_size:2|g');
    client.mockBuffer!.length = 0;
    r.resolve(10);
    r.sendStats();
    expect(client.mockBuffer).toContain('forkline.process_resolver.hits:1|c|#source:event');
    expect(client.mockBuffer).toContain('forkline.process_resolver.misses:0|c');
  });

  it('without statsd, sendStats() sends nothing and says so', () => {
    expect(new EbpflessResolver({ capacity: 16 }).sendStats()).toBe(false);
  });

  it('makes its own client from { host, port, prefix, globalTags } and closes it on stop()', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((done) => server.bind(0, '127.0.0.1', () => done()));
    const got: string[] = [];
    server.on('message', (m) => got.push(m.toString()));
    try {
      const r = new EbpflessResolver({
        capacity: 16,
        statsd: { host: '127.0.0.1', port: server.address().port, globalTags: { env: 'test' } },
      });
      r.addForkEntry({ pid: 1, nsid: 7 }, 0, 1n);
      r.start();
      await r.stop(); // a last send, then the socket closes
      const until = Date.now() + 5000;
      while (!got.join('\n').includes('cache_size') && Date.now() < until) await sleep(10);
      const text = got.join('\n');
      expect(text).toContain('forkline.process_resolver.cache_size:1|g|#env:test');
      expect(text).toContain('forkline.process_resolver.added:1|c|#env:test,source:event');
    } finally {
      server.close();
    }
  });
});
