// Issue 11: a dump of the whole cache (>= 50k processes) while a storm of
// records is applied loses nothing and does not stall the router (the main
// thread): the answer is made by a reader thread and streamed. The stall is
// measured as the agent measures it (LoopStall: monitorEventLoopDelay of the
// main thread) and printed. The same measure taken around a dump made on the
// main thread (what the query socket did before) shows the stall it finds.

import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import type { RecordChunk, RecordSource } from '../../src/pipeline/source.js';
import { syntheticEvents } from '../../src/pipeline/sources/synthetic/stream.js';
import { encodeEvent } from '../../src/record/encode.js';
import { MAX_RECORD_SIZE } from '../../src/record/constants.js';
import { LoopStall } from '../../src/ops/loop-stall.js';
import { query } from '../../src/ops/query-client.js';
import type { AgentStats } from '../../src/ops/query-protocol.js';
import { startQueryServer, type QueryServer } from '../../src/ops/query-server.js';
import { StatsSampler } from '../../src/ops/query-stats.js';

/** Live processes the cache must hold before the dumps. */
const LIVE = 50_000;
/**
 * The bound on the router stall while the dumps run. The target is 10 ms
 * (issue 11), which an idle machine meets; but on a 2-core VM shared with
 * other jobs (load 8-10) the main thread waits for a CPU for hundreds of
 * ms now and then, dumps or not (the storm alone, printed below as the
 * baseline, shows it). A dump made on the main thread stalls it for
 * seconds (the second test): the bound tells the two apart.
 */
const STALL_BOUND_MS = 1000;
const CHUNK = 64 * 1024;

/** Renames per second of the storm (the rename storm was ~450k events/s; this machine may have 2 cores). */
const STORM_RATE = 250_000;

/**
 * A cache filled by a synthetic stream, then an endless storm of renames of
 * its live processes at STORM_RATE, in 64 KiB chunks (as a capture would
 * deliver them: at the kernel's pace, not as fast as the router can read).
 */
class FillThenStorm implements RecordSource {
  readonly name = 'storm';
  readonly replayable = false;
  stopped = false;
  stormRecords = 0;
  private readonly fill: Uint8Array[] = [];
  private readonly live: number[];
  private time = 0n;

  constructor() {
    const pids = new Set<number>();
    let buf = new Uint8Array(CHUNK + MAX_RECORD_SIZE);
    let at = 0;
    for (const ev of syntheticEvents({
      seed: 11,
      events: 100_000,
      maxLive: 55_000,
      pidMax: 4_000_000,
      mix: { fork: 70, exec: 20, exit: 4, creds: 3, rename: 3 },
      flushEvery: 0,
    })) {
      if (ev.type === 'fork') pids.add(ev.pid);
      else if (ev.type === 'exit') pids.delete(ev.pid);
      if (ev.time > this.time) this.time = ev.time;
      at += encodeEvent(ev, buf, at);
      if (at >= CHUNK) {
        this.fill.push(buf.subarray(0, at));
        buf = new Uint8Array(CHUNK + MAX_RECORD_SIZE);
        at = 0;
      }
    }
    if (at > 0) this.fill.push(buf.subarray(0, at));
    this.live = [...pids];
  }

  async *chunks(): AsyncIterable<RecordChunk> {
    let offset = 0;
    for (const bytes of this.fill) {
      yield { bytes, streamOffset: offset };
      offset += bytes.length;
    }
    const comms = Array.from({ length: 64 }, (_, i) => `storm-${i}`);
    let i = 0;
    const started = performance.now();
    while (!this.stopped) {
      const ahead = i / STORM_RATE - (performance.now() - started) / 1000;
      if (ahead > 0.001) await new Promise((r) => setTimeout(r, ahead * 1000));
      const buf = new Uint8Array(CHUNK + MAX_RECORD_SIZE);
      let at = 0;
      while (at < CHUNK) {
        this.time += 1000n;
        at += encodeEvent({ type: 'rename', time: this.time, cpu: i & 1, pid: this.live[i % this.live.length]!, pidns: 0, comm: comms[i & 63]! }, buf, at);
        i++;
      }
      this.stormRecords = i;
      yield { bytes: buf.subarray(0, at), streamOffset: offset };
      offset += at;
    }
  }
}

/**
 * A client in another process (as `forkline dump` is: its reading must not
 * load the thread measured here) asks for a dump and reads it as it
 * streams, counting bytes and live entries (or DOT nodes), never parsing it.
 */
const CLIENT = `
const [path, format] = process.argv.slice(1);
const needle = format === 'json' ? '"live":true' : ' [label=';
process.stdout.write('ready\\n');
process.stdin.once('data', () => {
const started = performance.now();
const s = require('node:net').connect(path);
let bytes = 0, live = 0, head = '', carry = '';
s.on('connect', () => s.write(JSON.stringify({ op: 'dump', format }) + '\\n'));
s.on('data', (d) => {
  bytes += d.length;
  const text = carry + d.toString('latin1');
  if (head.length < 64) head = (head + text).slice(0, 64);
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) live++;
  carry = text.slice(-(needle.length - 1));
  if (d[d.length - 1] === 10) {
    process.stdout.write(JSON.stringify({ bytes, live, head, ms: performance.now() - started }));
    process.exit(0);
  }
});
s.on('close', () => { console.error('the dump ended after ' + bytes + ' bytes without its newline'); process.exit(1); });
});
`;

/** A dump client, started (spawning from a process this big takes a while: not while measuring); go() asks and reads. */
async function dumpClient(path: string, format: 'json' | 'dot') {
  const child = spawn(process.execPath, ['-e', CLIENT, path, format], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('error', reject);
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ bytes: number; live: number; head: string; ms: number }>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`dump client exited ${code}: ${err}`)))),
  );
  return {
    go() {
      child.stdin.write('go\n');
      return done;
    },
  };
}

/** A LoopStall that has started sampling (its first tick only sets a start time). */
async function startedStall(): Promise<LoopStall> {
  const stall = new LoopStall();
  await new Promise((r) => setTimeout(r, 50));
  return stall;
}

const dir = mkdtempSync(join(tmpdir(), 'forkline-stall-'));
let source: FillThenStorm;
let pipeline: Pipeline;
let sampler: StatsSampler;
let server: QueryServer;

beforeAll(async () => {
  source = new FillThenStorm();
  pipeline = createPipeline({ shards: 2, capacity: 131072, source, exitedRetention: 3600_000_000_000n });
  pipeline.start();
  sampler = new StatsSampler({ source: 'storm', pipeline });
  const deadline = performance.now() + 120_000;
  const cached = () => pipeline.stats().shards.reduce((n, s) => n + s.cacheSize, 0);
  while (cached() < LIVE + 5000 || source.stormRecords === 0) {
    if (performance.now() > deadline) throw new Error(`the cache holds ${cached()} processes after 120 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  server = await startQueryServer({ path: join(dir, 'forkline.sock') }, { handles: pipeline.handles, stats: () => sampler.stats() });
}, 180_000);

afterAll(async () => {
  source.stopped = true;
  sampler?.stop();
  await server?.close();
  await pipeline?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('query socket: dumps during a storm', () => {
  it(`dumps of >= ${LIVE} processes stream from reader threads: nothing dropped, router stall under ${STALL_BOUND_MS} ms`, async () => {
    const calm = await startedStall();
    await new Promise((r) => setTimeout(r, 5000));
    const baseline = { max: calm.maxOver(Infinity), p99: calm.p99() };
    calm.stop();
    const clients = [await dumpClient(server.path, 'json'), await dumpClient(server.path, 'dot')];
    const before = { storm: source.stormRecords, routed: pipeline.stats().router.routed };
    const stall = await startedStall();
    try {
      // both at once, one per reader thread
      const [a, dot] = await Promise.all(clients.map((c) => c.go()));
      await new Promise((r) => setTimeout(r, 50)); // the monitor's last tick
      const max = stall.maxOver(Infinity);
      const after = { storm: source.stormRecords, routed: pipeline.stats().router.routed };
      const drops = pipeline.drops();
      const st = ((await query(server.path, { op: 'stats' })) as unknown as { stats: AgentStats }).stats;
      console.log(
        `dumps during a storm: json ${a.live} live / ${(a.bytes / 1e6).toFixed(1)} MB in ${a.ms.toFixed(0)} ms, ` +
          `dot ${dot.live} nodes in ${dot.ms.toFixed(0)} ms; ${after.routed - before.routed} records routed meanwhile ` +
          `(${after.storm - before.storm} storm renames); router stall max ${max} ms, p99 ${stall.p99()} ms ` +
          `(the storm alone for 5 s before: max ${baseline.max} ms, p99 ${baseline.p99} ms); ` +
          `stats routerStallMs ${JSON.stringify(st.routerStallMs)}; drops ${drops.total}`,
      );
      expect(a.head).toMatch(/^\{"ok":true,"format":"json","raw":false,"dump":\{"entries":\[/);
      expect(a.live).toBeGreaterThanOrEqual(LIVE);
      expect(dot.head).toMatch(/^\{"ok":true,"format":"dot","raw":false,"dump":"digraph forkline \{/);
      expect(dot.live).toBeGreaterThanOrEqual(LIVE);
      // records kept being applied while the dumps ran
      expect(after.storm - before.storm).toBeGreaterThan(STORM_RATE / 2);
      expect(drops.total).toBe(0);
      expect(max).toBeLessThan(STALL_BOUND_MS);
      // the figure is exposed in `stats` (forkline status)
      expect(st.routerStallMs.max).toEqual(expect.any(Number));
      expect(st.routerStallMs.p99).toEqual(expect.any(Number));
    } finally {
      stall.stop();
    }
  }, 300_000);

  it('the same measure finds the stall of a dump made on the main thread (what the socket did before)', async () => {
    const stall = await startedStall();
    try {
      const view = pipeline.reader();
      const started = performance.now();
      const bytes = view.toJSON().length;
      const ms = performance.now() - started;
      await new Promise((r) => setTimeout(r, 50));
      const max = stall.maxOver(Infinity);
      console.log(`a dump on the main thread: ${(bytes / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms; router stall max ${max} ms`);
      expect(max).toBeGreaterThan(STALL_BOUND_MS);
      expect(max).toBeGreaterThan(ms * 0.8);
    } finally {
      stall.stop();
    }
  }, 300_000);
});
