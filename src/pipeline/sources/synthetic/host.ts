// The simulated host: a ground-truth process table (pid -> parent, image,
// credentials, tty, container, cgroup, CPU), pid allocation like the kernel's,
// a boot sequence (init, daemons, a login, containers), then process churn.
// Each step() applies one operation to the host and returns the event the
// kernel would emit for it (docs/synthetic.md).

import type {
  CredsEvent,
  Credentials,
  ExecEvent,
  ExitEvent,
  ForkEvent,
  RenameEvent,
  ReparentEvent,
} from '../../../record/events.js';
import { ArgvMaker } from './argv.js';
import {
  BINARY_TABLE,
  ENV_ITEMS,
  EXIT_CODES,
  GROUPS,
  INIT_ENV,
  makeBinary,
  RENAMES,
  UNIT_ENV,
  USERS,
} from './catalogue.js';
import * as emit from './emit.js';
import {
  execCredentials,
  HOST_NS,
  NO_STRINGS,
  ROOT,
  UNSET_ID,
  type Binary,
  type Image,
  type PidEvent,
  type Proc,
} from './model.js';
import type { ResolvedOptions } from './options.js';
import { PidTable } from './pids.js';
import { Sfc32 } from './prng.js';

const KTHREADD = 2;
/**
 * Least spacing of simulated events, ns. Between two of them the stream puts
 * at most 3 events of its own (flush, lost report, flush), 1 ns apart.
 */
const MIN_SPACING = 4;

/**
 * The simulation: one call of step() applies one operation to the ground
 * truth and returns the event the kernel would emit for it.
 */
export class Host {
  private readonly rng: Sfc32;
  private readonly o: ResolvedOptions;
  /** The live processes and the pid allocator. */
  private readonly pids: PidTable;
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
  private readonly argvs: ArgvMaker;
  private readonly envPool: (readonly string[])[] = [];
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

  constructor(o: ResolvedOptions) {
    this.o = o;
    this.rng = new Sfc32(o.seed);
    this.pids = new PidTable(o.pidMax);
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
    this.argvs = new ArgvMaker(this.rng, o.argv);
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
    if (this.pids.live.length >= this.o.maxLive) return this.tryExit() ?? this.rename();
    return this.tryFork() ?? this.tryExit() ?? this.rename();
  }

  liveProcs(): readonly Proc[] {
    return this.pids.live;
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
    this.pids.add(init);
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
    this.pids.last = 60 + this.rng.int(200);

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
    const pid = this.pids.alloc();
    if (pid < 0) return null;
    const cpu = this.cpuOf(parent);
    const child = this.forkChild(parent, pid);
    this.fresh.push(child);
    if (this.fresh.length > 64) this.fresh.shift();
    return this.forkEvent(this.tick(), cpu, child);
  }

  /** Creates a live child of `parent` copying its state (fork), with a new pid unless given. */
  private forkChild(parent: Proc, pid = this.pids.alloc()): Proc {
    const ns = parent.ns;
    const child: Proc = {
      pid, ppid: parent.pid, ns, nsPid: ns === HOST_NS ? pid : ns.nextPid++,
      parent, depth: parent.depth + 1, image: parent.image, comm: parent.comm,
      creds: parent.creds, tty: parent.tty, containerId: parent.containerId, cgroup: parent.cgroup, cpu: parent.cpu,
      reaper: parent.reaper, kids: null, kidAt: -1, liveAt: -1, execd: false, daemon: false,
    };
    this.adopt(parent, child);
    this.pids.add(child);
    this.remember(child);
    this.counts.forks++;
    return child;
  }

  private kernelThread(): ForkEvent | null {
    const pid = this.pids.alloc();
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
      const p = u < 0.6 ? this.recentPick() : u < 0.75 ? this.roots[rng.int(this.roots.length)] : this.pids.live[rng.int(this.pids.live.length)];
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
        const c = tries < 3 ? this.recentPick() : this.pids.live[rng.int(this.pids.live.length)];
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
      const c = this.pids.live[rng.int(this.pids.live.length)]!;
      if (!c.daemon) p = c;
    }
    if (!p) return null;
    const bin = this.binaries[Math.floor(this.binaries.length * rng.float() ** 2)]!;
    let envp = p.image.envp;
    if (this.o.envs && rng.float() < 0.2) envp = this.envPool[rng.int(this.envPool.length)]!;
    let argv: readonly string[];
    if (bin.lastArgv && rng.float() < 0.25) argv = bin.lastArgv;
    else bin.lastArgv = argv = this.argvs.argv(bin);
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
    return emit.execEvent(time, cpu, p, prevInode, this.cgroupId(p.cgroup), this.o.envs);
  }

  private tryExit(): PidEvent | null {
    const rng = this.rng;
    let p: Proc | undefined;
    // Leaves first (a compiler finishing), anything but init and daemons at worst.
    for (let tries = 0; tries < 8 && !p; tries++) {
      const c = tries < 3 && rng.float() < 0.7 ? this.recentPick() : this.pids.live[rng.int(this.pids.live.length)];
      if (c && c.liveAt >= 0 && !c.daemon && (tries >= 6 || c.kids === null || c.kids.length === 0)) p = c;
    }
    if (!p) return null;
    const time = this.tick();
    const cpu = this.cpuOf(p);
    const exitCode = rng.float() < 0.9 ? 0 : EXIT_CODES[rng.int(EXIT_CODES.length)]!;
    this.pids.remove(p);
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
    return emit.forkEvent(time, cpu, p, this.cgroupId(p.cgroup), this.o.envs);
  }

  /** The id of a cgroup path: stable for the stream, new paths numbered in order of first use (no randomness drawn). */
  private cgroupId(path: string): bigint {
    let id = this.cgroupIds.get(path);
    if (id === undefined) this.cgroupIds.set(path, (id = BigInt(2000 + this.cgroupIds.size)));
    return id;
  }

  private kthreadEvent(pid: number, ppid: number, comm: string): ForkEvent {
    return emit.kthreadEvent(this.tick(), this.rng.int(this.o.cpus), pid, ppid, comm);
  }

  // ------------------------------------------------------------------
  // Bookkeeping

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
      const p = this.pids.live[this.rng.int(this.pids.live.length)]!;
      if (p !== this.init) return p;
    }
    return this.roots[0] ?? this.init;
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
}
