// `forkline tree`, `resolve`, `dump` and `status` against a running agent
// started here: `forkline run --replay` (no root needed), and the live BPF
// agent when root is available.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSkipReason, liveTitle } from '../live/harness.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');
const dir = mkdtempSync(join(tmpdir(), 'forkline-qcli-'));

/** Runs a command to its end (async: the agent may be this process's child). */
function forkline(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Agent {
  proc: ChildProcess;
  socket: string;
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `forkline run …` and waits until it says it serves queries (or exits). */
async function startAgent(socket: string, args: string[], ready: RegExp): Promise<Agent> {
  const proc = spawn(process.execPath, [BIN, 'run', '--socket', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent not ready in 30 s: ${err}`)), 30_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  proc.stdout!.resume();
  return {
    proc,
    socket,
    stderr: () => err,
    exited,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

const DOWN = /no forkline agent is running \(socket .*\): start it with forkline run/;

describe('query commands against forkline run --replay', () => {
  const recording = join(dir, 'synth.fkl');
  const lossy = join(dir, 'lossy.fkl');
  const socket = join(dir, 'run', 'forkline.sock');
  let agent: Agent;

  beforeAll(async () => {
    expect(spawnSync(process.execPath, [BIN, 'synth', '--events', '20000', '--seed', '5', '--out', recording]).status).toBe(0);
    expect(spawnSync(process.execPath, [BIN, 'synth', '--events', '5000', '--seed', '6', '--lost-rate', '0.01', '--out', lossy]).status).toBe(0);
    agent = await startAgent(socket, ['--replay', recording, '--shards', '2'], /serving queries/);
  });

  afterAll(async () => {
    await agent?.stop();
  });

  it('status: source, uptime, events/s, drops, cache size; exit 0 when not dropping', async () => {
    const r = await forkline('status', '--socket', socket);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^agent {6}pid \d+, source replay, up /m);
    expect(r.stdout).toMatch(/^events\/s {3}\d+ \(fork \d+, exec \d+, exit \d+\); \d+ events in all$/m);
    expect(r.stdout).toMatch(/^drops {6}0 \(/m);
    expect(r.stdout).toMatch(/^cache {6}\d+ processes, \d+ rows, 2 shards, lag 0\/0$/m);
    const j = await forkline('status', '--socket', socket, '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({ source: 'replay', shards: 2, dropping: false });
  });

  it('tree: pstree-like lines, exited ancestors marked, no colours off a terminal; tree PID is the subtree', async () => {
    const r = await forkline('tree', '--socket', socket);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(100);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    expect(lines[0]).toMatch(/^\d+ \S/);
    expect(r.stdout).toMatch(/^(│ {2}| {3})*[├└]─ \d+ /m);
    expect(r.stdout).toMatch(/ \[exited( \d+)?\]$/m);
    const j = JSON.parse((await forkline('tree', '--socket', socket, '--json')).stdout) as { nodes: { pid: number; depth: number; exited: boolean }[] };
    const inner = j.nodes.find((x) => x.depth === 2 && !x.exited)!;
    const sub = await forkline('tree', String(inner.pid), '--socket', socket);
    expect(sub.status).toBe(0);
    expect(sub.stdout.split('\n')[0]).toMatch(new RegExp(`^${inner.pid} `));
  });

  it('resolve: one line per ancestor with pid, path, argv, uid and container', async () => {
    const j = JSON.parse((await forkline('tree', '--socket', socket, '--json')).stdout) as { nodes: { pid: number; depth: number; exited: boolean }[] };
    const deep = j.nodes.find((x) => x.depth >= 3 && !x.exited)!;
    const r = await forkline('resolve', String(deep.pid), '--socket', socket);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines[0]).toMatch(new RegExp(`^ *${deep.pid} {2}/\\S* {2}.+ {2}uid=\\d+(\\(.*\\))? {2}container=\\S+`));
    const json = JSON.parse((await forkline('resolve', String(deep.pid), '--socket', socket, '--json')).stdout);
    expect(json.chain).toHaveLength(lines.length);
    const missing = await forkline('resolve', '4000000', '--socket', socket);
    expect([missing.status, missing.stderr]).toEqual([1, 'forkline resolve: no process 4000000 in the cache [not_found]\n']);
    const bad = await forkline('resolve', 'abc', '--socket', socket);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/a pid is an integer/);
  });

  it('dump --json --out FILE writes the cache (mode 0600); dump --dot prints Graphviz', async () => {
    const out = join(dir, 'dump.json');
    const r = await forkline('dump', '--json', '--out', out, '--socket', socket);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const d = JSON.parse(readFileSync(out, 'utf8')) as { entries: { pid: number; live: boolean }[] };
    expect(d.entries.filter((e) => e.live).length).toBeGreaterThan(100);
    const dot = await forkline('dump', '--dot', '--socket', socket);
    expect(dot.stdout).toMatch(/^digraph forkline \{/);
    const both = await forkline('dump', '--json', '--dot', '--socket', socket);
    expect(both.status).toBe(2);
  });

  it('every command says when no agent is running, and exits non-zero', async () => {
    const missing = join(dir, 'nowhere', 'forkline.sock');
    for (const args of [['status'], ['tree'], ['resolve', '1'], ['dump', '--json']]) {
      const r = await forkline(...args, '--socket', missing);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(DOWN);
      expect(r.stderr).toContain(missing);
    }
    // FORKLINE_SOCKET_PATH is the default of --socket
    const env = spawnSync(process.execPath, [BIN, 'status'], { encoding: 'utf8', env: { ...process.env, FORKLINE_SOCKET_PATH: missing } });
    expect(env.status).toBe(1);
    expect(env.stderr).toContain(missing);
  });

  it('a second agent does not steal a live socket; a dead agent\'s socket is replaced; SIGTERM removes it', async () => {
    const second = await startAgent(socket, ['--replay', recording, '--shards', '1'], /serving queries/);
    expect(await second.exited).toBe(2);
    expect(second.stderr()).toMatch(/another forkline agent is listening on .*forkline\.sock/);
    expect((await forkline('status', '--socket', socket)).status).toBe(0);

    const deadSocket = join(dir, 'dead', 'forkline.sock');
    const killed = await startAgent(deadSocket, ['--replay', recording, '--shards', '1'], /serving queries/);
    killed.proc.kill('SIGKILL');
    await killed.exited;
    expect(statSync(deadSocket).isSocket()).toBe(true);
    const refused = await forkline('status', '--socket', deadSocket);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(DOWN); // ECONNREFUSED on a stale socket is "not running" too
    const next = await startAgent(deadSocket, ['--replay', lossy, '--shards', '1'], /serving queries/);
    // this one replayed a stream with lost events: status says it is dropping
    const st = await forkline('status', '--socket', deadSocket);
    expect(st.status).toBe(2);
    expect(st.stderr).toMatch(/the agent dropped \d+ events during the last minute/);
    expect(await next.stop()).toBe(0);
    expect(existsSync(deadSocket)).toBe(false);
  });
});

const liveSkip = liveSkipReason('bpf');
describe.skipIf(liveSkip !== undefined)(liveTitle('query commands against the live BPF agent', liveSkip), () => {
  it('resolve shows a process started after the agent, under this test process', async () => {
    const socket = join(dir, 'live', 'forkline.sock');
    const agent = await startAgent(socket, ['--shards', '2'], /query socket /);
    try {
      const child = spawn('/bin/sleep', ['7'], { stdio: 'ignore' });
      let r = { status: null as number | null, stdout: '', stderr: '' };
      for (let i = 0; i < 50; i++) {
        r = await forkline('resolve', String(child.pid), '--socket', socket, '--json');
        if (r.status === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(r.status).toBe(0);
      const chain = JSON.parse(r.stdout).chain as { pid: number; path: string; argv: string[] }[];
      expect(chain[0]).toMatchObject({ pid: child.pid, path: '/usr/bin/sleep', argv: ['/bin/sleep', '7'] });
      expect(chain.some((e) => e.pid === process.pid)).toBe(true);
      const st = await forkline('status', '--socket', socket, '--json');
      expect(JSON.parse(st.stdout)).toMatchObject({ source: 'bpf' });
      child.kill();
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  }, 60_000);
});
