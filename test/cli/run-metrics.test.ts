// `forkline run` with metrics on: a StatsD listener receives them, and a
// StatsD that is down neither blocks nor fails the agent. Runs the agent on
// a recording (`--replay`, no root needed).

import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');
const dir = mkdtempSync(join(tmpdir(), 'forkline-metrics-'));
const recording = join(dir, 'stream.fkl');

function runAgent(port: number, host = '127.0.0.1') {
  return spawnSync(process.execPath, [BIN, 'run', '--replay', recording, '--duration', '1.5', '--no-socket', '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      FORKLINE_METRICS_ENABLED: 'true',
      FORKLINE_METRICS_HOST: host,
      FORKLINE_METRICS_PORT: String(port),
      FORKLINE_METRICS_FLUSH_INTERVAL_MS: '200',
      FORKLINE_METRICS_TAGS: 'env:test',
    },
  });
}

async function udpListener(): Promise<{ socket: Socket; port: number; lines: string[] }> {
  const socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (m) => lines.push(...m.toString().split('\n').filter((l) => l !== '')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port, lines };
}

beforeAll(() => {
  const r = spawnSync(process.execPath, [BIN, 'synth', '--events', '20000', '--seed', '3', '--out', recording], { encoding: 'utf8' });
  expect(r.status).toBe(0);
}, 60_000);

describe('forkline run with metrics', () => {
  let listener: Awaited<ReturnType<typeof udpListener>>;
  beforeAll(async () => {
    listener = await udpListener();
  });
  afterAll(() => listener.socket.close());

  it('sends the pipeline and resolver metrics to StatsD, with the global tags', async () => {
    const r = runAgent(listener.port);
    expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/metrics to udp:\/\/127\.0\.0\.1:\d+ every 200 ms/)]);
    const summary = JSON.parse(r.stdout);
    await new Promise((res) => setTimeout(res, 100));
    const names = new Set(listener.lines.map((l) => l.split(':')[0]));
    expect(names).toContain('forkline.process_resolver.cache_size');
    expect(names).toContain('forkline.uptime');
    expect(listener.lines.every((l) => l.includes('env:test'))).toBe(true);
    // the flushed counts of fork events add up to the run's
    const forks = listener.lines
      .filter((l) => /^forkline\.pipeline\.events:\d+\|c\|.*type:fork/.test(l))
      .reduce((n, l) => n + Number(l.split(':')[1]!.split('|')[0]), 0);
    expect(forks).toBe(summary.events.fork);
  }, 60_000);

  it('runs to the end with StatsD down (nobody listening, or a host that does not resolve)', () => {
    // port 9 (discard) on loopback: nobody listens here
    for (const [host, p] of [['127.0.0.1', 9], ['forkline-statsd.invalid', 8125]] as const) {
      const r = runAgent(p, host);
      expect([host, r.status]).toEqual([host, 0]);
      expect(JSON.parse(r.stdout).dropped.total).toBe(0);
    }
  }, 60_000);
});
