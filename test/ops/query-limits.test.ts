// The query socket's bounds on clients that hold on (issue 14, item 2):
// idle connections are closed, one user cannot take every connection, the
// reader threads' queue is bounded (`busy`), a client that does not read
// its answer is cut off; and the query commands exit 3, not 1 ("no
// agent"), when the agent is busy.

import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT, status, tree } from '../../src/cli/query-commands.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';
import { AgentBusyError, query } from '../../src/ops/query-client.js';
import { startQueryServer, type QueryAgent, type QueryServer, type QueryServerOptions } from '../../src/ops/query-server.js';
import { StatsSampler } from '../../src/ops/query-stats.js';

const dir = mkdtempSync(join(tmpdir(), 'forkline-qlimits-'));
let pipeline: Pipeline;
let agent: QueryAgent;
let sampler: StatsSampler;

beforeAll(async () => {
  pipeline = createPipeline({
    shards: 2,
    capacity: 16384,
    source: new SyntheticSource({ seed: 9, events: 20_000, pidMax: 3000 }),
    exitedRetention: 3600_000_000_000n,
  });
  pipeline.start();
  await pipeline.done();
  sampler = new StatsSampler({ source: 'synthetic', pipeline });
  agent = { handles: pipeline.handles, stats: () => sampler.stats() };
});

afterAll(() => {
  sampler.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function serve(o: Partial<QueryServerOptions> = {}): Promise<QueryServer> {
  return startQueryServer({ path: join(dir, `s${n++}`, 'forkline.sock'), ...o }, agent);
}

/** A connection that reads its lines; `closed` resolves when the agent closes it. */
function client(path: string) {
  const socket = connect(path);
  const lines: string[] = [];
  let buf = '';
  socket.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  socket.on('error', () => {});
  const closed = new Promise<number>((r) => socket.on('close', () => r(performance.now())));
  const connected = new Promise<void>((r) => socket.on('connect', () => r()));
  return { socket, lines, closed, connected };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('query socket: clients that hold on', () => {
  it('closes a connection idle for idleTimeoutMs with idle_timeout; a line sent a byte at a time is idle too; a client that asks stays', async () => {
    const s = await serve({ idleTimeoutMs: 300 });
    try {
      const idle = client(s.path);
      const dribble = client(s.path);
      const busy = client(s.path);
      await Promise.all([idle.connected, dribble.connected, busy.connected]);
      const opened = performance.now();
      const timer = setInterval(() => {
        dribble.socket.write('{'); // never a whole line
        busy.socket.write('{"op":"stats"}\n');
      }, 60);
      try {
        const closedAt = await idle.closed;
        expect(closedAt - opened).toBeGreaterThanOrEqual(250);
        expect(closedAt - opened).toBeLessThan(3000);
        expect(JSON.parse(idle.lines[0]!)).toEqual({ ok: false, error: { code: 'idle_timeout', message: 'no request for 300 ms: connection closed' } });
        await dribble.closed;
        expect(JSON.parse(dribble.lines[0]!).error.code).toBe('idle_timeout');
        await sleep(400);
        expect(busy.socket.destroyed).toBe(false);
        expect(busy.lines.length).toBeGreaterThan(5);
        expect(busy.lines.every((l) => JSON.parse(l).ok === true)).toBe(true);
      } finally {
        clearInterval(timer);
        busy.socket.destroy();
      }
    } finally {
      await s.close();
    }
  });

  it('16 idle clients no longer lock others out: at most maxConnectionsPerUid per user, and the idle ones are closed', async () => {
    const s = await serve({ idleTimeoutMs: 500 });
    const idle = Array.from({ length: 16 }, () => client(s.path));
    try {
      await Promise.all(idle.map((c) => c.connected));
      await sleep(50);
      // the 9th to 16th of the same user were refused at once
      const refused = idle.filter((c) => c.lines.length > 0).map((c) => JSON.parse(c.lines[0]!));
      expect(refused).toHaveLength(8);
      expect(refused[0]).toEqual({ ok: false, error: { code: 'too_many_connections', message: `at most 8 connections at once per user (uid ${process.getuid!()})` } });
      // the same user is refused until the idle ones are closed, about idleTimeoutMs later
      const started = performance.now();
      let answered = false;
      while (!answered && performance.now() - started < 5000) {
        const r = await query(s.path, { op: 'stats' });
        answered = r.ok;
        if (!answered) {
          expect(r).toMatchObject({ ok: false, error: { code: 'too_many_connections' } });
          await sleep(50);
        }
      }
      expect(answered).toBe(true);
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      for (const c of idle) c.socket.destroy();
      await s.close();
    }
  });

  it('the per-user limit leaves room for another user', async () => {
    const gid = process.getgid!();
    const uids = [1001, 1001, 1001, 1002];
    let next = 0;
    const s = await serve({ group: String(gid), maxConnectionsPerUid: 2, peerReader: () => ({ pid: process.pid, uid: uids[next++]!, gid }) });
    const held: ReturnType<typeof client>[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = client(s.path);
        await c.connected;
        c.socket.write('{"op":"stats"}\n');
        while (c.lines.length === 0) await sleep(10);
        held.push(c);
      }
      expect(await query(s.path, { op: 'stats' })).toEqual({
        ok: false,
        error: { code: 'too_many_connections', message: 'at most 2 connections at once per user (uid 1001)' },
      });
      expect(await query(s.path, { op: 'stats' })).toMatchObject({ ok: true }); // uid 1002
    } finally {
      for (const c of held) c.socket.destroy();
      await s.close();
    }
  });

  it('requests beyond the reader threads and their queue are answered busy; the others are answered', async () => {
    const s = await serve({ readerThreads: 1, queueLength: 1 });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => query(s.path, { op: 'dump', format: 'json' })));
      const codes = answers.map((r) => (r.ok ? 'ok' : r.error.code));
      expect(codes.filter((c) => c === 'busy').length).toBeGreaterThan(0);
      expect(codes.filter((c) => c === 'ok').length).toBeGreaterThanOrEqual(2);
      expect(codes.every((c) => c === 'ok' || c === 'busy')).toBe(true);
      const busy = answers.find((r) => !r.ok)!;
      expect(busy).toEqual({ ok: false, error: { code: 'busy', message: 'every query thread is taken and their queue is full' } });
    } finally {
      await s.close();
    }
  });

  it('a client that does not read the dump it asked for is cut off after the idle timeout; the agent answers others meanwhile', async () => {
    const s = await serve({ idleTimeoutMs: 300 });
    try {
      const stuck = client(s.path);
      await stuck.connected;
      stuck.socket.write('{"op":"dump","format":"json","raw":false}\n');
      stuck.socket.pause(); // never reads: the answer (megabytes) fills the socket
      const asked = performance.now();
      expect(await query(s.path, { op: 'resolve', pid: 1 }).then((r) => r.ok || r.error.code)).not.toBe('busy');
      // (a paused client would not see the close: the agent's count of connections does)
      while (s.connections > 0 && performance.now() - asked < 5000) await sleep(20);
      expect(s.connections).toBe(0);
      expect(performance.now() - asked).toBeGreaterThanOrEqual(250);
      stuck.socket.resume();
      await stuck.closed;
      expect(stuck.lines).toHaveLength(0); // cut in the middle of its answer
      // the reader thread was let go: the next dump is answered
      expect((await query(s.path, { op: 'dump', format: 'dot' })).ok).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('query commands: exit codes', () => {
  /** A fake agent answering every connection with `line` (or never, when undefined). */
  async function fakeAgent(line: string | undefined): Promise<{ path: string; close(): Promise<void> }> {
    const path = join(dir, `fake${n++}.sock`);
    const sockets = new Set<Socket>();
    const server = createServer((c) => {
      sockets.add(c);
      c.on('error', () => {});
      if (line !== undefined) c.end(line + '\n');
    });
    await new Promise<void>((r) => server.listen(path, r));
    return {
      path,
      close: () =>
        new Promise<void>((r) => {
          for (const c of sockets) c.destroy();
          server.close(() => r());
        }),
    };
  }

  async function run(fn: () => Promise<number>): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      stderr += String(s);
      return true;
    });
    try {
      return { code: await fn(), stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('exit 3 and "busy" when the agent refuses for too many connections or a full queue; 1 for no agent and other refusals', async () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, dropping: 2, busy: 3 });
    for (const code of ['too_many_connections', 'busy']) {
      const a = await fakeAgent(JSON.stringify({ ok: false, error: { code, message: 'at most 16 connections at once' } }));
      try {
        const r = await run(() => status({ socket: a.path }));
        expect(r.code).toBe(3);
        expect(r.stderr).toBe(`forkline status: the forkline agent on ${a.path} is busy (at most 16 connections at once) [${code}]: try again\n`);
        expect((await run(() => tree(undefined, { socket: a.path }))).code).toBe(3);
      } finally {
        await a.close();
      }
    }
    const forbidden = await fakeAgent(JSON.stringify({ ok: false, error: { code: 'forbidden', message: 'not allowed' } }));
    try {
      expect((await run(() => status({ socket: forbidden.path }))).code).toBe(1);
    } finally {
      await forbidden.close();
    }
    const none = await run(() => status({ socket: join(dir, 'nowhere.sock') }));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no forkline agent is running/);
  });

  it('an agent that accepts and does not answer in time is busy (AgentBusyError), not down', async () => {
    const a = await fakeAgent(undefined);
    try {
      await expect(query(a.path, { op: 'stats' }, { timeoutMs: 200 })).rejects.toBeInstanceOf(AgentBusyError);
      await expect(query(a.path, { op: 'stats' }, { timeoutMs: 200 })).rejects.toThrow(`the forkline agent on ${a.path} is busy (no answer within 200 ms): try again`);
    } finally {
      await a.close();
    }
  });
});
