import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WRITER_COUNTERS, type WriterCounter } from '../../src/cache/counters.js';
import type { CaptureStats } from '../../src/native/addon.js';
import { MetricsReporter, pipelineMetricsSource, type MetricsSource } from '../../src/ops/metrics.js';
import { createPipeline, type PipelineStats } from '../../src/pipeline/pipeline.js';
import { REC_TYPE_COUNT } from '../../src/record/constants.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';

interface Line {
  name: string;
  value: number;
  type: string;
  tags: string[];
}

/** `name:value|type|#tag,tag` (DogStatsD). */
function parse(line: string): Line {
  const m = /^([^:]+):([^|]+)\|([a-z]+)(?:\|#(.*))?$/.exec(line);
  if (!m) throw new Error(`not a DogStatsD line: ${line}`);
  return { name: m[1]!, value: Number(m[2]), type: m[3]!, tags: m[4] ? m[4].split(',') : [] };
}

function lines(r: MetricsReporter): Line[] {
  return (r.client.mockBuffer ?? []).map(parse);
}

/** The value of the one line with this name carrying all these tags. */
function valueOf(ls: Line[], name: string, ...tags: string[]): number {
  const found = ls.filter((l) => l.name === name && tags.every((t) => l.tags.includes(t)));
  if (found.length !== 1) throw new Error(`${found.length} lines for ${name} ${tags.join(',')}`);
  return found[0]!.value;
}

/** A fake source: every counter `base`, mutable between flushes. */
function fakeSource(base = 1, shards = 2) {
  const counters = () => Object.fromEntries(WRITER_COUNTERS.map((n) => [n, base])) as Record<WriterCounter, number>;
  const state = {
    stats: {
      shards: Array.from({ length: shards }, (_, shard) => ({
        shard, cacheSize: 10 + shard, rows: 20 + shard, ringUsed: 1024, applied: 5n, counters: counters(),
      })),
      router: { routed: 100, byType: new Array<number>(REC_TYPE_COUNT).fill(base), ringFull: new Array<number>(shards).fill(base), lost: base, links: 1, forwarded: 1 },
      workerRestarts: base,
      visibilityLag: { samples: 3, p50Ms: 2, p99Ms: 4, maxMs: 5 },
    } as PipelineStats,
    capture: {
      kind: 'bpf', running: true, releasedUpTo: 1n, lost: 3n, ringFull: 2n, records: 9n, emitted: 9n, inversions: 4n, malformed: 1n,
      lostByCpu: [1n, 2n], reserveFailuresByCpu: [1n, 1n], procGone: 1n, overruns: 1n, wakeups: 7n,
    } as CaptureStats | undefined,
    target: new Array<bigint>(shards).fill(5n),
    applied: new Array<bigint>(shards).fill(5n),
  };
  const source: MetricsSource = {
    pipeline: () => state.stats,
    capture: () => state.capture,
    startedAt: () => Date.now() - 3000,
    watermarks: () => ({ target: [...state.target], applied: [...state.applied] }),
    rings: () => ({ shardCapacity: 4096, capture: { used: 512, capacity: 2048 } }),
  };
  return { state, source };
}

const reporters: MetricsReporter[] = [];
function reporter(source: MetricsSource, options: ConstructorParameters<typeof MetricsReporter>[1]): MetricsReporter {
  const r = new MetricsReporter(source, options);
  reporters.push(r);
  return r;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(reporters.splice(0).map((r) => r.stop()));
});

describe('MetricsReporter in hot-shots mock mode', () => {
  it('sends counters as the growth since the last flush, gauges as levels, with the prefix, global and metric tags', () => {
    const { state, source } = fakeSource(1);
    const r = reporter(source, { mock: true, globalTags: { env: 'test', region: 'eu' } });
    r.flush();
    const first = lines(r);
    expect(first.every((l) => l.name.startsWith('forkline.'))).toBe(true);
    expect(first.every((l) => l.tags[0] === 'env:test' && l.tags[1] === 'region:eu')).toBe(true);
    // first flush: the totals since the start (2 shards of 1 each)
    expect(valueOf(first, 'forkline.process_resolver.added', 'source:snapshot')).toBe(2);
    expect(valueOf(first, 'forkline.pipeline.dropped', 'cause:ring_full', 'shard:1')).toBe(1);
    expect(valueOf(first, 'forkline.pipeline.events', 'type:exec')).toBe(1);
    expect(valueOf(first, 'forkline.capture.lost', 'cpu:1')).toBe(2);
    expect(valueOf(first, 'forkline.process_resolver.cache_size')).toBe(21);
    expect(valueOf(first, 'forkline.pipeline.ring_fill', 'shard:0')).toBe(0.25);
    expect(valueOf(first, 'forkline.capture.ring_fill')).toBe(0.25);
    expect(first.find((l) => l.name === 'forkline.pipeline.dropped' && l.tags.includes('cause:ring_full'))?.type).toBe('c');

    // second flush: deltas; a counter that went back sends 0 until it passes its highest value
    state.stats.shards[0]!.counters.addedSnapshot = 6;
    state.stats.shards[1]!.counters.addedSnapshot = 3;
    state.stats.router.byType[2] = 11;
    state.stats.router.ringFull[1] = 0;
    state.stats.shards[0]!.cacheSize = 100;
    state.target[1] = 9n;
    state.applied[1] = 6n;
    r.client.mockBuffer!.length = 0;
    r.flush();
    const second = lines(r);
    expect(valueOf(second, 'forkline.process_resolver.added', 'source:snapshot')).toBe(7);
    expect(valueOf(second, 'forkline.process_resolver.added', 'source:event')).toBe(0);
    expect(valueOf(second, 'forkline.pipeline.events', 'type:exec')).toBe(10);
    expect(valueOf(second, 'forkline.pipeline.dropped', 'cause:ring_full', 'shard:1')).toBe(0);
    expect(valueOf(second, 'forkline.process_resolver.cache_size')).toBe(111);
    expect(valueOf(second, 'forkline.pipeline.shard_lag', 'shard:1')).toBe(3);
    expect(valueOf(second, 'forkline.pipeline.shard_lag', 'shard:0')).toBe(0);

    state.stats.router.ringFull[1] = 4;
    r.client.mockBuffer!.length = 0;
    r.flush();
    expect(valueOf(lines(r), 'forkline.pipeline.dropped', 'cause:ring_full', 'shard:1')).toBe(3);
    expect(r.stats().errors).toBe(0);
  });

  it('takes global tags as a list and a custom prefix', () => {
    const { source } = fakeSource(1, 1);
    const r = reporter(source, { mock: true, prefix: 'agent.', globalTags: ['team:sec'] });
    r.flush();
    const ls = lines(r);
    expect(ls.length).toBeGreaterThan(30);
    expect(ls.every((l) => l.name.startsWith('agent.') && l.tags[0] === 'team:sec')).toBe(true);
  });

  it('emits exactly the metrics of docs/metrics.md, with their types', async () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/metrics.md', import.meta.url)), 'utf8');
    const TYPES: Record<string, string> = { count: 'c', gauge: 'g', histogram: 'h' };
    const documented = new Map<string, string>();
    for (const m of doc.matchAll(/^\| `(forkline\.[a-z_.]+)` \| (\w+) \|/gm)) documented.set(m[1]!, TYPES[m[2]!] ?? `?${m[2]}`);
    expect(documented.size).toBeGreaterThan(30);

    const { state, source } = fakeSource(1);
    state.target = [5n, 7n]; // shard 1 behind: its probe takes a few polls
    const r = reporter(source, { mock: true });
    r.start(); // probes at once: shard 0 gives a sample
    setTimeout(() => (state.applied = [5n, 7n]), 5);
    await new Promise((res) => setTimeout(res, 50));
    r.flush();
    const emitted = new Map<string, string>();
    for (const l of lines(r)) emitted.set(l.name, l.type);
    expect([...emitted].sort()).toEqual([...documented].sort());
    const latency = lines(r).filter((l) => l.name === 'forkline.pipeline.apply_latency');
    expect(valueOf(latency, 'forkline.pipeline.apply_latency', 'shard:0')).toBe(0);
    expect(valueOf(latency, 'forkline.pipeline.apply_latency', 'shard:1')).toBeGreaterThan(0);
  });

  it('a replay or synthetic run (no capture) sends no capture metrics', () => {
    const { state, source } = fakeSource(1, 1);
    state.capture = undefined;
    const r = reporter({ ...source, rings: () => ({ shardCapacity: 4096 }) }, { mock: true });
    r.flush();
    const names = new Set(lines(r).map((l) => l.name));
    expect([...names].filter((n) => n.startsWith('forkline.capture.'))).toEqual([]);
    expect(lines(r).some((l) => l.tags.includes('cause:capture_ring_full'))).toBe(false);
  });
});

describe('MetricsReporter over the network', () => {
  let server: Socket | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  it('a UDP listener receives DogStatsD lines', async () => {
    server = createSocket('udp4');
    const received: string[] = [];
    server.on('message', (msg) => received.push(...msg.toString().split('\n')));
    await new Promise<void>((res) => server!.bind(0, '127.0.0.1', res));
    const port = server.address().port;
    const { source } = fakeSource(1, 2);
    const r = reporter(source, { host: '127.0.0.1', port, globalTags: { env: 'udp' } });
    r.flush();
    const count = lines(r).length; // mockBuffer is absent: count what arrives instead
    expect(count).toBe(0);
    for (let i = 0; i < 100 && !received.some((l) => l.startsWith('forkline.capture.ring_fill')); i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    const parsed = received.filter((l) => l.length > 0).map(parse);
    expect(valueOf(parsed, 'forkline.process_resolver.added', 'source:event')).toBe(2);
    expect(valueOf(parsed, 'forkline.pipeline.dropped', 'cause:decode_error', 'shard:1')).toBe(1);
    expect(parsed.every((l) => l.tags.includes('env:udp'))).toBe(true);
    expect(parsed.length).toBe(r.stats().sent);
    expect(r.stats().errors).toBe(0);
    await r.stop();
  });

  it('a closed port: the reporter keeps flushing, nothing throws, stop() returns', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((res) => probe.bind(0, '127.0.0.1', res));
    const port = probe.address().port;
    probe.close(); // nothing listens there now
    const { source } = fakeSource(1, 2);
    const errors: Error[] = [];
    const r = reporter(source, { host: '127.0.0.1', port, flushIntervalMs: 20, onError: (e) => errors.push(e) });
    r.start();
    await new Promise((res) => setTimeout(res, 200));
    const before = r.stats().flushes;
    expect(before).toBeGreaterThanOrEqual(3);
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
    // unconnected UDP: the kernel does not report the port unreachable, the datagrams are just lost
    expect(errors.length).toBeLessThanOrEqual(1);
    expect(r.stats().flushes).toBe(before + 1);
  });

  it('an unresolvable host: errors are counted, reported at most once a minute, memory stays bounded, stop() returns', async () => {
    const { source } = fakeSource(1, 2);
    let now = 1_000_000;
    const reports: { err: Error; suppressed: number }[] = [];
    const r = reporter(source, {
      host: 'forkline-statsd.invalid',
      flushIntervalMs: 10,
      clock: () => now,
      onError: (err, suppressed) => reports.push({ err, suppressed }),
    });
    r.start();
    for (let i = 0; i < 100 && r.stats().errors < 20; i++) await new Promise((res) => setTimeout(res, 10));
    expect(r.stats().errors).toBeGreaterThanOrEqual(20);
    expect(reports.length).toBe(1);
    expect(reports[0]!.err.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(r.stats().droppedLogLines).toBe(r.stats().errors - 1);
    // in flight never beyond the bound
    expect((r.client as unknown as { messagesInFlight: number }).messagesInFlight).toBeLessThanOrEqual(64 + 8);
    // a minute later: one more report, saying how many it left out
    now += 60_000;
    const errorsBefore = r.stats().errors;
    for (let i = 0; i < 100 && r.stats().errors === errorsBefore; i++) await new Promise((res) => setTimeout(res, 10));
    expect(reports.length).toBe(2);
    expect(reports[1]!.suppressed).toBeGreaterThanOrEqual(19);
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(reports.length).toBe(2);
  });

  it('without onError, the bounded report is one line on stderr', async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const { source } = fakeSource(1, 1);
    const r = reporter(source, { host: 'forkline-statsd.invalid', flushIntervalMs: 10 });
    r.start();
    for (let i = 0; i < 100 && r.stats().errors < 10; i++) await new Promise((res) => setTimeout(res, 10));
    await r.stop();
    vi.restoreAllMocks();
    const ours = written.filter((l) => l.startsWith('forkline metrics:'));
    expect(r.stats().errors).toBeGreaterThanOrEqual(10);
    expect(ours.length).toBe(1);
    expect(ours[0]).toMatch(/next report in 60 s at most\n$/);
  });

  it('a source that throws is counted as an error, not thrown', () => {
    const { source } = fakeSource(1, 1);
    const reports: Error[] = [];
    const r = reporter({ ...source, pipeline: () => { throw new Error('pipeline gone'); } }, { mock: true, onError: (e) => reports.push(e) });
    expect(() => r.flush()).not.toThrow();
    expect(r.stats().errors).toBe(1);
    expect(reports[0]?.message).toBe('pipeline gone');
  });
});

describe('MetricsReporter over a real pipeline', () => {
  it('pipelineMetricsSource reads a sharded pipeline over a synthetic source: the counts match its summary', async () => {
    const pipeline = createPipeline({ shards: 2, capacity: 16384, source: new SyntheticSource({ seed: 3, events: 20_000 }) });
    const r = reporter(pipelineMetricsSource(pipeline), { mock: true, latencyProbeMs: 5, flushIntervalMs: 60_000 });
    pipeline.start();
    r.start();
    const summary = await pipeline.done();
    await new Promise((res) => setTimeout(res, 30)); // a probe or two after the end
    r.flush();
    const ls = lines(r);
    const sum = (name: string, ...tags: string[]) =>
      ls.filter((l) => l.name === name && tags.every((t) => l.tags.includes(t))).reduce((n, l) => n + l.value, 0);
    for (const type of ['fork', 'exec', 'exit', 'creds', 'rename', 'flush'] as const) {
      expect(sum('forkline.pipeline.events', `type:${type}`)).toBe(summary.events[type]);
    }
    expect(sum('forkline.pipeline.routed')).toBeGreaterThanOrEqual(summary.applied);
    expect(valueOf(ls, 'forkline.process_resolver.cache_size')).toBe(summary.cacheSize);
    expect(valueOf(ls, 'forkline.process_resolver.rows')).toBe(summary.rows);
    expect(sum('forkline.pipeline.dropped')).toBe(summary.dropped.total);
    expect(sum('forkline.process_resolver.added')).toBeGreaterThan(0);
    expect(sum('forkline.pipeline.shard_lag')).toBe(0);
    expect(ls.filter((l) => l.name === 'forkline.pipeline.apply_latency').length).toBeGreaterThan(0);
    expect(ls.some((l) => l.name.startsWith('forkline.capture.'))).toBe(false);
    expect(r.stats().errors).toBe(0);
  });
});
