// The agent's configuration: one JSON file, FORKLINE_* environment
// variables and command-line flags, merged with flags > env > file >
// defaults (docs/operations.md). Every key is declared once in KEYS, which
// gives its type, default, environment variable and validation; errors name
// the key (`config key "socket.mode": must be an octal string like "0600"`).

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { bytesPerRow, MAX_CAPACITY } from '../cache/table.js';

export const DEFAULT_CONFIG_FILE = '/etc/forkline/config.json';
export const DEFAULT_SOCKET_PATH = '/run/forkline/forkline.sock';
/** The fewest rows ProcessTable takes (it throws a RangeError below): refused here, before anything starts. */
const MIN_CAPACITY = 16;
/** A UNIX socket path is at most 107 bytes (sun_path is 108, with its NUL): a longer one would be cut by bind(). */
export const MAX_SOCKET_PATH_BYTES = 107;

export type SourceSetting = 'auto' | 'bpf' | 'netlink' | 'procfs';

export interface SocketConfig {
  enabled: boolean;
  path: string;
  /** A group whose members may query the agent (name or number); null: root (and the agent's own user) only. */
  group: string | null;
  /** Octal mode of the socket file; null: "0600", or "0660" with a group. */
  mode: string | null;
  maxRequestBytes: number;
  requestsPerSecond: number;
  maxConnections: number;
}

export interface MetricsConfig {
  enabled: boolean;
  host: string;
  port: number;
  protocol: 'udp' | 'tcp';
  prefix: string;
  /** Tags added to every metric, as "key:value" strings. */
  tags: string[];
  flushIntervalMs: number;
}

export interface ForklineConfig {
  source: SourceSetting;
  /** For tests: replay this recording instead of watching the host (the agent stays up after it). */
  replay: string | null;
  duration: number | null;
  interval: number;
  shards: number | null;
  capacity: number | null;
  ringBytesPerCpu: number | null;
  /** Latency budget of the live capture, ms (docs/capture.md, "Latency budget"). */
  maxLatencyMs: number;
  envs: boolean;
  procRoot: string;
  record: string | null;
  summaryJson: string | null;
  socket: SocketConfig;
  metrics: MetricsConfig;
}

export function defaultConfig(): ForklineConfig {
  const c = {} as Record<string, unknown>;
  for (const k of KEYS) setPath(c, k.key, structuredClone(k.default));
  return c as unknown as ForklineConfig;
}

/** A configuration value that is not acceptable: `key` is its dotted name. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(
    readonly key: string,
    readonly reason: string,
    readonly origin?: string,
  ) {
    super(`config key "${key}"${origin ? ` (${origin})` : ''}: ${reason}`);
    this.name = 'ConfigError';
  }
}

type Kind =
  | { t: 'string'; nullable?: boolean; maxBytes?: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'int'; min: number; max: number; nullable?: boolean }
  | { t: 'number'; min: number; nullable?: boolean }
  | { t: 'bool' }
  | { t: 'octal' }
  | { t: 'tags' };

interface KeyDef {
  key: string;
  kind: Kind;
  default: unknown;
  doc: string;
}

const KEYS: readonly KeyDef[] = [
  { key: 'source', kind: { t: 'enum', values: ['auto', 'bpf', 'netlink', 'procfs'] }, default: 'auto', doc: 'live source; auto: bpf, else netlink' },
  { key: 'replay', kind: { t: 'string', nullable: true }, default: null, doc: 'for tests: replay this recording instead of watching the host' },
  { key: 'duration', kind: { t: 'number', min: 0, nullable: true }, default: null, doc: 'stop after this many seconds (null: run until SIGINT/SIGTERM)' },
  { key: 'interval', kind: { t: 'int', min: 1, max: 3_600_000 }, default: 1000, doc: 'poll interval of the procfs source, ms' },
  { key: 'shards', kind: { t: 'int', min: 1, max: 64, nullable: true }, default: null, doc: 'shard workers (null: one per core)' },
  { key: 'capacity', kind: { t: 'int', min: MIN_CAPACITY, max: MAX_CAPACITY, nullable: true }, default: null, doc: 'rows per shard (null: 65536)' },
  {
    key: 'ringBytesPerCpu',
    kind: { t: 'int', min: 1, max: 2 ** 31, nullable: true },
    default: null,
    doc: 'bytes of each per-CPU BPF ring buffer, a power of two checked when the source starts (null: 4 MiB)',
  },
  {
    key: 'maxLatencyMs',
    kind: { t: 'int', min: 1, max: 1000 },
    default: 4,
    doc: 'latency budget of the live capture, ms: the reader thread drains the kernel rings at least this often (more: less CPU, staler cache)',
  },
  { key: 'envs', kind: { t: 'bool' }, default: false, doc: 'capture environment variables' },
  { key: 'procRoot', kind: { t: 'string' }, default: '/proc', doc: 'where /proc is' },
  { key: 'record', kind: { t: 'string', nullable: true }, default: null, doc: 'record the applied stream to this file' },
  { key: 'summaryJson', kind: { t: 'string', nullable: true }, default: null, doc: 'write the final summary as JSON to this file' },
  { key: 'socket.enabled', kind: { t: 'bool' }, default: true, doc: 'serve the local query socket' },
  { key: 'socket.path', kind: { t: 'string', maxBytes: MAX_SOCKET_PATH_BYTES }, default: DEFAULT_SOCKET_PATH, doc: 'path of the query socket' },
  { key: 'socket.group', kind: { t: 'string', nullable: true }, default: null, doc: 'group allowed to query (name or gid)' },
  { key: 'socket.mode', kind: { t: 'octal' }, default: null, doc: 'socket file mode (null: "0600", "0660" with a group)' },
  { key: 'socket.maxRequestBytes', kind: { t: 'int', min: 64, max: 16 << 20 }, default: 65536, doc: 'longest request line' },
  { key: 'socket.requestsPerSecond', kind: { t: 'int', min: 1, max: 1_000_000 }, default: 50, doc: 'requests per second per connection' },
  { key: 'socket.maxConnections', kind: { t: 'int', min: 1, max: 10_000 }, default: 16, doc: 'concurrent connections' },
  { key: 'metrics.enabled', kind: { t: 'bool' }, default: false, doc: 'send metrics' },
  { key: 'metrics.host', kind: { t: 'string' }, default: '127.0.0.1', doc: 'metrics collector host' },
  { key: 'metrics.port', kind: { t: 'int', min: 1, max: 65535 }, default: 8125, doc: 'metrics collector port' },
  { key: 'metrics.protocol', kind: { t: 'enum', values: ['udp', 'tcp'] }, default: 'udp', doc: 'metrics transport' },
  { key: 'metrics.prefix', kind: { t: 'string' }, default: 'forkline.', doc: 'prefix of every metric name' },
  { key: 'metrics.tags', kind: { t: 'tags' }, default: [], doc: 'tags added to every metric ("key:value")' },
  { key: 'metrics.flushIntervalMs', kind: { t: 'int', min: 100, max: 3_600_000 }, default: 10_000, doc: 'how often metrics are sent, ms' },
];

/** FORKLINE_ plus the key in upper snake case: socket.maxRequestBytes -> FORKLINE_SOCKET_MAX_REQUEST_BYTES. */
export function envName(key: string): string {
  return 'FORKLINE_' + key.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Every key with its environment variable, default and meaning (docs, --help). */
export function configKeys(): { key: string; env: string; default: unknown; doc: string }[] {
  return KEYS.map((k) => ({ key: k.key, env: envName(k.key), default: k.default, doc: k.doc }));
}

export interface LoadOptions {
  /** The config file; undefined: DEFAULT_CONFIG_FILE when it exists. */
  file?: string;
  /** The environment (default process.env). */
  env?: Record<string, string | undefined>;
  /** Values from flags, by dotted key; undefined values are ignored. */
  flags?: Record<string, unknown>;
  /** A default config file that cannot be read (EACCES) is skipped instead of failing (query commands). */
  lenientDefaultFile?: boolean;
  /** Check the memory settings against this machine (checkMemory); `forkline run` checks them against its own. */
  host?: HostResources;
}

/** The effective configuration: flags > env > file > defaults. Throws a ConfigError naming the key. */
export function loadConfig(o: LoadOptions = {}): ForklineConfig {
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const env = o.env ?? process.env;
  const fileName = o.file ?? env.FORKLINE_CONFIG;
  const explicit = fileName !== undefined;
  const file = readConfigFile(fileName ?? DEFAULT_CONFIG_FILE, explicit, o.lenientDefaultFile === true);
  if (file) {
    for (const [key, value] of flatten(file.data, '')) {
      const def = KEYS.find((k) => k.key === key);
      if (!def) throw new ConfigError(key, `unknown key (known keys: ${KEYS.map((k) => k.key).join(', ')})`, file.path);
      setPath(config, key, validate(def, value, file.path));
    }
  }
  for (const def of KEYS) {
    const raw = env[envName(def.key)];
    if (raw === undefined || raw === '') continue;
    setPath(config, def.key, validate(def, parseText(def, raw), `environment ${envName(def.key)}`, raw));
  }
  for (const [key, value] of Object.entries(o.flags ?? {})) {
    if (value === undefined) continue;
    const def = KEYS.find((k) => k.key === key);
    if (!def) throw new ConfigError(key, 'unknown key');
    const text = typeof value === 'string' && def.kind.t !== 'string' && def.kind.t !== 'octal';
    setPath(config, key, validate(def, text ? parseText(def, value) : value, 'flag', text ? value : undefined));
  }
  const c = config as unknown as ForklineConfig;
  if (o.host) checkMemory(c, o.host);
  return c;
}

/** What the memory settings are checked against (tests give their own). */
export interface HostResources {
  /** Bytes of memory (os.totalmem()). */
  totalMem: number;
  /** CPUs the kernel may bring up: one BPF ring each (/sys/devices/system/cpu/possible). */
  possibleCpus: number;
  /** Shard workers when `shards` is null (os.availableParallelism()). */
  defaultShards: number;
}

export function hostResources(): HostResources {
  return { totalMem: totalmem(), possibleCpus: possibleCpus(), defaultShards: availableParallelism() };
}

/** Counts a CPU list like "0-3,8" (/sys/devices/system/cpu/possible); os.cpus() when it cannot be read. */
function possibleCpus(): number {
  try {
    let n = 0;
    for (const part of readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',')) {
      const [a, b] = part.split('-').map(Number);
      n += b === undefined ? 1 : b! - a! + 1;
    }
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // not Linux, or no sysfs
  }
  return Math.max(1, cpus().length);
}

/** The BPF rings together may take this share of the host's memory. */
export const RING_MEMORY_SHARE = 8;
/** The process tables together may take this share of the host's memory. */
export const TABLE_MEMORY_SHARE = 2;

function gib(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Refuses memory settings that do not fit the machine, naming the limit:
 * the per-CPU BPF rings (ringBytesPerCpu times the possible CPUs) within
 * 1/RING_MEMORY_SHARE of its memory, the process tables (capacity rows of
 * bytesPerRow, times the shards) within 1/TABLE_MEMORY_SHARE.
 */
export function checkMemory(
  c: { ringBytesPerCpu?: number | null; capacity?: number | null; shards?: number | null },
  host: HostResources = hostResources(),
  origin = 'for this host',
): void {
  const mem = `${gib(host.totalMem)} of memory`;
  if (c.ringBytesPerCpu != null) {
    const limit = host.totalMem / RING_MEMORY_SHARE;
    const total = c.ringBytesPerCpu * host.possibleCpus;
    if (total > limit) {
      let fit = 1;
      while (fit * 2 * host.possibleCpus <= limit) fit *= 2;
      throw new ConfigError(
        'ringBytesPerCpu',
        `${c.ringBytesPerCpu} bytes times ${host.possibleCpus} CPUs is ${gib(total)} of BPF rings, over the limit of ${gib(limit)} ` +
          `(1/${RING_MEMORY_SHARE} of this host's ${mem}): at most ${fit} here`,
        origin,
      );
    }
  }
  const capacity = c.capacity ?? 65536;
  const shards = c.shards ?? host.defaultShards;
  const tables = capacity * bytesPerRow(capacity) * shards;
  const limit = host.totalMem / TABLE_MEMORY_SHARE;
  if (tables > limit) {
    throw new ConfigError(
      c.capacity != null ? 'capacity' : 'shards',
      `${shards} shards of ${capacity} rows take ${gib(tables)}, over the limit of ${gib(limit)} (1/${TABLE_MEMORY_SHARE} of this host's ${mem})`,
      origin,
    );
  }
}

/** Checks one value as the key would (for flags of other commands that mean the same, e.g. replay --capacity). */
export function checkValue(key: string, value: unknown, origin = 'flag'): unknown {
  const def = KEYS.find((k) => k.key === key);
  if (!def) throw new ConfigError(key, 'unknown key');
  return validate(def, typeof value === 'string' ? parseText(def, value) : value, origin, typeof value === 'string' ? value : undefined);
}

/** The mode the socket file gets: socket.mode, else 0600, or 0660 with a group. */
export function socketMode(s: SocketConfig): number {
  if (s.mode !== null) return parseInt(s.mode, 8);
  return s.group !== null ? 0o660 : 0o600;
}

function readConfigFile(path: string, explicit: boolean, lenient: boolean): { path: string; data: Record<string, unknown> } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && (code === 'ENOENT' || (lenient && code === 'EACCES'))) return undefined;
    throw new ConfigError('(file)', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('(file)', `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError('(file)', `config file ${path} must hold a JSON object`);
  }
  return { path, data: data as Record<string, unknown> };
}

/** Leaves of a file object as dotted keys; objects are descended into except where a key expects a value. */
function flatten(obj: Record<string, unknown>, prefix: string): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k;
    const isSection = KEYS.some((d) => d.key.startsWith(key + '.'));
    if (isSection) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(key, 'must be an object');
      out.push(...flatten(v as Record<string, unknown>, key + '.'));
    } else {
      out.push([key, v]);
    }
  }
  return out;
}

/** An environment variable or flag text as the key's type. */
function parseText(def: KeyDef, raw: string): unknown {
  switch (def.kind.t) {
    case 'int':
    case 'number':
      if (raw === 'null' && def.kind.nullable) return null;
      return raw.trim() === '' ? NaN : Number(raw);
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return raw;
    case 'tags':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    default:
      return raw;
  }
}

/** `text`: the value as written (environment, flag), shown in the error instead of its parse. */
function validate(def: KeyDef, v: unknown, origin: string, text?: string): unknown {
  const k = def.kind;
  const fail = (reason: string): never => {
    throw new ConfigError(def.key, `${reason}, got ${JSON.stringify(text ?? v) ?? String(v)}`, origin);
  };
  switch (k.t) {
    case 'string':
      if (v === null && k.nullable) return null;
      if (typeof v !== 'string' || v.length === 0) fail(`must be a non-empty string${k.nullable ? ' or null' : ''}`);
      if ((v as string).includes('\0')) fail('must not contain a NUL byte');
      if (k.maxBytes !== undefined && Buffer.byteLength(v as string) > k.maxBytes) {
        fail(`must be at most ${k.maxBytes} bytes (the longest UNIX socket path), not ${Buffer.byteLength(v as string)}`);
      }
      return v;
    case 'enum':
      if (typeof v !== 'string' || !k.values.includes(v)) fail(`must be one of ${k.values.map((x) => `"${x}"`).join(', ')}`);
      return v;
    case 'int':
      if (v === null && k.nullable) return null;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < k.min || v > k.max) fail(`must be an integer in ${k.min}..${k.max}${k.nullable ? ' or null' : ''}`);
      return v;
    case 'number':
      if (v === null && k.nullable) return null;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= k.min) fail(`must be a number greater than ${k.min}${k.nullable ? ' or null' : ''}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail('must be true or false');
      return v;
    case 'octal':
      if (v === null) return null;
      if (typeof v !== 'string' || !/^0[0-7]{3}$/.test(v)) fail('must be an octal string like "0600"');
      if ((parseInt(v as string, 8) & 0o7007) !== 0) fail('must not give rights to others or set special bits (at most "0770")');
      return v;
    case 'tags':
      if (!Array.isArray(v) || !v.every((t) => typeof t === 'string' && /^[^,|#\s]+$/.test(t))) {
        fail('must be a list of "key:value" strings without commas, "|", "#" or spaces');
      }
      return v;
  }
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts.at(-1)!] = value;
}
