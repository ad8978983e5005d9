// synthetic source: a seeded generator of realistic process churn, for
// benchmarks and property tests (docs/synthetic.md).
//
// It simulates a host — a ground-truth process table, pid allocation like the
// kernel's, credentials, containers, reparenting of orphans — and emits the
// StreamEvents a kernel tracer would see. Like the BPF programs, every fork
// and exec event carries the full state of the image (DESIGN.md invariant 2).
// Then, as a per-CPU ring reader would, it can lose events (reported by
// `lost` events), swap adjacent events of different CPUs, and insert
// `flush` ticks.
//
// Same options -> the same event list, bit for bit: every random choice comes
// from one seeded PRNG, in one order.
//
// Events share immutable parts (argv and envp arrays, credentials objects)
// with the simulation and with each other; they are frozen: never mutate them.

import type { Credentials } from '../../record/events.js';
import type {
  CredsEvent,
  ExecEvent,
  ExitEvent,
  FlushEvent,
  ForkEvent,
  LostEvent,
  RenameEvent,
  ReparentEvent,
  StreamEvent,
} from '../../record/events.js';

// ---------------------------------------------------------------------------
// Options

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

export interface SyntheticTruth {
  /** Every live process at the end of the simulation (kernel threads excepted). */
  live: Map<number, { ppid: number; path: string; argv: string[]; nsPid: number; pidnsInode: number }>;
  /** Simulated operations, emitted or dropped (boot included, kernel threads excepted). */
  forks: number;
  execs: number;
  exits: number;
  /** Events dropped; equals the sum of the counts of the `lost` events. */
  lost: number;
  /** Orphans given a new parent (one `reparent` event each). */
  reparents: number;
  /** Execs that re-exec'd the current image. */
  execBombs: number;
  /** Kernel-thread forks (kthreadd included). */
  kernelThreads: number;
}

export function* syntheticEvents(options: SyntheticOptions): Generator<StreamEvent> {
  const source = new SyntheticSource(options);
  for (let left = source.total; left > 0; left--) yield source.next(left);
}

export function syntheticStream(options: SyntheticOptions): StreamEvent[] {
  return syntheticWithTruth(options).events;
}

export function syntheticWithTruth(options: SyntheticOptions): { events: StreamEvent[]; truth: SyntheticTruth } {
  const source = new SyntheticSource(options);
  const events = new Array<StreamEvent>(source.total);
  for (let i = 0, left = source.total; left > 0; i++, left--) events[i] = source.next(left);
  return { events, truth: source.truth() };
}

// ---------------------------------------------------------------------------
// PRNG. Hand-written sfc32 (128-bit state, passes PractRand, a few ns per
// draw, no allocation): src/ cannot depend on pure-rand, which is only here
// as a dev dependency of fast-check, and a 32-bit-state generator such as
// mulberry32 would cycle within a long benchmark stream.

class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  /** `stream` selects an independent sequence for the same seed. */
  constructor(seed: number, stream = 0) {
    this.a = (0x9e3779b9 ^ Math.imul(stream, 0x85ebca6b)) | 0;
    this.b = seed >>> 0;
    this.c = Math.floor(seed / 4294967296) >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}

// ---------------------------------------------------------------------------
// The simulated host

/** Number of capabilities of this kernel (CAP_LAST_CAP 40): the full set. */
const CAP_FULL = (1n << 41n) - 1n;
const UNSET_ID = 4294967295;
/** The kernel wraps pid allocation back to RESERVED_PIDS. */
const RESERVED_PIDS = 300;
const KTHREADD = 2;
/**
 * Least spacing of simulated events, ns. Between two of them the stream puts
 * at most 3 events of its own (flush, lost report, flush), 1 ns apart.
 */
const MIN_SPACING = 4;
/** PRNG streams: the simulation, drops, swaps. */
const STREAM_DROP = 1;
const STREAM_SWAP = 2;
const NO_STRINGS: readonly string[] = Object.freeze([]);

const ROOT: Readonly<Credentials> = Object.freeze({
  uid: 0, gid: 0, euid: 0, egid: 0, fsuid: 0, fsgid: 0, auid: UNSET_ID, capEffective: CAP_FULL, capPermitted: CAP_FULL,
});

/** A binary: fixed path and inode, and how exec'ing it changes the process. */
interface Binary {
  readonly path: string;
  readonly inode: number;
  /** basename(path) cut to 15 bytes, as the kernel sets it. */
  readonly comm: string;
  /** Interpreter of a script ('' for a native binary). */
  readonly interpreter: string;
  readonly setuidRoot: boolean;
  /** Group of a setgid binary, else -1. */
  readonly setgid: number;
  /** The last argv built for it (reused now and then: builds repeat command lines). */
  lastArgv: readonly string[] | null;
}

/** One process image: shared by every process forked from it until one execs. */
interface Image {
  readonly bin: Binary;
  readonly argv: readonly string[];
  readonly envp: readonly string[];
  readonly execTime: bigint;
}

/** A pid namespace and the root mount of its processes' binaries (the host's, or a container's overlay). */
interface PidNs {
  readonly inode: number;
  readonly mountId: number;
  /** The next pid a fork takes in it (containers only: the host's pids are the pids). */
  nextPid: number;
}

/** The host's pid namespace (the usual first namespace inode) and root mount. */
const HOST_NS: Readonly<PidNs> = Object.freeze({ inode: 4026531836, mountId: 22, nextPid: 0 });

interface Proc {
  pid: number;
  ppid: number;
  /** Its pid namespace, and its pid there. */
  ns: PidNs;
  nsPid: number;
  parent: Proc | null;
  depth: number;
  image: Image;
  comm: string;
  creds: Readonly<Credentials>;
  tty: string;
  containerId: string;
  cgroup: string;
  cpu: number;
  /** The process that adopts orphans of this one: its pid namespace's init. */
  reaper: Proc | null;
  kids: Proc[] | null;
  /** Position in the parent's kids. */
  kidAt: number;
  /** Position in the live list; -1 once exited. */
  liveAt: number;
  /** Exec'd since its fork. */
  execd: boolean;
  /** Boot process: never exits, never execs again. */
  daemon: boolean;
}

// The churn's binaries, most frequent first (picked with a skew towards the
// head): a build farm runs sh, cc1, as, gcc and make far more than anything.
const SCRIPT = 'script';
const BINARY_TABLE: readonly (readonly [string, string?, string?])[] = [
  ['/usr/bin/dash'],
  ['/usr/lib/gcc/x86_64-linux-gnu/12/cc1'],
  ['/usr/bin/x86_64-linux-gnu-as'],
  ['/usr/bin/x86_64-linux-gnu-gcc-12'],
  ['/usr/bin/make'],
  ['/usr/bin/x86_64-linux-gnu-ld.bfd'],
  ['/usr/lib/gcc/x86_64-linux-gnu/12/collect2'],
  ['/opt/ci/steps/build.py', SCRIPT, '/usr/bin/python3.11'],
  ['/usr/bin/git'],
  ['/usr/bin/sed'],
  ['/usr/bin/sudo', 'setuid'],
  ['/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus'],
  ['/usr/bin/bash'],
  ['/usr/bin/cat'],
  ['/usr/bin/grep'],
  ['/opt/ci/steps/run-tests.sh', SCRIPT, '/usr/bin/dash'],
  ['/usr/bin/mawk'],
  ['/usr/bin/rm'],
  ['/usr/bin/mkdir'],
  ['/usr/bin/python3.11'],
  ['/usr/bin/node'],
  ['/usr/share/nodejs/npm/bin/npm-cli.js', SCRIPT, '/usr/bin/node'],
  ['/usr/bin/ninja'],
  ['/usr/bin/cmake'],
  ['/usr/bin/x86_64-linux-gnu-ar'],
  ['/usr/bin/x86_64-linux-gnu-strip'],
  ['/usr/bin/tr'],
  ['/usr/bin/cut'],
  ['/usr/bin/sort'],
  ['/usr/bin/uniq'],
  ['/usr/bin/head'],
  ['/usr/bin/tail'],
  ['/usr/bin/wc'],
  ['/usr/bin/find'],
  ['/usr/bin/xargs'],
  ['/usr/bin/ls'],
  ['/usr/bin/cp'],
  ['/usr/bin/mv'],
  ['/usr/bin/ln'],
  ['/usr/bin/chmod'],
  ['/usr/bin/tar'],
  ['/usr/bin/gzip'],
  ['/usr/bin/curl'],
  ['/usr/bin/env'],
  ['/usr/bin/uname'],
  ['/usr/bin/date'],
  ['/usr/bin/id'],
  ['/usr/bin/sleep'],
  ['/usr/bin/true'],
  ['/usr/bin/dirname'],
  ['/usr/bin/basename'],
  ['/usr/bin/pkg-config'],
  ['/usr/bin/x86_64-linux-gnu-objcopy'],
  ['/usr/lib/git-core/git-remote-https'],
  ['/usr/bin/ssh'],
  ['/usr/bin/su', 'setuid'],
  ['/usr/bin/crontab', 'setgid'],
  ['/usr/bin/passwd', 'setuid'],
  ['/usr/local/bin/ci-artifact-uploader-wrapper'],
  ['/usr/bin/rustc'],
  ['/usr/bin/cargo'],
  ['/usr/lib/go-1.21/bin/go'],
  ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java'],
  ['/usr/bin/docker'],
];

const CRONTAB_GID = 107;

function makeBinary(path: string, inode: number, kind?: string, interpreter?: string): Binary {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return {
    path,
    inode,
    comm: base.slice(0, 15),
    interpreter: kind === SCRIPT ? interpreter! : '',
    setuidRoot: kind === 'setuid',
    setgid: kind === 'setgid' ? CRONTAB_GID : -1,
    lastArgv: null,
  };
}

const ARG_FLAGS = [
  '-c', '-o', '-g', '-O2', '-O0', '-Wall', '-Wextra', '-Werror', '-fPIC', '-pipe', '-MD', '-MP', '-MF', '-std=c11',
  '-std=gnu++17', '-DNDEBUG', '-D_GNU_SOURCE', '-fstack-protector-strong', '-pthread', '-j2', '--quiet', '-e', '-x',
  '-u', '-v', '--', '--color=never', '-quiet', '-dumpbase', '--64', '-I', '-L/usr/lib/x86_64-linux-gnu', '-lz',
];
const ARG_DIRS = ['src', 'lib', 'include', 'build', 'obj', 'core', 'net', 'util', 'tests', 'third_party', 'crypto', 'io'];
const ARG_NAMES = ['main', 'parser', 'lexer', 'buffer', 'hash', 'table', 'socket', 'event', 'config', 'alloc', 'log'];
const ARG_EXTS = ['.c', '.o', '.h', '.cc', '.s', '.d', '.py', '.json', '.a'];
const ENV_ITEMS = [
  'PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/home/runner', 'LANG=C.UTF-8', 'CI=true', 'TERM=xterm-256color',
  'MAKEFLAGS=-j2', 'CC=gcc', 'CFLAGS=-O2 -g', 'USER=runner', 'SHLVL=2', 'PWD=/home/runner/work/app',
  'GITHUB_TOKEN=ghs_0123456789abcdefABCDEF', 'RUNNER_TEMP=/home/runner/_temp', 'LD_LIBRARY_PATH=/opt/lib',
];
const INIT_ENV: readonly string[] = Object.freeze(['HOME=/', 'TERM=linux']);
const UNIT_ENV: readonly string[] = Object.freeze(['LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin']);
const RENAMES = [
  'gmain', 'gdbus', 'V8 WorkerThread', 'pool-2-thread-1', 'node-worker', 'make[2]', 'cc1-jobserver', 'python3 -u',
  'git-gc', 'tokio-runtime-w', 'sshd: runner', 'ninja-worker',
];
const USERS = [0, 33, 1000, 1001, 65534];
const GROUPS = [0, 33, 100, 1000, 1001];
const EXIT_CODES = [1, 2, 1, 127, 130, 137, 143];

/** Events that concern processes (the ones that may be dropped or swapped). */
type PidEvent = ForkEvent | ExecEvent | ExitEvent | CredsEvent | RenameEvent | ReparentEvent;

interface Resolved {
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

function resolveOptions(o: SyntheticOptions): Resolved {
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

/**
 * The simulation: one call of step() applies one operation to the ground
 * truth and returns the event the kernel would emit for it.
 */
class Host {
  private readonly rng: Sfc32;
  private readonly o: Resolved;
  /** pid -> live process. */
  private readonly table: (Proc | undefined)[];
  private readonly live: Proc[] = [];
  /** The latest processes created or exec'd (fork parents and exit victims favour them). */
  private readonly recent: (Proc | null)[] = new Array<Proc | null>(16).fill(null);
  private recentAt = 0;
  /** Forked children that have not exec'd yet, newest last: execs mostly follow their fork. */
  private readonly fresh: Proc[] = [];
  /** Where the churn starts: login shell, CI runner, container inits. */
  private readonly roots: Proc[] = [];
  private readonly binaries: Binary[] = [];
  private readonly daemonBins = new Map<string, Binary>();
  /** cgroup path -> its id (the inode of its directory), given in order of first use; the root's is 1. */
  private readonly cgroupIds = new Map<string, bigint>([['/', 1n]]);
  private readonly argPool: string[] = [];
  private readonly envPool: (readonly string[])[] = [];
  private lastPid = 0;
  private init!: Proc;
  private readonly boot: Generator<PidEvent, void>;
  booting = true;
  /** Orphans waiting for their reparent event, and who adopts them. */
  private orphans: Proc[] = [];
  private orphanAt = 0;
  private orphanReaper: Proc | null = null;
  private orphanCpu = 0;
  private readonly weights: number[];
  private readonly spacing: number;
  private clock = 0;
  readonly counts = { forks: 0, execs: 0, exits: 0, reparents: 0, execBombs: 0, kernelThreads: 0 };

  constructor(o: Resolved) {
    this.o = o;
    this.rng = new Sfc32(o.seed);
    this.table = new Array<Proc | undefined>(o.pidMax);
    const m = o.mix;
    const w = [m.fork, m.exec, m.exit, m.creds, m.rename];
    const sum = w.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.weights = w.map((x) => (acc += x / sum));
    this.spacing = 1e9 / o.eventsPerSecond;
    for (let i = 0; i < o.paths; i++) {
      const row = BINARY_TABLE[i];
      const inode = 131_000 + i * 37;
      this.binaries.push(row ? makeBinary(row[0], inode, row[1], row[2]) : makeBinary(`/usr/local/bin/tool-${i}`, inode));
    }
    for (let i = 0; i < 512; i++) this.argPool.push(this.makeArg());
    for (let i = 0; i < 16; i++) {
      const n = 3 + this.rng.int(4);
      const env: string[] = [];
      for (let j = 0; j < n; j++) env.push(ENV_ITEMS[this.rng.int(ENV_ITEMS.length)]!);
      this.envPool.push(Object.freeze(env));
    }
    this.boot = this.bootSequence();
  }

  /**
   * Time of the next simulated event: strictly increasing, spaced
   * 1e9/eventsPerSecond ns on average, never less than MIN_SPACING apart so
   * that the stream's own events (lost, flush) fit in between without
   * changing the simulation's times.
   */
  tick(): bigint {
    const t = this.o.startTime + BigInt(this.clock);
    this.clock += Math.max(MIN_SPACING, Math.floor(this.spacing * (0.5 + this.rng.float())));
    return t;
  }

  step(): PidEvent {
    if (this.booting) {
      const r = this.boot.next();
      if (!r.done) return r.value;
      this.booting = false;
    }
    if (this.orphanAt < this.orphans.length) return this.reparentNext();
    const u = this.rng.float();
    const w = this.weights;
    if (u < w[0]!) return this.opFork();
    if (u < w[1]!) return this.tryExec() ?? this.opFork();
    if (u < w[2]!) return this.tryExit() ?? this.tryFork() ?? this.rename();
    if (u < w[3]!) return this.creds();
    return this.rename();
  }

  private opFork(): PidEvent {
    if (this.o.kernelThreadRate > 0 && this.rng.float() < this.o.kernelThreadRate) {
      const ev = this.kernelThread();
      if (ev) return ev;
    }
    if (this.live.length >= this.o.maxLive) return this.tryExit() ?? this.rename();
    return this.tryFork() ?? this.tryExit() ?? this.rename();
  }

  liveProcs(): readonly Proc[] {
    return this.live;
  }

  // ------------------------------------------------------------------
  // Boot: init, then a few long-lived daemons the churn hangs off.

  private *bootSequence(): Generator<PidEvent, void> {
    const o = this.o;
    const empty: Image = { bin: makeBinary('', 0), argv: NO_STRINGS, envp: NO_STRINGS, execTime: 0n };
    const init: Proc = {
      pid: 1, ppid: 0, ns: HOST_NS, nsPid: 1, parent: null, depth: 0, image: empty, comm: 'swapper/0', creds: ROOT, tty: '', containerId: '',
      cgroup: '/', cpu: 0, reaper: null, kids: null, kidAt: -1, liveAt: -1, execd: false, daemon: true,
    };
    init.reaper = init;
    this.init = init;
    this.addLive(init);
    this.counts.forks++;
    yield this.forkEvent(this.tick(), 0, init);
    init.cgroup = '/init.scope';
    // The kernel starts init with HOME=/ TERM=linux; systemd gives its services a PATH and LANG.
    yield this.execTo(init, this.daemonBinary('/sbin/init'), [], o.envs ? INIT_ENV : NO_STRINGS);
    yield this.renameTo(init, 'systemd');
    if (o.kernelThreadRate > 0) {
      this.counts.kernelThreads++;
      yield this.kthreadEvent(KTHREADD, 0, 'kthreadd');
    }
    // Kernel threads of the boot took the first pids.
    this.lastPid = 60 + this.rng.int(200);

    const env = o.envs ? this.envPool[0]! : NO_STRINGS;
    const unitEnv = o.envs ? UNIT_ENV : NO_STRINGS;
    yield* this.daemon(init, '/usr/lib/systemd/systemd-journald', [], '/system.slice/systemd-journald.service', 0, unitEnv);
    const sshd = yield* this.daemon(init, '/usr/sbin/sshd', ['-D'], '/system.slice/ssh.service', 0, unitEnv);
    yield* this.daemon(init, '/usr/sbin/cron', ['-f'], '/system.slice/cron.service', 0, unitEnv);
    if (o.containers > 0) {
      yield* this.daemon(init, '/usr/bin/containerd', [], '/system.slice/containerd.service', 0, unitEnv);
    }
    const runner = yield* this.daemon(
      init, '/opt/actions-runner/bin/Runner.Listener', ['run', '--startuptype', 'service'],
      '/system.slice/actions.runner.service', 1001, env,
    );
    this.roots.push(runner);

    // A login: sshd forks a privileged session process that sets the login
    // uid, which forks the user's shell (setgid, setuid, a tty, exec bash).
    const priv = this.forkChild(sshd);
    priv.daemon = true;
    yield this.forkEvent(this.tick(), priv.cpu, priv);
    yield this.setCreds(priv, { auid: 1000 });
    yield this.renameTo(priv, 'sshd: runner [priv]'.slice(0, 15));
    const bash = this.forkChild(priv);
    bash.daemon = true;
    yield this.forkEvent(this.tick(), bash.cpu, bash);
    yield this.setCreds(bash, { gid: 1000, egid: 1000, fsgid: 1000 });
    yield this.setCreds(bash, { uid: 1000, euid: 1000, fsuid: 1000 });
    bash.tty = 'pts/0'; // TIOCSCTTY: no event; the next exec carries it
    yield this.execTo(bash, this.daemonBinary('/usr/bin/bash'), null, env, Object.freeze(['-bash']));
    this.roots.push(bash);

    // Containers: a shim per container (a child of init), and the
    // container's init, forked straight into the container's cgroup.
    for (let i = 0; i < o.containers; i++) {
      let id = '';
      for (let j = 0; j < 8; j++) id += this.rng.u32().toString(16).padStart(8, '0');
      const shim = yield* this.daemon(
        init, '/usr/bin/containerd-shim-runc-v2', ['-namespace', 'moby', '-id', id, '-address', '/run/containerd/containerd.sock'],
        '/system.slice/containerd.service', 0, unitEnv,
      );
      const cinit = this.forkChild(shim);
      cinit.daemon = true;
      cinit.containerId = id;
      cinit.cgroup = `/system.slice/docker-${id}.scope`;
      // clone(CLONE_NEWPID): pid 1 of a namespace of its own, on the container's root mount
      cinit.ns = { inode: 4026532300 + 16 * i, mountId: 1000 + i, nextPid: 2 };
      cinit.nsPid = 1;
      yield this.forkEvent(this.tick(), cinit.cpu, cinit);
      cinit.reaper = cinit; // the init of the container's pid namespace adopts its orphans
      yield this.execTo(cinit, this.daemonBinary('/usr/bin/dumb-init'), ['--', '/bin/sh', '-c', 'make -j2 ci'], env);
      this.roots.push(cinit);
    }
  }

  private *daemon(
    parent: Proc, path: string, args: string[], cgroup: string, uid = 0, env: readonly string[] = NO_STRINGS,
  ): Generator<PidEvent, Proc> {
    const p = this.forkChild(parent);
    p.daemon = true;
    yield this.forkEvent(this.tick(), p.cpu, p);
    p.cgroup = cgroup; // systemd moves it to its unit's cgroup before exec: no event, the exec carries it
    if (uid !== 0) {
      yield this.setCreds(p, { gid: uid, egid: uid, fsgid: uid });
      yield this.setCreds(p, { uid, euid: uid, fsuid: uid });
    }
    yield this.execTo(p, this.daemonBinary(path), args, env);
    return p;
  }

  /** Binaries of the boot processes, apart from the churn's pool; one inode per path. */
  private daemonBinary(path: string): Binary {
    let bin = this.daemonBins.get(path);
    if (!bin) this.daemonBins.set(path, (bin = makeBinary(path, 9001 + this.daemonBins.size)));
    return bin;
  }

  // ------------------------------------------------------------------
  // Operations

  private tryFork(): PidEvent | null {
    const parent = this.pickParent();
    const pid = this.allocPid();
    if (pid < 0) return null;
    const cpu = this.cpuOf(parent);
    const child = this.forkChild(parent, pid);
    this.fresh.push(child);
    if (this.fresh.length > 64) this.fresh.shift();
    return this.forkEvent(this.tick(), cpu, child);
  }

  /** Creates a live child of `parent` copying its state (fork), with a new pid unless given. */
  private forkChild(parent: Proc, pid = this.allocPid()): Proc {
    const ns = parent.ns;
    const child: Proc = {
      pid, ppid: parent.pid, ns, nsPid: ns === HOST_NS ? pid : ns.nextPid++,
      parent, depth: parent.depth + 1, image: parent.image, comm: parent.comm,
      creds: parent.creds, tty: parent.tty, containerId: parent.containerId, cgroup: parent.cgroup, cpu: parent.cpu,
      reaper: parent.reaper, kids: null, kidAt: -1, liveAt: -1, execd: false, daemon: false,
    };
    this.adopt(parent, child);
    this.addLive(child);
    this.remember(child);
    this.counts.forks++;
    return child;
  }

  private kernelThread(): ForkEvent | null {
    const pid = this.allocPid();
    if (pid < 0) return null;
    this.counts.kernelThreads++;
    // Not tracked: a kernel thread is never emitted again (the caches reject it).
    const n = this.rng.int(8);
    return this.kthreadEvent(pid, KTHREADD, n < 4 ? `kworker/u${2 * this.o.cpus}:${n}` : `kworker/${n & 1}:${n}H`);
  }

  private pickParent(): Proc {
    const rng = this.rng;
    for (let tries = 0; tries < 4; tries++) {
      const u = rng.float();
      const p = u < 0.6 ? this.recentPick() : u < 0.75 ? this.roots[rng.int(this.roots.length)] : this.live[rng.int(this.live.length)];
      if (p && p.liveAt >= 0 && p.depth < this.o.maxDepth) return p;
    }
    return this.roots.length > 0 && this.roots[0]!.depth < this.o.maxDepth ? this.roots[0]! : this.init;
  }

  private tryExec(): ExecEvent | null {
    const rng = this.rng;
    const bomb = rng.float() < this.o.execBombRate;
    let p: Proc | undefined;
    if (bomb) {
      // Re-exec of an exec'd image (a tight `exec "$0"` loop).
      for (let tries = 0; tries < 6 && !p; tries++) {
        const c = tries < 3 ? this.recentPick() : this.live[rng.int(this.live.length)];
        if (c && c.liveAt >= 0 && !c.daemon && c.execd) p = c;
      }
      if (p) {
        this.counts.execBombs++;
        return this.execTo(p, p.image.bin, null, p.image.envp, p.image.argv);
      }
    }
    if (rng.float() < 0.85) {
      while (this.fresh.length > 0) {
        const c = this.fresh.pop()!;
        if (c.liveAt >= 0 && !c.execd) {
          p = c;
          break;
        }
      }
    }
    for (let tries = 0; tries < 4 && !p; tries++) {
      const c = this.live[rng.int(this.live.length)]!;
      if (!c.daemon) p = c;
    }
    if (!p) return null;
    const bin = this.binaries[Math.floor(this.binaries.length * rng.float() ** 2)]!;
    let envp = p.image.envp;
    if (this.o.envs && rng.float() < 0.2) envp = this.envPool[rng.int(this.envPool.length)]!;
    let argv: readonly string[];
    if (bin.lastArgv && rng.float() < 0.25) argv = bin.lastArgv;
    else bin.lastArgv = argv = this.makeArgv(bin);
    return this.execTo(p, bin, null, envp, argv);
  }

  /**
   * The exec: a new image (argv from `args` after argv[0] unless `argv` is
   * given), comm from the path, credentials as the kernel computes them.
   */
  private execTo(
    p: Proc, bin: Binary, args: string[] | null, envp: readonly string[] = NO_STRINGS, argv?: readonly string[],
  ): ExecEvent {
    const time = this.tick();
    const cpu = this.cpuOf(p);
    const prevInode = p.image.bin.inode;
    p.image = {
      bin,
      argv: argv ?? Object.freeze([bin.path, ...(args ?? [])]),
      envp,
      execTime: time,
    };
    p.comm = bin.comm;
    p.creds = execCredentials(p.creds, bin);
    p.execd = true;
    this.remember(p);
    this.counts.execs++;
    const img = p.image;
    const ns = p.ns;
    const cgroupId = this.cgroupId(p.cgroup);
    if (this.o.envs) {
      return {
        type: 'exec', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, prevInode, path: bin.path, inode: bin.inode,
        comm: p.comm, argv: img.argv, argsTruncated: false, envp: img.envp, envsTruncated: false, credentials: p.creds,
        tty: p.tty, containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
        mountId: ns.mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
      };
    }
    return {
      type: 'exec', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, prevInode, path: bin.path, inode: bin.inode,
      comm: p.comm, argv: img.argv, argsTruncated: false, credentials: p.creds, tty: p.tty,
      containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
      mountId: ns.mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
    };
  }

  private tryExit(): PidEvent | null {
    const rng = this.rng;
    let p: Proc | undefined;
    // Leaves first (a compiler finishing), anything but init and daemons at worst.
    for (let tries = 0; tries < 8 && !p; tries++) {
      const c = tries < 3 && rng.float() < 0.7 ? this.recentPick() : this.live[rng.int(this.live.length)];
      if (c && c.liveAt >= 0 && !c.daemon && (tries >= 6 || c.kids === null || c.kids.length === 0)) p = c;
    }
    if (!p) return null;
    const time = this.tick();
    const cpu = this.cpuOf(p);
    const exitCode = rng.float() < 0.9 ? 0 : EXIT_CODES[rng.int(EXIT_CODES.length)]!;
    this.removeLive(p);
    if (p.parent) this.disown(p.parent, p);
    if (p.kids !== null && p.kids.length > 0) {
      // The kernel reparents the orphans to the pid namespace's init (the
      // events follow, before anything else happens on the host).
      this.orphans = p.kids;
      this.orphanAt = 0;
      this.orphanReaper = p.reaper && p.reaper.liveAt >= 0 ? p.reaper : this.init;
      this.orphanCpu = cpu;
      p.kids = null;
    }
    this.counts.exits++;
    const ev: ExitEvent = { type: 'exit', time, cpu, pid: p.pid, pidns: 0, exitCode };
    return ev;
  }

  private reparentNext(): ReparentEvent {
    const child = this.orphans[this.orphanAt++]!;
    const reaper = this.orphanReaper!;
    if (this.orphanAt === this.orphans.length) {
      this.orphans = [];
      this.orphanAt = 0;
    }
    child.parent = null;
    this.adopt(reaper, child);
    child.ppid = reaper.pid;
    this.counts.reparents++;
    return { type: 'reparent', time: this.tick(), cpu: this.orphanCpu, pid: child.pid, pidns: 0, ppid: reaper.pid };
  }

  private creds(): CredsEvent {
    const p = this.anyButInit();
    const c = p.creds;
    const rng = this.rng;
    const u = rng.float();
    if (u < 0.45) {
      // setuid family
      if (c.euid === 0) {
        const id = USERS[rng.int(USERS.length)]!;
        const v = rng.int(3);
        if (v === 0) return this.setCreds(p, { uid: id, euid: id, fsuid: id });
        if (v === 1) return this.setCreds(p, { uid: -1, euid: id, fsuid: id });
        return this.setCreds(p, { uid: -1, euid: -1, fsuid: id });
      }
      // Unprivileged: back to the real uid (dropping a setuid binary's euid).
      return this.setCreds(p, { uid: -1, euid: c.uid, fsuid: c.uid });
    }
    if (u < 0.8) {
      if (c.euid === 0) {
        const id = GROUPS[rng.int(GROUPS.length)]!;
        const v = rng.int(3);
        if (v === 0) return this.setCreds(p, { gid: id, egid: id, fsgid: id });
        if (v === 1) return this.setCreds(p, { gid: -1, egid: id, fsgid: id });
        return this.setCreds(p, { gid: -1, egid: -1, fsgid: id });
      }
      return this.setCreds(p, { gid: -1, egid: c.gid, fsgid: c.gid });
    }
    if (u < 0.95 || c.auid !== UNSET_ID) {
      // capset: a privileged process drops capabilities it does not need.
      const mask = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
      const permitted = rng.float() < 0.5 ? c.capPermitted : c.capPermitted & mask;
      return this.setCreds(p, { capEffective: permitted & (mask >> 7n), capPermitted: permitted });
    }
    return this.setCreds(p, { auid: c.uid }); // pam_loginuid
  }

  /**
   * Applies a setuid/setgid/capset/loginuid style change (-1: unchanged) and
   * returns its event. A uid change also changes the capabilities as the
   * kernel does (cap_emulate_setxuid); the event then carries them too.
   */
  private setCreds(p: Proc, change: Partial<Credentials>): CredsEvent {
    const time = this.tick();
    const cpu = this.cpuOf(p);
    const c = p.creds;
    const pick = (v: number | undefined, old: number) => (v === undefined || v === -1 ? old : v);
    const uid = pick(change.uid, c.uid);
    const euid = pick(change.euid, c.euid);
    let capEffective = change.capEffective ?? c.capEffective;
    let capPermitted = change.capPermitted ?? c.capPermitted;
    let credentials = change;
    if (change.capEffective === undefined && (uid !== c.uid || euid !== c.euid)) {
      if ((c.uid === 0 || c.euid === 0) && uid !== 0 && euid !== 0) capEffective = capPermitted = 0n;
      else if (c.euid === 0 && euid !== 0) capEffective = 0n;
      else if (c.euid !== 0 && euid === 0) capEffective = capPermitted;
      if (capEffective !== c.capEffective || capPermitted !== c.capPermitted) {
        credentials = { ...change, capEffective, capPermitted };
      }
    }
    p.creds = Object.freeze({
      uid,
      gid: pick(change.gid, c.gid),
      euid,
      egid: pick(change.egid, c.egid),
      fsuid: pick(change.fsuid, c.fsuid),
      fsgid: pick(change.fsgid, c.fsgid),
      auid: pick(change.auid, c.auid),
      capEffective,
      capPermitted,
    });
    return { type: 'creds', time, cpu, pid: p.pid, pidns: 0, credentials: Object.freeze(credentials) };
  }

  private rename(): RenameEvent {
    const p = this.anyButInit();
    return this.renameTo(p, RENAMES[this.rng.int(RENAMES.length)]!);
  }

  private renameTo(p: Proc, comm: string): RenameEvent {
    const time = this.tick();
    p.comm = comm;
    return { type: 'rename', time, cpu: this.cpuOf(p), pid: p.pid, pidns: 0, comm };
  }

  // ------------------------------------------------------------------
  // Events

  private forkEvent(time: bigint, cpu: number, p: Proc): ForkEvent {
    const img = p.image;
    const bin = img.bin;
    const ns = p.ns;
    // the mount of the image it runs (pid 1's first image has no file)
    const mountId = bin.path === '' ? 0 : ns.mountId;
    const cgroupId = this.cgroupId(p.cgroup);
    if (this.o.envs) {
      return {
        type: 'fork', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, execTime: img.execTime, path: bin.path,
        inode: bin.inode, comm: p.comm, argv: img.argv, argsTruncated: false, envp: img.envp, envsTruncated: false,
        credentials: p.creds, tty: p.tty, containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
        mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
      };
    }
    return {
      type: 'fork', time, cpu, pid: p.pid, ppid: p.ppid, pidns: 0, execTime: img.execTime, path: bin.path,
      inode: bin.inode, comm: p.comm, argv: img.argv, argsTruncated: false, credentials: p.creds, tty: p.tty,
      containerId: p.containerId, cgroup: p.cgroup, interpreter: bin.interpreter,
      mountId, nsPid: p.nsPid, pidnsInode: ns.inode, cgroupId,
    };
  }

  /** The id of a cgroup path: stable for the stream, new paths numbered in order of first use (no randomness drawn). */
  private cgroupId(path: string): bigint {
    let id = this.cgroupIds.get(path);
    if (id === undefined) this.cgroupIds.set(path, (id = BigInt(2000 + this.cgroupIds.size)));
    return id;
  }

  private kthreadEvent(pid: number, ppid: number, comm: string): ForkEvent {
    return {
      type: 'fork', time: this.tick(), cpu: this.rng.int(this.o.cpus), pid, ppid, pidns: 0, execTime: 0n, path: '',
      inode: 0, comm, argv: NO_STRINGS, argsTruncated: false, credentials: ROOT, tty: '', containerId: '', cgroup: '/',
      interpreter: '', kernelThread: true,
    };
  }

  // ------------------------------------------------------------------
  // Bookkeeping

  /** Like alloc_pid(): the next pid above the last one, wrapping to 300, skipping pids in use; -1 when all are. */
  private allocPid(): number {
    const max = this.o.pidMax;
    let pid = this.lastPid;
    for (let n = 0; n < max; n++) {
      pid++;
      if (pid >= max) pid = RESERVED_PIDS;
      if (this.table[pid] === undefined) {
        this.lastPid = pid;
        return pid;
      }
    }
    return -1;
  }

  /** The CPU a process runs on now; it migrates now and then. */
  private cpuOf(p: Proc): number {
    if (this.o.cpus > 1 && this.rng.float() < 0.1) p.cpu = this.rng.int(this.o.cpus);
    return p.cpu;
  }

  private recentPick(): Proc | null {
    return this.recent[(this.recentAt - 1 - this.rng.int(8)) & 15]!;
  }

  private remember(p: Proc): void {
    this.recent[this.recentAt & 15] = p;
    this.recentAt = (this.recentAt + 1) | 0;
  }

  private anyButInit(): Proc {
    for (let tries = 0; tries < 4; tries++) {
      const p = this.live[this.rng.int(this.live.length)]!;
      if (p !== this.init) return p;
    }
    return this.roots[0] ?? this.init;
  }

  private addLive(p: Proc): void {
    p.liveAt = this.live.length;
    this.live.push(p);
    this.table[p.pid] = p;
  }

  private removeLive(p: Proc): void {
    const last = this.live.pop()!;
    if (last !== p) {
      this.live[p.liveAt] = last;
      last.liveAt = p.liveAt;
    }
    p.liveAt = -1;
    this.table[p.pid] = undefined;
  }

  private adopt(parent: Proc, child: Proc): void {
    const kids = parent.kids ?? (parent.kids = []);
    child.parent = parent;
    child.kidAt = kids.length;
    kids.push(child);
  }

  private disown(parent: Proc, child: Proc): void {
    const kids = parent.kids!;
    const last = kids.pop()!;
    if (last !== child) {
      kids[child.kidAt] = last;
      last.kidAt = child.kidAt;
    }
  }

  // ------------------------------------------------------------------
  // Arguments

  private makeArgv(bin: Binary): readonly string[] {
    const a = this.o.argv;
    const rng = this.rng;
    let argc = a.minArgs + rng.int(a.maxArgs - a.minArgs + 1);
    const argv: string[] = [];
    if (bin.interpreter !== '') {
      // The kernel's shebang handling: interpreter, script path, arguments.
      argv.push(bin.interpreter, bin.path);
      argc = Math.max(argc, 2);
    } else {
      argv.push(rng.float() < 0.5 ? bin.path : bin.comm);
    }
    while (argv.length < argc) argv.push(this.argPool[rng.int(this.argPool.length)]!);
    return Object.freeze(argv);
  }

  /**
   * One argument, compiler-command-line style: a flag, a define, or a source
   * or object path whose length is spread up to maxArgLength (cut there).
   */
  private makeArg(): string {
    const rng = this.rng;
    const max = this.o.argv.maxArgLength;
    const pick = (xs: readonly string[]) => xs[rng.int(xs.length)]!;
    let s: string;
    const k = rng.float();
    if (k < 0.4) s = pick(ARG_FLAGS);
    else if (k < 0.5) s = `-D${pick(ARG_NAMES).toUpperCase()}_${rng.int(100)}=1`;
    else if (k < 0.51) s = `--token=${rng.u32().toString(16)}`;
    else {
      const target = 1 + rng.int(max);
      s = (k < 0.6 ? '-I' : '') + pick(ARG_DIRS);
      while (s.length + 14 < target) s += `/${pick(ARG_DIRS)}`;
      if (k >= 0.6) s += `/${pick(ARG_NAMES)}${pick(ARG_EXTS)}`;
    }
    return s.length > max ? s.slice(0, max) : s;
  }
}

/** Credentials after exec'ing `bin`: set-id bits, fsuid = euid, root's capabilities. */
function execCredentials(c: Readonly<Credentials>, bin: Binary): Readonly<Credentials> {
  const euid = bin.setuidRoot ? 0 : c.euid;
  const egid = bin.setgid >= 0 ? bin.setgid : c.egid;
  const capPermitted = c.uid === 0 || euid === 0 ? CAP_FULL : 0n;
  const capEffective = euid === 0 ? capPermitted : 0n;
  if (
    euid === c.euid && egid === c.egid && c.fsuid === euid && c.fsgid === egid &&
    capPermitted === c.capPermitted && capEffective === c.capEffective
  ) {
    return c;
  }
  return Object.freeze({ ...c, euid, egid, fsuid: euid, fsgid: egid, capEffective, capPermitted });
}

function isPidEvent(e: StreamEvent): e is PidEvent {
  return e.type !== 'lost' && e.type !== 'flush' && e.type !== 'delete';
}

/** Parent pid named by a fork or reparent event (they concern both processes), else -1. */
function otherPid(e: PidEvent): number {
  return e.type === 'fork' || e.type === 'reparent' ? e.ppid : -1;
}

/**
 * Two events a per-CPU ring merge may deliver swapped: different CPUs, no
 * process in common (a fork concerns the child and the parent, which emits
 * it; a reparent the orphan and its new parent).
 */
function swappable(a: PidEvent, b: StreamEvent): boolean {
  if (!isPidEvent(b) || a.cpu === b.cpu || a.pid === b.pid) return false;
  const a2 = otherPid(a);
  const b2 = otherPid(b);
  return a2 !== b.pid && b2 !== a.pid && (a2 < 0 || a2 !== b2);
}

/**
 * The stream after the host: drops with `lost` reports, `flush` ticks, and
 * adjacent swaps. next(left) returns the next event when `left` events are
 * still to be emitted (this one included), so that the drops are all
 * reported and nothing is generated that will not be emitted.
 */
class SyntheticSource {
  readonly total: number;
  private readonly o: Resolved;
  private readonly host: Host;
  /** Drops and swaps draw from their own PRNG streams: the simulation is the same whatever their rates. */
  private readonly dropRng: Sfc32;
  private readonly swapRng: Sfc32;
  /** Time of the last event pulled (before swaps). */
  private last: bigint;
  /** Events dropped on each CPU and not reported yet. */
  private readonly unreported: number[];
  private pendingCpus = 0;
  /** A CPU whose drops are reported by the next event (-1: none). */
  private reportCpu = -1;
  private lost = 0;
  private pulled = 0;
  /** The first event of a swapped pair, emitted next. */
  private held: StreamEvent | null = null;

  constructor(options: SyntheticOptions) {
    this.o = resolveOptions(options);
    this.total = this.o.total;
    this.host = new Host(this.o);
    this.dropRng = new Sfc32(this.o.seed, STREAM_DROP);
    this.swapRng = new Sfc32(this.o.seed, STREAM_SWAP);
    this.last = this.o.startTime - 1n;
    this.unreported = new Array<number>(this.o.cpus).fill(0);
  }

  next(left: number): StreamEvent {
    const held = this.held;
    if (held !== null) {
      this.held = null;
      return held;
    }
    const booting = this.host.booting;
    const a = this.pull(left);
    if (this.o.reorderRate > 0 && left >= 2 && !booting && isPidEvent(a) && this.swapRng.float() < this.o.reorderRate) {
      const b = this.pull(left - 1);
      if (swappable(a, b)) {
        this.held = a;
        return b;
      }
      this.held = b;
    }
    return a;
  }

  private pull(left: number): StreamEvent {
    const index = this.pulled++;
    if (this.pendingCpus > 0 && left <= this.pendingCpus) return this.report(this.unreported.findIndex((n) => n > 0));
    const every = this.o.flushEvery;
    if (every > 0 && (index + 1) % every === 0) {
      const flush: FlushEvent = { type: 'flush', time: ++this.last, cpu: 0 };
      return flush;
    }
    if (this.reportCpu >= 0) {
      const cpu = this.reportCpu;
      this.reportCpu = -1;
      if (this.unreported[cpu]! > 0) return this.report(cpu);
    }
    for (;;) {
      const booting = this.host.booting;
      const ev = this.host.step();
      const u = this.unreported;
      // No drops during boot, nor so near the end that a report could not follow.
      if (this.o.lostRate > 0 && !booting && left > this.o.cpus + 2 && this.dropRng.float() < this.o.lostRate) {
        if (u[ev.cpu]!++ === 0) this.pendingCpus++;
        this.lost++;
        continue;
      }
      // The reader notices a CPU's drops when it reads that CPU's next record.
      if (u[ev.cpu]! > 0) this.reportCpu = ev.cpu;
      this.last = ev.time;
      return ev;
    }
  }

  private report(cpu: number): LostEvent {
    const count = this.unreported[cpu]!;
    this.unreported[cpu] = 0;
    this.pendingCpus--;
    return { type: 'lost', time: ++this.last, cpu, count };
  }

  truth(): SyntheticTruth {
    const live = new Map<number, { ppid: number; path: string; argv: string[]; nsPid: number; pidnsInode: number }>();
    const procs = [...this.host.liveProcs()].sort((x, y) => x.pid - y.pid);
    for (const p of procs) {
      live.set(p.pid, { ppid: p.ppid, path: p.image.bin.path, argv: [...p.image.argv], nsPid: p.nsPid, pidnsInode: p.ns.inode });
    }
    return { live, ...this.host.counts, lost: this.lost };
  }
}
