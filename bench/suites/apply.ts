// Apply cost per event type, through ProcessResolver's public API and
// through the naive resolver, on a cache populated from the standard stream.
//
// Each case times a batch of BATCH events of one type; the untimed prepare
// step undoes the previous batch and sets up what the next one needs (the
// children an exec or an exit applies to), with fresh event times, so every
// batch meets the same state. Forks come from running parents of the stream;
// execs carry the stream's paths and argv; credential changes are the
// stream's, applied to running processes.

import type { ExecInput, ExitInput, ForkInput, ProcessResolver } from '../../src/index.js';
import { credsOp, OP_CREDS, toOps, type Op } from '../lib/ops.js';
import { credsTemplates, execTemplates, lastTime, populate, prng } from '../lib/populate.js';
import { modeStream } from '../lib/stream.js';
import type { BenchCase, BenchSuite, Contender } from '../lib/suite.js';
import type { NaiveResolver } from '../naive-resolver.js';

const BATCH = 5000;
/** Pids of the batch processes: above anything the stream uses (pid_max is 4194304). */
const PID_BASE = 4_000_000;

type Target = ProcessResolver | NaiveResolver;

interface Inputs {
  forks: ForkInput[];
  execs: ExecInput[];
  exits: ExitInput[];
  creds: Op[];
}

const KINDS = ['fork', 'exec', 'exit', 'creds'] as const;
type Kind = (typeof KINDS)[number];
type Batches<R> = Record<Kind, (r: R, inp: Inputs) => number>;

// The timed loops, written once per resolver class so that every call site
// in them sees one receiver class (see lib/ops.ts).
const forklineBatches: Batches<ProcessResolver> = {
  fork(r, inp) {
    let n = 0;
    for (const f of inp.forks) if (r.addForkEntry(f) !== undefined) n++;
    return n;
  },
  exec(r, inp) {
    let n = 0;
    for (const x of inp.execs) if (r.addExecEntry(x) !== undefined) n++;
    return n;
  },
  exit(r, inp) {
    let n = 0;
    for (const x of inp.exits) if (r.applyExitEntry(x)) n++;
    return n;
  },
  creds(r, inp) {
    let n = 0;
    for (const o of inp.creds) {
      if (o.uid !== undefined && r.updateUid(o.pid, o.uid)) n++;
      if (o.gid !== undefined && r.updateGid(o.pid, o.gid)) n++;
      if (o.caps !== undefined && r.updateCapset(o.pid, o.caps)) n++;
      if (o.auid !== -1 && r.updateLoginUid(o.pid, o.auid)) n++;
    }
    return n;
  },
};

const naiveBatches: Batches<NaiveResolver> = {
  fork(r, inp) {
    let n = 0;
    for (const f of inp.forks) if (r.addForkEntry(f) !== undefined) n++;
    return n;
  },
  exec(r, inp) {
    let n = 0;
    for (const x of inp.execs) if (r.addExecEntry(x) !== undefined) n++;
    return n;
  },
  exit(r, inp) {
    let n = 0;
    for (const x of inp.exits) if (r.applyExitEntry(x)) n++;
    return n;
  },
  creds(r, inp) {
    let n = 0;
    for (const o of inp.creds) {
      if (o.uid !== undefined && r.updateUid(o.pid, o.uid)) n++;
      if (o.gid !== undefined && r.updateGid(o.pid, o.gid)) n++;
      if (o.caps !== undefined && r.updateCapset(o.pid, o.caps)) n++;
      if (o.auid !== -1 && r.updateLoginUid(o.pid, o.auid)) n++;
    }
    return n;
  },
};

const suite: BenchSuite = {
  name: 'apply',
  order: 10,
  unit: 'events',
  description:
    'per event type (fork, exec with realistic argv, exit, credential change): ProcessResolver public API vs the naive resolver, batches of 5000 on a populated cache',
  setup(ctx) {
    const events = ctx.mode === 'quick' ? 50_000 : 200_000;
    const ops = toOps(modeStream(ctx, events));
    const capacity = 1 << 18;
    const populated = populate(ops, capacity);
    const pool = populated.livePids;
    if (pool.length === 0) throw new Error('apply: the standard stream left no running process to fork from');
    const rand = prng(ctx.seed);
    const execs = execTemplates(ops);
    let creds = credsTemplates(ops);
    if (creds.length === 0) {
      ctx.log('apply: the stream has no credential changes; using setuid/setgid changes of its own');
      creds = Array.from({ length: 64 }, (_, i) =>
        credsOp(0, i % 2 ? { uid: 1000 + i, euid: 1000 + i, fsuid: 1000 + i } : { gid: 100 + i, egid: 100 + i, fsgid: 100 + i }),
      );
    }
    const parentOf = Array.from({ length: BATCH }, () => pool[Math.floor(rand() * pool.length)]!);
    const execOf = Array.from({ length: BATCH }, () => execs[Math.floor(rand() * execs.length)]!.exec!);
    const credOf = Array.from({ length: BATCH }, () => creds[Math.floor(rand() * creds.length)]!);
    const credPid = Array.from({ length: BATCH }, () => pool[Math.floor(rand() * pool.length)]!);
    const t0 = lastTime(ops) + 1_000_000_000n;

    // the exit case's children hang off the running process with the
    // shortest ancestor chain: an exit does not look at ancestors, and the
    // untimed forks that set it up cost ProcessResolver time per ancestor
    const depth = (pid: number) => {
      let d = 0;
      for (let e = populated.naive.resolve(pid); e !== undefined; e = e.ancestor) d++;
      return d;
    };
    const shallow = pool.reduce((a, b) => (depth(b) < depth(a) ? b : a));
    // one set of input objects per side and case: prepare() rewrites their times
    const inputs = (r: Target, kind: Kind): Inputs => ({
      forks: parentOf.map((p, i) => {
        const ppid = kind === 'exit' ? shallow : p;
        return { pid: PID_BASE + i, ppid, time: 0n, inode: r.resolve(ppid)!.inode };
      }),
      execs: execOf.map((x, i) => ({ ...x, pid: PID_BASE + i, ppid: parentOf[i]!, time: 0n, prevInode: r.resolve(parentOf[i]!)!.inode })),
      exits: parentOf.map((_, i) => ({ pid: PID_BASE + i, time: 0n, exitCode: 0 })),
      creds: credOf.map((o, i) => ({ ...o, k: OP_CREDS, pid: credPid[i]! })),
    });

    const cases: BenchCase[] = [];
    for (const kind of KINDS) {
      const sideOf = <R extends Target>(r: R, label: string, batches: Batches<R>) => {
        const inp = inputs(r, kind);
        let time = t0;
        let dirty = false;
        // undo the previous batch: the batch pids leave the cache
        const clear = () => {
          if (!dirty) return;
          for (let i = 0; i < BATCH; i++) r.deleteEntry(PID_BASE + i, time++);
          dirty = false;
        };
        const prepare = () => {
          clear();
          if (kind === 'exec' || kind === 'exit') {
            for (const f of inp.forks) {
              f.time = time++;
              r.addForkEntry(f);
            }
          }
          if (kind === 'fork') for (const f of inp.forks) f.time = time++;
          if (kind === 'exec') for (const x of inp.execs) x.time = time++;
          if (kind === 'exit') for (const x of inp.exits) x.time = time++;
          dirty = kind !== 'creds';
        };
        const run = batches[kind];
        const contender: Contender = { label, prepare, batch: () => run(r, inp) };
        return { contender, clear };
      };
      const f = sideOf(populated.forkline, 'ProcessResolver', forklineBatches);
      const n = sideOf(populated.naive, 'naive Map', naiveBatches);
      const forkline = populated.forkline;
      cases.push({
        name: kind,
        opsPerBatch: BATCH,
        candidate: f.contender,
        baseline: n.contender,
        info: () => {
          const s = forkline.stats();
          return { live: s.cacheSize, rows: s.rows, tableFull: s.rejected.tableFull };
        },
        teardown() {
          f.clear();
          n.clear();
        },
      });
    }
    return cases;
  },
};

export default suite;
