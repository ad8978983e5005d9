// The synthetic source: determinism, exact counts, and — by replaying each
// stream into a small model of the host — that every event is one a kernel
// tracer could have emitted for the simulated host: forks carry their
// parent's current image, execs the image they replace, drops are all
// reported, swaps only between CPUs. Then a stream applied to ProcessResolver
// must resolve every live process of the ground truth.

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/index.js';
import type { Credentials } from '../../src/record/events.js';
import type { StreamEvent } from '../../src/record/events.js';
import { STANDARD_MIX, type SyntheticOptions } from '../../src/pipeline/sources/synthetic/options.js';
import { syntheticEvents, syntheticStream, syntheticWithTruth } from '../../src/pipeline/sources/synthetic/stream.js';

const CRED_FIELDS = ['uid', 'gid', 'euid', 'egid', 'fsuid', 'fsgid', 'auid', 'capEffective', 'capPermitted'] as const;
const SHIM = '/usr/bin/containerd-shim-runc-v2';

interface ModelProc {
  ppid: number;
  path: string;
  inode: number;
  comm: string;
  argv: readonly unknown[];
  envp: readonly unknown[] | undefined;
  credentials: Credentials;
  tty: string;
  containerId: string;
  cgroup: string;
  interpreter: string;
  execTime: bigint;
}

interface ReplayStats {
  forks: number;
  execs: number;
  exits: number;
  pidReuses: number;
  execBombs: number;
  maxDepth: number;
  maxLive: number;
  containerForks: number;
}

/** Throws (once, with the position) when the stream contradicts the model: plain checks, fast on long streams. */
function check(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

function sameCredentials(a: Partial<Credentials>, b: Partial<Credentials>): boolean {
  for (const f of CRED_FIELDS) if (a[f] !== b[f]) return false;
  return true;
}

/**
 * Replays a lossless, unswapped stream into a model of the host, checking
 * each event against it; returns the model at the end and what was seen.
 */
function replay(events: readonly StreamEvent[]): { model: Map<number, ModelProc>; stats: ReplayStats } {
  const model = new Map<number, ModelProc>();
  const seen = new Set<number>();
  const stats: ReplayStats = {
    forks: 0, execs: 0, exits: 0, pidReuses: 0, execBombs: 0, maxDepth: 0, maxLive: 0, containerForks: 0,
  };
  const depth = (pid: number): number => {
    let d = 0;
    for (let p = model.get(pid); p && p.ppid !== 0; p = model.get(p.ppid)) d++;
    return d;
  };
  events.forEach((ev, i) => {
    const at = (what: string) => () => `event ${i} (${JSON.stringify(ev, big)}): ${what}`;
    switch (ev.type) {
      case 'fork': {
        if (ev.kernelThread) return;
        check(!model.has(ev.pid), at('a live pid was given again'));
        if (seen.has(ev.pid)) stats.pidReuses++;
        seen.add(ev.pid);
        const p = model.get(ev.ppid);
        if (ev.pid === 1) {
          check(ev.ppid === 0, at('init has ppid 0'));
        } else {
          check(p !== undefined, at(`parent ${ev.ppid} is not live`));
          check(ev.path === p!.path && ev.inode === p!.inode, at('path and inode are the parent\'s'));
          check(ev.comm === p!.comm, at(`comm is the parent's (${p!.comm})`));
          check(ev.argv === p!.argv, at('argv is the parent\'s image\'s array'));
          check(ev.envp === p!.envp, at('envp is the parent\'s'));
          check(sameCredentials(ev.credentials!, p!.credentials), at('credentials are the parent\'s'));
          check(ev.tty === p!.tty && ev.interpreter === p!.interpreter, at('tty and interpreter are the parent\'s'));
          check(ev.execTime === p!.execTime, at(`execTime is the parent's (${p!.execTime})`));
          if (p!.path === SHIM) stats.containerForks++;
          else check(ev.containerId === p!.containerId && ev.cgroup === p!.cgroup, at('container inherited'));
        }
        model.set(ev.pid, {
          ppid: ev.ppid, path: ev.path as string, inode: ev.inode, comm: ev.comm as string, argv: ev.argv!,
          envp: ev.envp, credentials: ev.credentials as Credentials, tty: ev.tty!, containerId: ev.containerId!,
          cgroup: ev.cgroup!, interpreter: ev.interpreter as string, execTime: ev.execTime,
        });
        stats.forks++;
        stats.maxDepth = Math.max(stats.maxDepth, depth(ev.pid));
        stats.maxLive = Math.max(stats.maxLive, model.size);
        return;
      }
      case 'exec': {
        const c = model.get(ev.pid);
        check(c !== undefined, at('exec of a pid that is not live'));
        check(ev.prevInode === c!.inode, at(`prevInode is the running image's (${c!.inode})`));
        check(ev.ppid === c!.ppid, at(`ppid is ${c!.ppid}`));
        check(ev.containerId === c!.containerId, at('exec keeps the container'));
        const path = ev.path as string;
        check(ev.comm === path.slice(path.lastIndexOf('/') + 1).slice(0, 15), at('comm is the basename cut to 15'));
        check(ev.time > c!.execTime, at('exec after the previous one'));
        if (path === c!.path && ev.argv === c!.argv && ev.envp === c!.envp && sameCredentials(ev.credentials!, c!.credentials)) {
          stats.execBombs++;
        }
        model.set(ev.pid, {
          ...c!, path, inode: ev.inode, comm: ev.comm as string, argv: ev.argv!, envp: ev.envp,
          credentials: ev.credentials as Credentials, tty: ev.tty!, cgroup: ev.cgroup!,
          interpreter: ev.interpreter as string, execTime: ev.time,
        });
        stats.execs++;
        return;
      }
      case 'exit':
        check(model.has(ev.pid) && ev.pid !== 1, at('exit of a live pid other than init'));
        model.delete(ev.pid);
        stats.exits++;
        return;
      case 'creds': {
        const c = model.get(ev.pid);
        check(c !== undefined, at('not live'));
        const next = { ...c!.credentials } as Record<string, number | bigint>;
        for (const [k, v] of Object.entries(ev.credentials)) if (v !== -1 && v !== -1n) next[k] = v as number | bigint;
        c!.credentials = next as unknown as Credentials;
        return;
      }
      case 'rename':
        check(model.has(ev.pid), at('not live'));
        model.get(ev.pid)!.comm = ev.comm as string;
        return;
      case 'reparent':
        check(model.has(ev.pid) && model.has(ev.ppid), at('orphan and new parent live'));
        model.get(ev.pid)!.ppid = ev.ppid;
        return;
      case 'flush':
      case 'lost':
        return;
      default:
        throw new Error(`unexpected ${ev.type}`);
    }
  });
  return { model, stats };
}

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/** Pids an event concerns: its pid, and the parent named by a fork or reparent. */
function pidsOf(ev: StreamEvent): number[] {
  if (ev.type === 'fork' || ev.type === 'reparent') return [ev.pid, ev.ppid];
  return 'pid' in ev ? [ev.pid] : [];
}

function countTypes(events: readonly StreamEvent[]): Record<string, number> {
  const n: Record<string, number> = {};
  for (const e of events) n[e.type] = (n[e.type] ?? 0) + 1;
  return n;
}

describe('synthetic source', () => {
  it('gives the same stream for the same options and another for another seed', () => {
    const a = syntheticStream({ seed: 7, events: 20_000, envs: true, lostRate: 0.05, reorderRate: 0.1 });
    const b = syntheticStream({ seed: 7, events: 20_000, envs: true, lostRate: 0.05, reorderRate: 0.1 });
    expect(b).toEqual(a);
    const c = syntheticStream({ seed: 8, events: 20_000, envs: true, lostRate: 0.05, reorderRate: 0.1 });
    expect(c).not.toEqual(a);
    expect([...syntheticEvents({ seed: 7, events: 20_000, envs: true, lostRate: 0.05, reorderRate: 0.1 })]).toEqual(a);
  });

  it('emits exactly `events` events, whatever the options', () => {
    for (const events of [0, 1, 2, 5, 37, 1000, 12_345]) {
      expect(syntheticStream({ seed: 1, events })).toHaveLength(events);
      expect(syntheticStream({ seed: 1, events, lostRate: 0.3, reorderRate: 0.3, flushEvery: 7, cpus: 4 })).toHaveLength(events);
      let n = 0;
      for (const _ of syntheticEvents({ seed: 2, events, lostRate: 0.5, kernelThreadRate: 0.1 })) n++;
      expect(n).toBe(events);
    }
  });

  it('boots like a host: pid 1 forked by the kernel at startTime, exec of /sbin/init, daemons, then strictly increasing times', () => {
    const events = syntheticStream({ seed: 3, events: 50_000, startTime: 5_000_000_000n });
    const [fork, exec] = events;
    expect(fork).toMatchObject({ type: 'fork', pid: 1, ppid: 0, time: 5_000_000_000n });
    expect(exec).toMatchObject({ type: 'exec', pid: 1, path: '/sbin/init', comm: 'init', argv: ['/sbin/init'] });
    const paths = new Set(events.filter((e) => e.type === 'exec').map((e) => (e as { path: string }).path));
    for (const p of ['/usr/sbin/sshd', SHIM, '/usr/bin/bash']) expect(paths).toContain(p);
    for (let i = 1; i < events.length; i++) expect(events[i]!.time > events[i - 1]!.time).toBe(true);
    const rate = Number(events.at(-1)!.time - events[0]!.time) / events.length;
    expect(rate).toBeGreaterThan(900); // 1M events/s by default: ~1000 ns apart
    expect(rate).toBeLessThan(1100);
  });

  it('replays consistently: forks carry the live parent\'s current image, execs the image they replace; the truth matches', () => {
    for (const opts of [
      { seed: 11, events: 60_000 },
      { seed: 12, events: 30_000, envs: true, cpus: 4, containers: 2 },
      { seed: 13, events: 30_000, mix: { fork: 40, exec: 20, exit: 20, creds: 10, rename: 10 }, maxLive: 300 },
    ] satisfies SyntheticOptions[]) {
      const { events, truth } = syntheticWithTruth(opts);
      const { model, stats } = replay(events);
      expect(stats.forks).toBe(truth.forks);
      expect(stats.execs).toBe(truth.execs);
      expect(stats.exits).toBe(truth.exits);
      expect(stats.maxDepth).toBeLessThanOrEqual(STANDARD_MIX.maxDepth);
      expect(stats.maxDepth).toBeGreaterThanOrEqual(8); // deep trees, not a flat fan-out
      expect(stats.maxLive).toBeLessThanOrEqual(opts.maxLive ?? STANDARD_MIX.maxLive);
      expect([...model.keys()].sort((a, b) => a - b)).toEqual([...truth.live.keys()]);
      for (const [pid, t] of truth.live) {
        const m = model.get(pid)!;
        expect({ ppid: m.ppid, path: m.path, argv: m.argv }, `pid ${pid}`).toEqual({ ppid: t.ppid, path: t.path, argv: t.argv });
      }
    }
  });

  it('keeps the standard mix: about 30/30/30/5/5, deep trees, argv of 1-12 arguments of up to 40 bytes', () => {
    const { events, truth } = syntheticWithTruth({ seed: 21, events: 100_000 });
    const n = countTypes(events);
    const ops = n.fork! + n.exec! + n.exit! + n.creds! + n.rename!;
    expect(n.fork! / ops).toBeCloseTo(0.3, 1);
    expect(n.exec! / ops).toBeCloseTo(0.3, 1);
    expect(n.exit! / ops).toBeCloseTo(0.3, 1);
    expect(n.creds! / ops).toBeCloseTo(0.05, 1);
    expect(n.rename! / ops).toBeCloseTo(0.05, 1);
    expect(truth.reparents).toBe(n.reparent ?? 0);
    const paths = new Set<string>();
    for (const e of events) {
      if (e.type !== 'exec' || (e.path as string).startsWith('/usr/bin/containerd')) continue;
      paths.add(e.path as string);
      const args = e.argv!.slice(e.interpreter ? 2 : 1) as string[];
      check(e.argv!.length >= 1 && e.argv!.length <= 12, () => `argc of ${JSON.stringify(e.argv)}`);
      for (const a of args) check(Buffer.byteLength(a) <= 40, () => `argument ${a}`);
    }
    expect(paths.size).toBeGreaterThan(40);
    expect(paths.size).toBeLessThanOrEqual(64 + 10); // the pool and the boot's binaries
    // Execs mostly right after their fork (shell -> fork -> exec compiler).
    let afterFork = 0;
    const forked = new Set<number>();
    for (const e of events) {
      if (e.type === 'fork') forked.add(e.pid);
      else if (e.type === 'exec' && forked.delete(e.pid)) afterFork++;
      else if (e.type === 'exit') forked.delete(e.pid);
    }
    expect(afterFork / n.exec!).toBeGreaterThan(0.6);
  });

  it('reuses pids with a small pidMax: allocation wraps back to 300, never past pidMax', () => {
    const events = syntheticStream({ seed: 5, events: 40_000, pidMax: 1000, maxLive: 300 });
    const { stats } = replay(events);
    expect(stats.pidReuses).toBeGreaterThan(1000);
    for (const e of events) {
      if ('pid' in e) {
        expect(e.pid).toBeLessThan(1000);
        expect(e.pid).toBeGreaterThan(0);
      }
    }
    // Wrapped: some fork after the first wrap takes a pid in 300..400.
    const forks = events.filter((e) => e.type === 'fork').map((e) => (e as { pid: number }).pid);
    const top = forks.indexOf(999);
    expect(top).toBeGreaterThan(0);
    expect(forks.slice(top + 1).some((p) => p >= 300 && p < 400)).toBe(true);
    expect(forks.slice(top + 1).every((p) => p >= 300)).toBe(true);
  });

  it('emits exec bombs (re-exec of the same path, argv, envp, credentials) at execBombRate', () => {
    const { events, truth } = syntheticWithTruth({ seed: 6, events: 40_000, execBombRate: 0.2, envs: true });
    const { stats } = replay(events);
    expect(truth.execBombs / truth.execs).toBeGreaterThan(0.15);
    expect(stats.execBombs).toBeGreaterThanOrEqual(truth.execBombs);
    const few = replay(syntheticStream({ seed: 6, events: 40_000 })).stats;
    expect(few.execBombs / few.execs).toBeLessThan(0.05);
  });

  it('reports every drop: the lost counts sum to the events dropped, per CPU, after the drops', () => {
    const opts = { seed: 9, events: 50_000, lostRate: 0.1, cpus: 4 };
    const { events, truth } = syntheticWithTruth(opts);
    let sum = 0;
    for (const e of events) if (e.type === 'lost') sum += e.count;
    expect(truth.lost).toBeGreaterThan(3000);
    expect(sum).toBe(truth.lost);
    // The same simulation without drops: the lossy stream's process events
    // are its events minus the dropped ones, in order.
    const lossless = syntheticStream({ ...opts, lostRate: 0, events: 60_000 }).filter((e) => 'pid' in e);
    const kept = events.filter((e) => 'pid' in e);
    let j = 0;
    let dropped = 0;
    const droppedPerCpu = [0, 0, 0, 0];
    const reportedPerCpu = [0, 0, 0, 0];
    let k = 0;
    for (const e of kept) {
      while (lossless[j]!.time !== e.time) {
        droppedPerCpu[lossless[j]!.cpu]!++;
        dropped++;
        j++;
      }
      check(JSON.stringify(lossless[j], big) === JSON.stringify(e, big), () => `kept event ${e.time} differs`);
      j++;
      // Reports seen so far never exceed the drops so far (reported later, not before).
      for (; k < events.length && events[k] !== e; k++) {
        const r = events[k]!;
        if (r.type === 'lost') reportedPerCpu[r.cpu]! += r.count;
      }
      for (let c = 0; c < 4; c++) check(reportedPerCpu[c]! <= droppedPerCpu[c]!, () => `cpu ${c} reported early`);
    }
    expect(dropped).toBeLessThanOrEqual(truth.lost);
    expect(dropped / (dropped + kept.length)).toBeCloseTo(0.1, 1);
  });

  it('swaps some adjacent events of different CPUs, never two of the same process, and changes no time', () => {
    const opts = { seed: 10, events: 50_000, reorderRate: 0.2, cpus: 2 };
    const swapped = syntheticStream(opts);
    const inOrder = syntheticStream({ ...opts, reorderRate: 0 });
    let inversions = 0;
    for (let i = 1; i < swapped.length; i++) {
      const a = swapped[i - 1]!;
      const b = swapped[i]!;
      if (b.time > a.time) continue;
      inversions++;
      expect(a.cpu).not.toBe(b.cpu);
      const pa = pidsOf(a);
      for (const p of pidsOf(b)) expect(pa).not.toContain(p);
      expect(pa.length).toBeGreaterThan(0);
    }
    expect(inversions).toBeGreaterThan(1000);
    // A permutation of the same events: sorting by time gives the unswapped stream.
    expect([...swapped].sort((a, b) => (a.time < b.time ? -1 : 1))).toEqual(inOrder);
  });

  it('puts a flush at every flushEvery-th position, whatever else happens', () => {
    for (const opts of [
      { seed: 1, events: 10_050, flushEvery: 100 },
      { seed: 2, events: 10_050, flushEvery: 100, lostRate: 0.2, reorderRate: 0.3 },
      { seed: 3, events: 3_000, flushEvery: 2 },
    ]) {
      const events = syntheticStream(opts);
      events.forEach((e, i) => expect(e.type === 'flush', `position ${i}`).toBe((i + 1) % opts.flushEvery === 0));
    }
    expect(syntheticStream({ seed: 1, events: 5000, flushEvery: 0 }).some((e) => e.type === 'flush')).toBe(false);
    expect(syntheticStream({ seed: 1, events: 5000 }).filter((e) => e.type === 'flush')).toHaveLength(5);
  });

  it('puts processes in containers: children inherit the container id and cgroup', () => {
    const events = syntheticStream({ seed: 4, events: 40_000, containers: 3 });
    const { stats } = replay(events); // checks that every other fork inherits
    expect(stats.containerForks).toBeGreaterThanOrEqual(3);
    const ids = new Set<string>();
    let inContainers = 0;
    for (const e of events) {
      if (e.type !== 'fork' || !e.containerId) continue;
      ids.add(e.containerId);
      expect(e.cgroup).toBe(`/system.slice/docker-${e.containerId}.scope`);
      inContainers++;
    }
    expect(ids.size).toBe(3);
    expect(inContainers).toBeGreaterThan(1000);
    const none = syntheticStream({ seed: 4, events: 10_000, containers: 0 });
    expect(none.some((e) => (e.type === 'fork' || e.type === 'exec') && e.containerId !== '')).toBe(false);
  });

  it('emits nothing for pid 0 or kernel threads, unless kernelThreadRate asks for rejected-looking forks', () => {
    const isKernel = (e: StreamEvent) =>
      ('pid' in e && (e.pid === 0 || e.pid === 2)) || (e.type === 'fork' && (e.ppid === 2 || e.kernelThread === true));
    expect(syntheticStream({ seed: 8, events: 30_000, lostRate: 0.1 }).some(isKernel)).toBe(false);
    const { events, truth } = syntheticWithTruth({ seed: 8, events: 30_000, kernelThreadRate: 0.05 });
    const kernel = events.filter(isKernel);
    expect(kernel.length).toBe(truth.kernelThreads);
    expect(kernel.length).toBeGreaterThan(100);
    for (const e of kernel) {
      expect(e).toMatchObject({ type: 'fork', kernelThread: true });
      expect([0, 2]).toContain((e as { ppid: number }).ppid);
    }
    const r = new ProcessResolver();
    for (const e of kernel) expect(r.addForkEntry(e as never)).toBeUndefined();
  });

  it('gives full credentials (all 9 fields) in every fork and exec; creds events are partial, -1 for unchanged', () => {
    const events = syntheticStream({ seed: 14, events: 40_000, envs: true });
    let capsets = 0;
    let unchanged = 0;
    for (const e of events) {
      if (e.type === 'fork' || e.type === 'exec') {
        const c = e.credentials!;
        check(Object.keys(c).length === 9, () => `credentials of ${e.type} ${e.pid}: ${JSON.stringify(c, big)}`);
        for (const f of CRED_FIELDS) check((c[f] ?? -1) >= 0, () => `${f} of ${e.type} ${e.pid}`);
        if (e.pid !== 1 || e.type === 'exec') check(e.envp!.length > 0, () => `envp of ${e.type} ${e.pid}`);
        for (const kv of e.envp!) check(/^[A-Z_]+=/.test(kv as string), () => `env item ${String(kv)}`);
      } else if (e.type === 'creds') {
        const keys = Object.keys(e.credentials);
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.length).toBeLessThan(9);
        if ('capEffective' in e.credentials) capsets++;
        if (Object.values(e.credentials).includes(-1)) unchanged++;
      }
    }
    expect(capsets).toBeGreaterThan(20);
    expect(unchanged).toBeGreaterThan(20);
    // A setuid binary: sudo gives euid 0 (and root's capabilities) to a user's process.
    const sudo = events.find(
      (e) => e.type === 'exec' && e.path === '/usr/bin/sudo' && e.credentials!.uid !== 0,
    ) as { credentials: Credentials } | undefined;
    expect(sudo?.credentials).toMatchObject({ euid: 0, fsuid: 0, capEffective: (1n << 41n) - 1n });
  });

  it('rejects bad options with an error naming the option', () => {
    expect(() => syntheticStream({ seed: 1.5, events: 1 })).toThrow(/seed/);
    expect(() => syntheticStream({ seed: 1, events: -1 })).toThrow(/events/);
    expect(() => syntheticStream({ seed: 1, events: 1, lostRate: 2 })).toThrow(/lostRate/);
    expect(() => syntheticStream({ seed: 1, events: 1, pidMax: 100 })).toThrow(/pidMax/);
    expect(() => syntheticStream({ seed: 1, events: 1, mix: { fork: 0, exec: 0, exit: 0, creds: 0, rename: 0 } })).toThrow(/mix/);
    expect(() => syntheticStream({ seed: 1, events: 1, argv: { minArgs: 3, maxArgs: 2, maxArgLength: 4 } })).toThrow(/maxArgs/);
  });

  it('feeds ProcessResolver: every process live in the truth resolves to its path, argv, parent, pid namespace and pid there', () => {
    for (const [opts, resolverOptions] of [
      [{ seed: 31, events: 50_000 }, { capacity: 65536 }],
      [{ seed: 32, events: 50_000, pidMax: 2000, maxLive: 500, envs: true }, { capacity: 65536, exitedRetention: 2_000_000n }],
    ] as const) {
      const { events, truth } = syntheticWithTruth(opts);
      const r = new ProcessResolver(resolverOptions);
      for (const ev of events) {
        switch (ev.type) {
          case 'fork':
            r.addForkEntry(ev);
            break;
          case 'exec':
            // ExecEvent.path is optional (ProcessImage), ExecInput.path is not; the source always gives it.
            r.addExecEntry({ ...ev, path: ev.path ?? '' });
            break;
          case 'exit':
            r.applyExitEntry(ev);
            break;
          case 'creds': {
            const c = ev.credentials;
            if (c.uid !== undefined || c.euid !== undefined || c.fsuid !== undefined) {
              r.updateUid(ev.pid, { uid: c.uid, euid: c.euid, fsuid: c.fsuid });
            }
            if (c.gid !== undefined || c.egid !== undefined || c.fsgid !== undefined) {
              r.updateGid(ev.pid, { gid: c.gid, egid: c.egid, fsgid: c.fsgid });
            }
            if (c.capEffective !== undefined || c.capPermitted !== undefined) {
              r.updateCapset(ev.pid, { effective: c.capEffective, permitted: c.capPermitted });
            }
            if (c.auid !== undefined) r.updateLoginUid(ev.pid, c.auid);
            break;
          }
          case 'reparent':
            r.tryReparentFromKernelPPid(ev.pid, ev.ppid);
            break;
          case 'flush':
            r.dequeueExited(ev.time);
            break;
          case 'delete':
            r.deleteEntry(ev.pid, ev.time);
            break;
          default:
            break;
        }
      }
      let namespaced = 0;
      for (const [pid, t] of truth.live) {
        const e = r.resolve(pid);
        expect(e, `pid ${pid}`).toBeDefined();
        const ns = e!.namespaces;
        expect({ ppid: e!.ppid, path: e!.path, argv: e!.argv, nsPid: ns.nsPid, pidnsInode: ns.pidnsInode }, `pid ${pid}`).toEqual(t);
        expect(e!.exitTime).toBe(0n);
        expect(ns.cgroupId).toBeGreaterThan(0n);
        if (t.nsPid !== pid) namespaced++;
      }
      expect(namespaced).toBeGreaterThan(0); // container processes: their own pid namespace
      const stats = r.stats();
      expect(stats.rejected).toMatchObject({ tableFull: 0, kernelThread: 0, pid0: 0 });
      expect(stats.exitMisses).toBe(0);
      expect(stats.updateMisses).toBe(0);
      expect(stats.inodeErrors).toEqual({ forkInodeMismatch: 0, execPrevInodeMismatch: 0 });
      expect(stats.execBombs).toBeGreaterThan(0);
      expect(stats.reparent).toMatchObject({ failed: 0 });
      expect(stats.reparent.success).toBeGreaterThan(0);
    }
  });

  it('generates fast (a sanity log, not a timing assertion)', () => {
    const n = 1_000_000;
    const t0 = performance.now();
    let count = 0;
    for (const _ of syntheticEvents({ seed: 99, events: n })) count++;
    const ms = performance.now() - t0;
    console.log(`synthetic: ${count} events in ${ms.toFixed(0)} ms = ${((count / ms) * 1000 / 1e6).toFixed(2)}M events/s`);
    expect(count).toBe(n);
  });
});
