// The query socket (docs/operations.md, "Query socket") over a pipeline fed
// by a synthetic stream: the protocol's answers, its bounds, malformed and
// oversized requests, a fuzzer, stale and live sockets. The ownership and
// peer-credential tests need root (a child process runs as uid 65534).

import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheCore } from '../../src/cache/core.js';
import type { ProcessView } from '../../src/cache/view.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';
import { query } from '../../src/ops/query-client.js';
import { parseRequest, type AgentStats, type TreeNode, type WireEntry } from '../../src/ops/query-protocol.js';
import { QueryServerError, startQueryServer, type QueryAgent, type QueryServer, type QueryServerOptions } from '../../src/ops/query-server.js';
import { StatsSampler } from '../../src/ops/query-stats.js';
import { liveTitle } from '../live/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'forkline-query-'));
let pipeline: Pipeline;
let agent: QueryAgent;
/** A reader of the same tables in this thread: what the answers must agree with. */
let view: ProcessView;
let sampler: StatsSampler;

beforeAll(async () => {
  pipeline = createPipeline({
    shards: 2,
    capacity: 16384,
    source: new SyntheticSource({ seed: 7, events: 20_000, pidMax: 3000, lostRate: 0.002 }),
    exitedRetention: 3600_000_000_000n,
  });
  pipeline.start();
  await pipeline.done();
  sampler = new StatsSampler({ source: 'synthetic', pipeline });
  agent = { handles: pipeline.handles, stats: () => sampler.stats() };
  view = pipeline.reader();
});

afterAll(() => {
  sampler.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
async function serve(o: Partial<QueryServerOptions> = {}): Promise<QueryServer> {
  return startQueryServer({ path: join(dir, `s${n++}`, 'forkline.sock'), ...o }, agent);
}

/** A raw connection: send bytes, read response lines. */
function rawClient(path: string) {
  const socket = connect(path);
  let buf = '';
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  socket.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    waiter?.();
  });
  socket.on('close', () => {
    closed = true;
    waiter?.();
  });
  socket.on('error', () => {});
  return {
    socket,
    send(s: string | Buffer) {
      socket.write(s);
    },
    /** Waits for the next response line (undefined when the connection closes first). */
    async next(timeoutMs = 5000): Promise<Record<string, any> | undefined> {
      const deadline = Date.now() + timeoutMs;
      while (lines.length === 0 && !closed) {
        if (Date.now() > deadline) throw new Error('no response line');
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 50);
        });
      }
      const l = lines.shift();
      return l === undefined ? undefined : JSON.parse(l);
    },
    get closed() {
      return closed;
    },
    close() {
      socket.destroy();
    },
  };
}

function somePid(predicate: (depth: number) => boolean = () => true): number {
  for (const e of view.liveEntries()) {
    let d = 0;
    for (let a = e.ancestor; a; a = a.ancestor) if (a.pid !== e.pid) d++;
    if (e.exitTime === 0n && predicate(d)) return e.pid;
  }
  throw new Error('no such pid in the synthetic cache');
}

describe('query socket: the protocol', () => {
  it('resolve answers the entry and its ancestor chain, argv scrubbed unless raw from root', async () => {
    const s = await serve();
    try {
      const pid = somePid((d) => d >= 2);
      const res = await query(s.path, { op: 'resolve', pid });
      expect(res.ok).toBe(true);
      const chain = (res as unknown as { chain: WireEntry[] }).chain;
      const expected = view.ancestors(pid);
      expect(chain.map((e) => [e.pid, e.path, e.forkTime])).toEqual(expected.map((e) => [e.pid, e.path, String(e.forkTime)]));
      expect(chain[0]).toMatchObject({ pid, exited: false, exitCode: null, source: 'event' });
      expect(Object.keys(chain[0]!)).toEqual(
        expect.arrayContaining(['pid', 'ppid', 'path', 'argv', 'uid', 'gid', 'euid', 'containerId', 'exited', 'exitCode', 'source', 'forkTime', 'execTime', 'exitTime']),
      );
      // raw is honoured for root and for the agent's own user alike here: the test's own uid is allowed; raw needs root
      const raw = await query(s.path, { op: 'resolve', pid, raw: true });
      expect((raw as unknown as { raw: boolean }).raw).toBe(process.getuid?.() === 0);
      expect(await query(s.path, { op: 'resolve', pid: 4_000_000 })).toEqual({ ok: false, error: { code: 'not_found', message: 'no process 4000000 in the cache' } });
    } finally {
      await s.close();
    }
  });

  it('scrubs secrets from argv in resolve, tree and dump', async () => {
    // the synthetic mix has no secrets: a table of one process that has one
    const core = new CacheCore({});
    core.addFork({ pid: 10, ppid: 1, time: 1n }, 0);
    core.addExec({ pid: 10, time: 2n, path: '/usr/bin/curl', inode: 1, argv: ['curl', '--password', 'hunter2'] }, 0);
    const entry = { pid: 10 };
    const fake: QueryAgent = { handles: core.table.handles, stats: agent.stats };
    const s = await startQueryServer({ path: join(dir, 'scrub', 'f.sock') }, fake);
    try {
      const r = (await query(s.path, { op: 'resolve', pid: entry.pid })) as unknown as { chain: WireEntry[] };
      expect(r.chain[0]!.argv).toEqual(['curl', '--password', '********']);
      const t = (await query(s.path, { op: 'tree' })) as unknown as { nodes: TreeNode[] };
      expect(t.nodes[0]!.argv).toEqual(['curl', '--password', '********']);
      const d = (await query(s.path, { op: 'dump', format: 'json' })) as unknown as { dump: { entries: { argv: string[] }[] } };
      expect(d.dump.entries.at(-1)!.argv).toEqual(['curl', '--password', '********']);
      const dot = (await query(s.path, { op: 'dump', format: 'dot' })) as unknown as { dump: string };
      expect(dot.dump).toContain('curl --password ********');
      expect(dot.dump).not.toContain('hunter2');
    } finally {
      await s.close();
    }
  });

  it('tree lists every live process once, children under their parent, exited ancestors marked', async () => {
    const s = await serve();
    try {
      const res = (await query(s.path, { op: 'tree' })) as unknown as { ok: true; nodes: TreeNode[] };
      expect(res.ok).toBe(true);
      const live = view.liveEntries();
      const liveNodes = res.nodes.filter((x) => !x.exited || live.some((e) => e.pid === x.pid && String(e.forkTime) === x.forkTime));
      expect(new Set(liveNodes.map((x) => `${x.pid}:${x.forkTime}`)).size).toBe(live.length);
      res.nodes.forEach((node) => {
        if (node.parent === null) return expect(node.depth).toBe(0);
        const p = res.nodes[node.parent]!;
        expect(node.depth).toBe(p.depth + 1);
        expect(node.ppid).toBe(p.pid);
      });
      // a node only reached as an ancestor is exited
      const ancestorsOnly = res.nodes.filter((x) => !live.some((e) => e.pid === x.pid && String(e.forkTime) === x.forkTime));
      expect(ancestorsOnly.every((x) => x.exited && x.exitCode === null)).toBe(true);
      // a subtree
      const pid = somePid((d) => d >= 1);
      const sub = (await query(s.path, { op: 'tree', pid })) as unknown as { nodes: TreeNode[] };
      expect(sub.nodes[0]).toMatchObject({ pid, depth: 0, parent: null });
      expect((await query(s.path, { op: 'tree', pid: 4_000_000 })).ok).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('stats gives source, uptime, events/s, drops, cache size and shard lag', async () => {
    const s = await serve();
    try {
      const res = (await query(s.path, { op: 'stats' })) as unknown as { ok: true; stats: AgentStats };
      const st = res.stats;
      const summaryStats = pipeline.stats();
      expect(st.source).toBe('synthetic');
      expect(st.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(st.eventsPerSecond).toMatchObject({ fork: expect.any(Number), exec: expect.any(Number), exit: expect.any(Number), total: expect.any(Number) });
      expect(st.cacheSize).toBe(summaryStats.shards.reduce((a, x) => a + x.cacheSize, 0));
      expect(st.shardLag).toEqual([0, 0]);
      expect(st.drops.lostEvents).toBe(summaryStats.router.lost);
      expect(st.drops.lostEvents).toBeGreaterThan(0);
      expect(st.dropping).toBe(true); // the drops happened less than a minute ago
      expect(st.connections).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('dump gives the cache as JSON (one line) or DOT, the same as the view\'s own toJSON and toDot', async () => {
    const s = await serve();
    try {
      const j = (await query(s.path, { op: 'dump', format: 'json' })) as unknown as { dump: { entries: unknown[] } };
      expect(j.dump).toEqual(JSON.parse(view.toJSON(false)));
      const d = (await query(s.path, { op: 'dump', format: 'dot' })) as unknown as { dump: string };
      expect(d.dump).toMatch(/^digraph/);
      // streamed from a reader thread a piece at a time, it is the text of the view's own export
      expect(d.dump).toBe(view.toDot(true));
      const raw = (await query(s.path, { op: 'dump', format: 'json', raw: true })) as unknown as { raw: boolean; dump: unknown };
      expect(raw.dump).toEqual(JSON.parse(view.toJSON(raw.raw)));
    } finally {
      await s.close();
    }
  });

  it('a client that sends its requests and shuts down its side (printf … | socat) gets every answer, in order, then the end', async () => {
    const s = await serve();
    try {
      const pid = somePid();
      const text = await new Promise<string>((resolve, reject) => {
        const c = connect(s.path);
        let got = '';
        c.on('data', (d: Buffer) => (got += d.toString()));
        c.on('close', () => resolve(got));
        c.on('error', reject);
        c.end(`{"op":"tree"}\n{"op":"resolve","pid":${pid}}\n{"op":"stats"}\n{"op":"dump","format":"dot"}\n`);
      });
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => [l.ok, Object.keys(l)[1]])).toEqual([
        [true, 'pid'],
        [true, 'pid'],
        [true, 'stats'],
        [true, 'format'],
      ]);
      expect(lines[1]!.pid).toBe(pid);
      expect(Array.isArray(lines[0]!.nodes)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('parseRequest names what is wrong with a request', () => {
    const err = (line: string) => {
      try {
        parseRequest(line);
      } catch (e) {
        return { code: (e as { code: string }).code, message: (e as Error).message };
      }
      return undefined;
    };
    expect(err('{')?.code).toBe('bad_json');
    expect(err('[]')?.code).toBe('bad_request');
    expect(err('{"op":"resolve"}')).toEqual({ code: 'bad_request', message: '"pid" must be an integer in 1..4194304' });
    expect(err('{"op":"resolve","pid":"1"}')?.code).toBe('bad_request');
    expect(err('{"op":"resolve","pid":1.5}')?.code).toBe('bad_request');
    expect(err('{"op":"resolve","pid":1,"raw":1}')).toEqual({ code: 'bad_request', message: '"raw" must be true or false' });
    expect(err('{"op":"stats","x":1}')).toEqual({ code: 'bad_request', message: 'op "stats" takes no field "x"' });
    expect(err('{"op":"dump","format":"xml"}')?.code).toBe('bad_request');
    expect(err('{"op":"kill"}')?.code).toBe('unknown_op');
    expect(parseRequest('{"op":"tree"}')).toEqual({ op: 'tree', pid: undefined });
  });
});

describe('query socket: bounds and bad input', () => {
  it('answers malformed JSON, unknown ops and wrong types with errors on the same connection', async () => {
    const s = await serve();
    const c = rawClient(s.path);
    try {
      c.send('not json\n{"op":"nope"}\n{"op":"resolve","pid":-1}\n\n{"op":"stats"}\n');
      expect((await c.next())!.error.code).toBe('bad_json');
      expect((await c.next())!.error.code).toBe('unknown_op');
      expect((await c.next())!.error.code).toBe('bad_request');
      expect((await c.next())!.ok).toBe(true); // the blank line was ignored
      // a request split across writes
      c.send('{"op":');
      await new Promise((r) => setTimeout(r, 20));
      c.send('"stats"}\n');
      expect((await c.next())!.ok).toBe(true);
    } finally {
      c.close();
      await s.close();
    }
  });

  it('a request line longer than maxRequestBytes gets request_too_large and the connection is closed', async () => {
    const s = await serve({ maxRequestBytes: 1024 });
    const c = rawClient(s.path);
    try {
      c.send('{"op":"stats","pad":"' + 'x'.repeat(600));
      c.send('x'.repeat(600)); // no newline yet: it is the length that counts
      expect((await c.next())!.error).toMatchObject({ code: 'request_too_large', message: 'a request line is at most 1024 bytes' });
      expect(await c.next()).toBeUndefined();
      expect(c.closed).toBe(true);
      // the default bound is 64 KiB, and the server still answers others
      expect((await query(s.path, { op: 'stats' })).ok).toBe(true);
    } finally {
      c.close();
      await s.close();
    }
    const big = await serve();
    try {
      const c2 = rawClient(big.path);
      c2.send(`{"op":"resolve","pid":1,"x":"${'y'.repeat(65536)}"}\n`);
      expect((await c2.next())!.error.code).toBe('request_too_large');
      c2.close();
    } finally {
      await big.close();
    }
  });

  it('more than requestsPerSecond requests on a connection are answered rate_limited', async () => {
    const s = await serve({ requestsPerSecond: 5 });
    const c = rawClient(s.path);
    try {
      c.send('{"op":"stats"}\n'.repeat(8));
      const codes = [];
      for (let i = 0; i < 8; i++) codes.push((await c.next())!.error?.code ?? 'ok');
      expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rate_limited', 'rate_limited', 'rate_limited']);
      await new Promise((r) => setTimeout(r, 450)); // two tokens back
      c.send('{"op":"stats"}\n');
      expect((await c.next())!.ok).toBe(true);
      // another connection has its own bucket
      expect((await query(s.path, { op: 'stats' })).ok).toBe(true);
    } finally {
      c.close();
      await s.close();
    }
  });

  it('connections beyond maxConnections are refused with too_many_connections', async () => {
    const s = await serve({ maxConnections: 2 });
    const a = rawClient(s.path);
    const b = rawClient(s.path);
    try {
      a.send('{"op":"stats"}\n');
      b.send('{"op":"stats"}\n');
      await a.next();
      await b.next();
      const r = await query(s.path, { op: 'stats' });
      expect(r).toEqual({ ok: false, error: { code: 'too_many_connections', message: 'at most 2 connections at once' } });
      a.close();
      await new Promise((res) => setTimeout(res, 50));
      expect(await query(s.path, { op: 'stats' })).toMatchObject({ ok: true });
    } finally {
      a.close();
      b.close();
      await s.close();
    }
  });

  it('fails closed: a peer whose credentials cannot be read is refused', async () => {
    const s = await serve({
      peerReader: () => {
        throw new Error('no fd');
      },
      log: () => {},
    });
    try {
      expect(await query(s.path, { op: 'stats' })).toEqual({ ok: false, error: { code: 'forbidden', message: 'peer credentials cannot be read: no fd' } });
    } finally {
      await s.close();
    }
  });

  it('fuzz: random bytes and JSON-ish lines never take the server down, and a valid request is answered afterwards', async () => {
    const s = await serve({ requestsPerSecond: 1_000_000, maxRequestBytes: 4096 });
    try {
      const jsonish = fc.oneof(
        fc.json(),
        fc.record({ op: fc.constantFrom('resolve', 'tree', 'stats', 'dump', 'x'), pid: fc.anything(), raw: fc.anything(), format: fc.anything() }, { requiredKeys: ['op'] }).map((o) => {
          try {
            return JSON.stringify(o) ?? '';
          } catch {
            return '';
          }
        }),
        fc.string(),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), jsonish.map((l) => Buffer.from(l + '\n'))), { maxLength: 12 }), async (parts) => {
          const c = rawClient(s.path);
          for (const p of parts) c.send(p);
          c.send('\n');
          await new Promise((r) => setTimeout(r, 5));
          c.close();
          const r = await query(s.path, { op: 'stats' });
          expect(r.ok).toBe(true);
        }),
        { numRuns: 150 },
      );
      // and a connection that sent garbage still answers a valid request after it
      const c = rawClient(s.path);
      c.send(Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x0a]));
      expect((await c.next())!.ok).toBe(false);
      c.send('{"op":"resolve","pid":' + somePid() + '}\n');
      expect((await c.next())!.ok).toBe(true);
      c.close();
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('query socket: the socket file', () => {
  it('is created with its directory, and removed at close', async () => {
    const path = join(dir, 'made', 'sub', 'forkline.sock');
    const s = await startQueryServer({ path }, agent);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'made', 'sub')).mode & 0o777).toBe(0o755);
    await s.close();
    expect(() => statSync(path)).toThrow();
  });

  it('replaces a stale socket left by a dead agent, but never steals a live one', async () => {
    const path = join(dir, 'stale', 'forkline.sock');
    // a dead agent's socket: bound, then the server closed without unlinking
    const first = await startQueryServer({ path }, agent);
    // live: refused
    await expect(startQueryServer({ path }, agent)).rejects.toMatchObject({ code: 'ERR_SOCKET_IN_USE' });
    expect((await query(path, { op: 'stats' })).ok).toBe(true);
    await first.close();
    // dead: a socket file nobody listens on
    const dead = await stale(path);
    expect(dead).toBe(true);
    const second = await startQueryServer({ path }, agent);
    expect((await query(path, { op: 'stats' })).ok).toBe(true);
    await second.close();
    // not a socket: left alone
    writeFileSync(path, 'precious');
    await expect(startQueryServer({ path }, agent)).rejects.toBeInstanceOf(QueryServerError);
    rmSync(path);
  });
});

/** Leaves a socket file that nobody listens on: a process listening on it is killed with SIGKILL. */
async function stale(path: string): Promise<boolean> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((r) => child.stdout.once('data', () => r()));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return statSync(path).isSocket();
}

const rootSkip = process.getuid?.() === 0 ? undefined : `socket ownership and peer credentials need root; this test runs as uid ${process.getuid?.()}`;
const setprivSkip = rootSkip ?? (spawnSync('setpriv', ['--version']).status === 0 ? undefined : 'setpriv (util-linux) is not installed');

describe.skipIf(rootSkip !== undefined)(liveTitle('query socket as root: ownership and peer credentials', rootSkip), () => {
  it('the socket is owned by root, mode 0600; with a group 0660 and that group', async () => {
    const s = await serve();
    try {
      const st = statSync(s.path);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 0, 0o600]);
    } finally {
      await s.close();
    }
    const g = await serve({ group: 'nogroup' });
    try {
      const st = statSync(g.path);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 65534, 0o660]);
    } finally {
      await g.close();
    }
    await expect(serve({ group: 'no-such-group-here' })).rejects.toMatchObject({ code: 'ERR_SOCKET_GROUP' });
  });

  /** Runs a query from a child process as uid/gid 65534 (no supplementary groups unless given). */
  /** Async: the server runs in this process, a spawnSync would block it. */
  async function queryAs(path: string, request: object, ids: string[] = ['--regid', '65534', '--clear-groups']): Promise<{ stdout: string }> {
    const client = join(dir, 'client.mjs');
    writeFileSync(
      client,
      `import { connect } from 'node:net';
const s = connect(process.argv[2]);
s.on('connect', () => s.write(process.argv[3] + '\\n'));
let buf = '';
s.on('data', (d) => { buf += d; if (buf.includes('\\n')) { process.stdout.write(buf.split('\\n')[0]); s.destroy(); } });
s.on('error', (e) => { process.stdout.write(JSON.stringify({ transport: e.code })); });
s.on('end', () => {});
`,
    );
    chmodSync(client, 0o644);
    chmodSync(dir, 0o755);
    const args = ['--reuid', '65534', ...ids, process.execPath, client, path, JSON.stringify(request)];
    return promisify(execFile)('setpriv', args, { encoding: 'utf8', timeout: 20_000 });
  }

  it.skipIf(setprivSkip !== undefined)('refuses a peer that is not root nor in the group (uid 65534), and accepts one in the group', async () => {
    const logged: string[] = [];
    const s = await serve({ log: (l) => logged.push(l) });
    const g = await serve({ group: 'nogroup', log: (l) => logged.push(l) });
    try {
      // relax the file mode (this test only) so that the kernel lets the peer connect: the check refused it
      chmodSync(s.path, 0o666);
      chmodSync(join(s.path, '..'), 0o755);
      const refused = await queryAs(s.path, { op: 'stats' });
      expect(JSON.parse(refused.stdout)).toEqual({
        ok: false,
        error: { code: 'forbidden', message: expect.stringMatching(/^not allowed: uid 65534 \(pid \d+\) is not root; the query socket is for root$/) },
      });
      expect(logged.join('\n')).toMatch(/refused a connection: uid 65534/);
      // in the group (primary gid 65534): allowed, but raw argv is for root only
      const pid = somePid();
      chownSync(join(g.path, '..'), 0, 65534);
      const ok = JSON.parse((await queryAs(g.path, { op: 'resolve', pid, raw: true })).stdout);
      expect(ok).toMatchObject({ ok: true, pid, raw: false });
      // in the group through a supplementary group only
      chmodSync(g.path, 0o666);
      const supp = await queryAs(g.path, { op: 'stats' }, ['--regid', '65533', '--groups', '65534']);
      expect(JSON.parse(supp.stdout).ok).toBe(true);
    } finally {
      await s.close();
      await g.close();
    }
  });
});
