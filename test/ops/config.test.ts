// The agent's configuration (docs/operations.md, "Configuration"): flags >
// environment > file > defaults, and validation errors that name the key.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMemory, ConfigError, configKeys, defaultConfig, envName, loadConfig, socketMode } from '../../src/ops/config.js';

const dir = mkdtempSync(join(tmpdir(), 'forkline-config-'));
let n = 0;
function file(content: unknown): string {
  const p = join(dir, `c${n++}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('configuration', () => {
  it('defaults: socket at /run/forkline/forkline.sock, metrics off, auto source', () => {
    const c = loadConfig({ file: file({}), env: {} });
    expect(c).toEqual(defaultConfig());
    expect(c.source).toBe('auto');
    expect(c.socket).toEqual({ enabled: true, path: '/run/forkline/forkline.sock', group: null, mode: null, maxRequestBytes: 65536, requestsPerSecond: 50, maxConnections: 16 });
    expect(c.metrics).toMatchObject({ enabled: false, port: 8125, protocol: 'udp', tags: [], flushIntervalMs: 10000 });
    expect(socketMode(c.socket)).toBe(0o600);
    expect(socketMode({ ...c.socket, group: 'adm' })).toBe(0o660);
    expect(socketMode({ ...c.socket, mode: '0640' })).toBe(0o640);
  });

  it('precedence: flags over environment over file over defaults, key by key', () => {
    const f = file({ shards: 2, capacity: 1000, procRoot: '/file/proc', socket: { path: '/file.sock', maxConnections: 3 }, metrics: { port: 9000 } });
    const env = { FORKLINE_SHARDS: '3', FORKLINE_CAPACITY: '2000', FORKLINE_SOCKET_MAX_CONNECTIONS: '4', FORKLINE_METRICS_TAGS: 'env:prod, team:x' };
    const c = loadConfig({ file: f, env, flags: { shards: 4, 'socket.path': '/flag.sock', capacity: undefined } });
    expect(c.shards).toBe(4); // flag
    expect(c.capacity).toBe(2000); // env (the flag was not given)
    expect(c.procRoot).toBe('/file/proc'); // file
    expect(c.socket.path).toBe('/flag.sock');
    expect(c.socket.maxConnections).toBe(4);
    expect(c.metrics.port).toBe(9000);
    expect(c.metrics.tags).toEqual(['env:prod', 'team:x']);
    expect(c.interval).toBe(1000); // default
  });

  it('FORKLINE_CONFIG names the file; a missing default file is no error, a missing named one is', () => {
    const f = file({ duration: 5 });
    expect(loadConfig({ env: { FORKLINE_CONFIG: f } }).duration).toBe(5);
    expect(errorOf(() => loadConfig({ file: join(dir, 'nope.json'), env: {} }))).toMatch(/^config key "\(file\)": cannot read config file .*nope\.json/);
  });

  it('environment variable names are FORKLINE_ and the key in upper snake case', () => {
    expect(envName('socket.maxRequestBytes')).toBe('FORKLINE_SOCKET_MAX_REQUEST_BYTES');
    expect(envName('ringBytesPerCpu')).toBe('FORKLINE_RING_BYTES_PER_CPU');
    expect(envName('metrics.flushIntervalMs')).toBe('FORKLINE_METRICS_FLUSH_INTERVAL_MS');
    expect(configKeys().map((k) => k.key)).toEqual(
      expect.arrayContaining(['source', 'duration', 'shards', 'capacity', 'ringBytesPerCpu', 'envs', 'procRoot', 'record', 'summaryJson', 'socket.group', 'metrics.prefix']),
    );
  });

  it('validation errors name the key and where the value came from', () => {
    expect(errorOf(() => loadConfig({ file: file({ socket: { mode: 600 } }), env: {} }))).toMatch(
      /^config key "socket\.mode" \(.*c\d+\.json\): must be an octal string like "0600", got 600$/,
    );
    expect(errorOf(() => loadConfig({ env: { FORKLINE_SOCKET_MODE: '0777' } }))).toBe(
      'config key "socket.mode" (environment FORKLINE_SOCKET_MODE): must not give rights to others or set special bits (at most "0770"), got "0777"',
    );
    expect(errorOf(() => loadConfig({ env: { FORKLINE_SHARDS: 'two' } }))).toBe(
      'config key "shards" (environment FORKLINE_SHARDS): must be an integer in 1..64 or null, got "two"',
    );
    expect(errorOf(() => loadConfig({ env: {}, flags: { source: 'kprobe' } }))).toBe(
      'config key "source" (flag): must be one of "auto", "bpf", "netlink", "procfs", got "kprobe"',
    );
    expect(errorOf(() => loadConfig({ env: { FORKLINE_ENVS: 'maybe' } }))).toMatch(/^config key "envs" .*must be true or false/);
    expect(errorOf(() => loadConfig({ env: { FORKLINE_RING_BYTES_PER_CPU: '-5' } }))).toMatch(/"ringBytesPerCpu".*must be an integer/);
    expect(errorOf(() => loadConfig({ file: file({ metrics: { protocol: 'http' } }), env: {} }))).toMatch(/^config key "metrics\.protocol"/);
    expect(errorOf(() => loadConfig({ file: file({ metrics: { tags: 'a:b' } }), env: {} }))).toMatch(/^config key "metrics\.tags".*list of "key:value"/);
    expect(errorOf(() => loadConfig({ file: file({ socket: { pathh: '/x' } }), env: {} }))).toMatch(/^config key "socket\.pathh" .*unknown key/);
    expect(errorOf(() => loadConfig({ file: file({ socket: '/x.sock' }), env: {} }))).toMatch(/^config key "socket": must be an object/);
    expect(errorOf(() => loadConfig({ file: file('{ "shards": 2, }'), env: {} }))).toMatch(/is not valid JSON/);
    expect(errorOf(() => loadConfig({ file: file('[1]'), env: {} }))).toMatch(/must hold a JSON object/);
  });

  it('forkline run --print-config prints the effective configuration and exits; a bad value exits 2 naming the key', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');
    const f = file({ shards: 2, socket: { group: 'adm' } });
    const r = spawnSync(process.execPath, [bin, 'run', '--print-config', '--config', f, '--shards', '5'], {
      encoding: 'utf8',
      env: { ...process.env, FORKLINE_CAPACITY: '4096', FORKLINE_SHARDS: '3' },
    });
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout);
    expect([c.shards, c.capacity, c.socket.group]).toEqual([5, 4096, 'adm']);
    const bad = spawnSync(process.execPath, [bin, 'run', '--print-config'], { encoding: 'utf8', env: { ...process.env, FORKLINE_SOCKET_MODE: 'rw' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/config key "socket\.mode" \(environment FORKLINE_SOCKET_MODE\): must be an octal string like "0600"/);
  });
});

describe('bounds that fit the machine', () => {
  const twoCpus = { totalMem: 23 * 2 ** 30, possibleCpus: 2, defaultShards: 2 };

  it('a capacity under the 16 rows a table takes is refused with the key named, as is one over the largest', () => {
    expect(errorOf(() => loadConfig({ file: file({}), env: {}, flags: { capacity: '1' } }))).toMatch(/config key "capacity" \(flag\): must be an integer in 16\.\.16777216 or null, got "1"/);
    expect(errorOf(() => loadConfig({ file: file({ capacity: 2 ** 25 }), env: {} }))).toMatch(/"capacity"/);
    expect(loadConfig({ file: file({}), env: {}, flags: { capacity: '16' } }).capacity).toBe(16);
  });

  it('a socket path over 107 bytes is refused (bind would cut it), counted in bytes', () => {
    const long = '/tmp/' + 'x'.repeat(103); // 108 bytes
    expect(errorOf(() => loadConfig({ file: file({}), env: {}, flags: { 'socket.path': long } }))).toMatch(
      /config key "socket.path" \(flag\): must be at most 107 bytes \(the longest UNIX socket path\), not 108/,
    );
    expect(loadConfig({ file: file({}), env: {}, flags: { 'socket.path': long.slice(0, -1) } }).socket.path).toHaveLength(107);
    const wide = '/tmp/' + 'é'.repeat(52); // 109 bytes in 57 characters
    expect(errorOf(() => loadConfig({ file: file({}), env: { FORKLINE_SOCKET_PATH: wide } }))).toMatch(/not 109/);
  });

  it('ringBytesPerCpu 2 GiB on a 2-CPU host is refused naming the limit and what fits', () => {
    const msg = errorOf(() => loadConfig({ file: file({}), env: {}, flags: { ringBytesPerCpu: '2147483648' }, host: twoCpus }));
    expect(msg).toMatch(/config key "ringBytesPerCpu" \(for this host\): 2147483648 bytes times 2 CPUs is 4\.0 GiB of BPF rings, over the limit of 2\.9 GiB \(1\/8 of this host's 23\.0 GiB of memory\): at most 1073741824 here/);
    expect(loadConfig({ file: file({}), env: {}, flags: { ringBytesPerCpu: '1073741824' }, host: twoCpus }).ringBytesPerCpu).toBe(2 ** 30);
    // the same size on a host with 64 CPUs of the same memory
    expect(() => checkMemory({ ringBytesPerCpu: 2 ** 27 }, { ...twoCpus, possibleCpus: 64 })).toThrow(/times 64 CPUs is 8\.0 GiB/);
  });

  it('tables that do not fit half the memory are refused: capacity times shards, the default shards counted', () => {
    const small = { totalMem: 2 ** 30, possibleCpus: 2, defaultShards: 8 };
    expect(() => checkMemory({ capacity: 2 ** 24, shards: 1 }, small)).toThrow(/config key "capacity" \(for this host\): 1 shards of 16777216 rows take .* GiB, over the limit of 512\.0 MiB/);
    expect(() => checkMemory({ capacity: 2 ** 22 }, small)).toThrow(/8 shards of 4194304 rows/);
    expect(() => checkMemory({ capacity: 65536, shards: 8 }, small)).not.toThrow();
    expect(() => checkMemory({}, small)).not.toThrow(); // the defaults fit a 1 GiB host
  });
});
