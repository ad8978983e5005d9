// The synthetic stream's options: the operation mix, the sizes of the
// simulated host, the rates of the stream's faults (drops, swaps), their
// defaults (STANDARD_MIX, the benchmarks' "standard mix": docs/synthetic.md)
// and their validation (resolveOptions).

export interface SyntheticMix {
  fork: number;
  exec: number;
  exit: number;
  creds: number;
  rename: number;
}

export interface SyntheticArgv {
  /** Fewest arguments, argv[0] included (>= 1). */
  minArgs: number;
  /** Most arguments, argv[0] included. */
  maxArgs: number;
  /** Longest argument after argv[0], in bytes (they are ASCII). */
  maxArgLength: number;
}

export interface SyntheticOptions {
  /** Deterministic: same options -> identical event list. Any safe integer. */
  seed: number;
  /** Number of events to emit, exactly. */
  events: number;
  /** CPUs (default 2); each event gets a cpu, each process runs on one and sometimes migrates. */
  cpus?: number;
  /** Relative weights of the operations chosen each step (default STANDARD_MIX.mix). */
  mix?: SyntheticMix;
  /** Cap on live processes (default 2000); at the cap, forks turn into exits. */
  maxLive?: number;
  /** Pids are < pidMax, allocated increasing and wrapping back to 300, skipping live pids (default 32768). */
  pidMax?: number;
  /** Deepest fork depth, init being depth 0 (default 12). */
  maxDepth?: number;
  /** Argument count and length distribution (default 1..12 arguments of up to 40 bytes). */
  argv?: SyntheticArgv;
  /** Size of the pool of binaries the churn execs (default 64). */
  paths?: number;
  /** Include envp in fork and exec events (default false). */
  envs?: boolean;
  /** Fraction of execs that re-exec exactly the current image (default 0.01). */
  execBombRate?: number;
  /** Fraction of generated events dropped before emission, each drop reported by a later `lost` event (default 0). */
  lostRate?: number;
  /** Fraction of events emitted after the next event of another CPU (times unchanged) (default 0). */
  reorderRate?: number;
  /** A `flush` event at every flushEvery-th position of the stream (default 1000; 0: none). */
  flushEvery?: number;
  /** Number of containers (default 4); their processes and descendants carry its id and cgroup. */
  containers?: number;
  /** Time of the first event, ns (default 1_000_000_000n). */
  startTime?: bigint;
  /** Simulated event rate: mean spacing of timestamps is 1e9/eventsPerSecond ns (default 1_000_000). */
  eventsPerSecond?: number;
  /** Fraction of forks that are kernel threads (ppid 2, kernelThread: true), plus kthreadd itself (default 0). */
  kernelThreadRate?: number;
}

/** The benchmark's "standard mix": process churn of a CI runner / build farm (docs/synthetic.md). */
export const STANDARD_MIX: Required<
  Pick<SyntheticOptions, 'mix' | 'maxLive' | 'pidMax' | 'maxDepth' | 'argv' | 'paths' | 'execBombRate' | 'cpus'>
> = Object.freeze({
  mix: Object.freeze({ fork: 30, exec: 30, exit: 30, creds: 5, rename: 5 }),
  maxLive: 2000,
  pidMax: 32768,
  maxDepth: 12,
  argv: Object.freeze({ minArgs: 1, maxArgs: 12, maxArgLength: 40 }),
  paths: 64,
  execBombRate: 0.01,
  cpus: 2,
});

/** The options with every default applied, validated. */
export interface ResolvedOptions {
  seed: number;
  total: number;
  cpus: number;
  mix: SyntheticMix;
  maxLive: number;
  pidMax: number;
  maxDepth: number;
  argv: SyntheticArgv;
  paths: number;
  envs: boolean;
  execBombRate: number;
  lostRate: number;
  reorderRate: number;
  flushEvery: number;
  containers: number;
  startTime: bigint;
  eventsPerSecond: number;
  kernelThreadRate: number;
}

function fail(field: string, want: string, got: unknown): never {
  const shown = typeof got === 'bigint' ? `${got}n` : typeof got === 'object' ? JSON.stringify(got) : String(got);
  throw new RangeError(`synthetic: ${field} must be ${want}, got ${shown}`);
}

function intOpt(field: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `an integer in ${min}..${max}`, v);
  return v;
}

function rateOpt(field: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(field, 'a number in 0..1', v);
  return v;
}

export function resolveOptions(o: SyntheticOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('synthetic: options must be an object');
  if (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed)) fail('seed', 'a safe integer', o.seed);
  const total = intOpt('events', o.events, -1, 0, Number.MAX_SAFE_INTEGER);
  if (total < 0) fail('events', 'given', o.events);
  const mix = o.mix ?? STANDARD_MIX.mix;
  let weight = 0;
  for (const k of ['fork', 'exec', 'exit', 'creds', 'rename'] as const) {
    const w = mix[k];
    if (typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w)) fail(`mix.${k}`, 'a finite weight >= 0', w);
    weight += w;
  }
  if (!(weight > 0)) fail('mix', 'weights with a positive sum', mix);
  const pidMax = intOpt('pidMax', o.pidMax, STANDARD_MIX.pidMax, 400, 4194304);
  const argv = o.argv ?? STANDARD_MIX.argv;
  const minArgs = intOpt('argv.minArgs', argv.minArgs, 1, 1, 10000);
  intOpt('argv.maxArgs', argv.maxArgs, 1, minArgs, 10000);
  intOpt('argv.maxArgLength', argv.maxArgLength, 1, 1, 131072);
  const startTime = o.startTime ?? 1_000_000_000n;
  if (typeof startTime !== 'bigint' || startTime < 0n) fail('startTime', 'a bigint >= 0n', startTime);
  const eventsPerSecond = o.eventsPerSecond ?? 1_000_000;
  if (typeof eventsPerSecond !== 'number' || !(eventsPerSecond > 0) || !Number.isFinite(eventsPerSecond)) {
    fail('eventsPerSecond', 'a finite number > 0', eventsPerSecond);
  }
  return {
    seed: o.seed,
    total,
    cpus: intOpt('cpus', o.cpus, STANDARD_MIX.cpus, 1, 4096),
    mix,
    maxLive: intOpt('maxLive', o.maxLive, STANDARD_MIX.maxLive, 1, pidMax),
    pidMax,
    maxDepth: intOpt('maxDepth', o.maxDepth, STANDARD_MIX.maxDepth, 1, 10000),
    argv,
    paths: intOpt('paths', o.paths, STANDARD_MIX.paths, 1, 1_000_000),
    envs: o.envs === true,
    execBombRate: rateOpt('execBombRate', o.execBombRate, STANDARD_MIX.execBombRate),
    lostRate: rateOpt('lostRate', o.lostRate, 0),
    reorderRate: rateOpt('reorderRate', o.reorderRate, 0),
    flushEvery: intOpt('flushEvery', o.flushEvery, 1000, 0, Number.MAX_SAFE_INTEGER),
    containers: intOpt('containers', o.containers, 4, 0, 256),
    startTime,
    eventsPerSecond,
    kernelThreadRate: rateOpt('kernelThreadRate', o.kernelThreadRate, 0),
  };
}
