// The reader API (src/cache/view.ts): Cursor seek/up/load over one table and
// over the shards of a finished pipeline, compared with ProcessResolver on
// the same events; stale detection when the writer frees and reuses rows
// under a cursor; parents that cannot be found; the object API and its
// dumps; and the wait for a lagging shard behind a cross-shard link.

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/cache/resolver.js';
import { PipelineControl, shardOf, type PipelineHandles } from '../../src/cache/shards.js';
import { F_CURRENT, F_IS_EXEC, F_REMOTE_PARENT, F_USED, ProcessTable } from '../../src/cache/table.js';
import type { ProcessEntry } from '../../src/cache/types.js';
import { Cursor, ProcessView } from '../../src/cache/view.js';
import type { StreamEvent } from '../../src/record/events.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import { MAX_RECORD_SIZE } from '../../src/record/constants.js';
import { encodeEvent } from '../../src/record/encode.js';
import { SyntheticSource } from '../../src/pipeline/sources/synthetic/record-source.js';
import type { SyntheticOptions } from '../../src/pipeline/sources/synthetic/options.js';
import { syntheticEvents } from '../../src/pipeline/sources/synthetic/stream.js';

// ---------------------------------------------------------------------------
// Helpers

/** A fork carrying the image the child inherits (path, inode, argv, its exec time), as the kernel gives it. */
const fork = (pid: number, ppid: number, time: bigint, path = '/sbin/init', inode = 1, argv: string[] = [], execTime = 0n): StreamEvent => ({
  type: 'fork', cpu: 0, pid, ppid, pidns: 0, time, execTime, inode, path, comm: path.slice(path.lastIndexOf('/') + 1), argv,
});
const exec = (pid: number, time: bigint, path: string, inode: number, argv: string[] = [path]): StreamEvent => ({
  type: 'exec', cpu: 0, pid, ppid: -1, pidns: 0, time, inode, prevInode: 0, path, argv,
});
const exit = (pid: number, time: bigint, exitCode = 0): StreamEvent => ({ type: 'exit', cpu: 0, pid, pidns: 0, time, exitCode });
const flush = (time: bigint): StreamEvent => ({ type: 'flush', cpu: 0, time });

function resolverOf(events: readonly StreamEvent[], exitedRetention = 0n): ProcessResolver {
  const r = new ProcessResolver({ capacity: 64, exitedRetention });
  for (const ev of events) r.applyEvent(ev);
  return r;
}

/** A finished pipeline that applied `events`. */
async function pipelineOf(events: readonly StreamEvent[], shards = 2, exitedRetention = 0n): Promise<Pipeline> {
  const bytes = new Uint8Array(events.length * 512 + MAX_RECORD_SIZE);
  let at = 0;
  for (const ev of events) at += encodeEvent(ev, bytes, at);
  const source = {
    name: 'events',
    replayable: true,
    async *chunks() {
      yield { bytes: bytes.subarray(0, at), streamOffset: 0 };
    },
  };
  const p = createPipeline({ shards, capacity: 256, source, exitedRetention });
  p.start();
  await p.done();
  return p;
}

/** Pids >= from that the 2-shard pipeline puts in `shard`. */
function pidsIn(shard: number, count: number, from = 300): number[] {
  const out: number[] = [];
  for (let pid = from; out.length < count; pid++) if (shardOf(pid, 0, 2) === shard) out.push(pid);
  return out;
}

/** What a cursor holds, in the shape of a ProcessEntry (strings decoded from its shard's table). */
function cursorFields(view: ProcessView, c: Cursor) {
  const t: ProcessTable = view.tables[c.shard]!;
  return {
    pid: c.pid,
    ppid: c.ppid,
    forkTime: c.forkTime,
    execTime: c.execTime,
    exitTime: c.exitTime,
    exitCode: c.exitCode,
    inode: c.inode,
    path: c.path(),
    comm: c.comm(),
    argv: c.argv() && [...c.argv()!],
    isExec: (c.flags & F_IS_EXEC) !== 0,
  };
}

function entryFields(e: ProcessEntry) {
  const { pid, ppid, forkTime, execTime, exitTime, exitCode, inode, path, comm, argv, isExec } = e;
  return { pid, ppid, forkTime, execTime, exitTime, exitCode, inode, path, comm, argv: [...argv], isExec };
}

/** Fields along the whole chain a cursor walks from seek(pid). */
function cursorChain(view: ProcessView, pid: number) {
  const c = view.cursor();
  const out: ReturnType<typeof cursorFields>[] = [];
  if (!c.seek(pid)) return out;
  do out.push(cursorFields(view, c));
  while (c.up());
  expect(c.stale).toBe(false);
  return out;
}

function entryChain(e: ProcessEntry | undefined) {
  const out: ReturnType<typeof entryFields>[] = [];
  for (; e; e = e.ancestor) out.push(entryFields(e));
  return out;
}

// init, a shell forked from it that execs, and a child of the shell that execs twice
const T = (n: number) => BigInt(n) * 1000n;
function family(shell: number, child: number): StreamEvent[] {
  return [
    fork(1, 0, T(1)),
    fork(shell, 1, T(2)),
    exec(shell, T(3), '/bin/sh', 20, ['sh', '-c', 'work']),
    fork(child, shell, T(4), '/bin/sh', 20, ['sh', '-c', 'work'], T(3)),
    exec(child, T(5), '/usr/bin/env', 30, ['env', 'make']),
    exec(child, T(6), '/usr/bin/make', 40, ['make', '-j2']),
  ];
}

// ---------------------------------------------------------------------------

describe('Cursor over one table (ProcessView of a ProcessResolver table)', () => {
  it('walks an exec chain and a fork up to init, with the same field values as ProcessResolver.resolve()', () => {
    const r = resolverOf(family(300, 301));
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(301)).toBe(true);
    expect(c.flags & F_CURRENT).toBe(F_CURRENT);

    // make <- env (exec), env <- fork image of sh (exec), fork of 301 <- sh of 300 (fork), sh <- fork image (exec), <- init
    const expected = [
      { pid: 301, path: '/usr/bin/make', isExec: true },
      { pid: 301, path: '/usr/bin/env', isExec: true },
      { pid: 301, path: '/bin/sh', isExec: false },
      { pid: 300, path: '/bin/sh', isExec: true },
      { pid: 300, path: '/sbin/init', isExec: false },
      { pid: 1, path: '/sbin/init', isExec: false },
    ];
    const seen = [cursorFields(view, c)];
    while (c.up()) seen.push(cursorFields(view, c));
    expect(c.stale).toBe(false);
    expect(c.parentUnresolved).toBe(false);
    expect(seen.map(({ pid, path, isExec }) => ({ pid, path, isExec }))).toEqual(expected);
    expect(seen).toEqual(entryChain(r.resolve(301)));
    // the exec link: same pid and fork, the older image ended when the newer began
    expect(seen[1]!.exitTime).toBe(seen[0]!.execTime);
    expect(seen[1]!.forkTime).toBe(seen[0]!.forkTime);
    // the fork link: the parent as it was at fork time (sh, before anything else)
    expect(seen[3]!.pid).toBe(seen[2]!.ppid);
    expect(seen[3]!.forkTime < seen[2]!.forkTime).toBe(true);
  });

  it('seek() finds only cached pids, and a cursor is reusable: every seek() starts a new walk', () => {
    const r = resolverOf(family(300, 301));
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(999)).toBe(false);
    expect(c.seek(300)).toBe(true);
    expect(c.up()).toBe(true);
    expect(c.seek(1)).toBe(true);
    expect(cursorFields(view, c)).toEqual(entryFields(r.resolve(1)!));
    // init was forked by the kernel: the top of every chain, nothing missing
    expect(c.up()).toBe(false);
    expect(c.stale).toBe(false);
    expect(c.parentUnresolved).toBe(false);
  });

  it('load() reads one row by number, consistently, into the cursor', () => {
    const r = resolverOf(family(300, 301));
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(301)).toBe(true);
    const row = c.row;
    const other = view.cursor();
    expect(other.load(0, row)).toBe(true);
    expect(other.row).toBe(row);
    expect(other.seq).toBe(r.table.seq[row]);
    expect(cursorFields(view, other)).toEqual(cursorFields(view, c));
  });

  it('reports stale on up() when the writer freed the cursor row and reused its ancestor row meanwhile', () => {
    const events = [fork(1, 0, T(1)), fork(300, 1, T(2)), exec(300, T(3), '/bin/a', 10, ['a'])];
    const r = resolverOf(events);
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(300)).toBe(true);
    const execRow = c.row;
    const forkRow = r.table.ancestor[execRow]!; // the row up() would read next
    expect(r.table.pid[forkRow]).toBe(300);

    // 300 exits and is flushed: both of its rows are freed; a new fork takes the ancestor row
    for (const ev of [exit(300, T(4)), flush(T(5)), fork(400, 1, T(6), '/sbin/init', 1)]) r.applyEvent(ev);
    expect(r.table.pid[forkRow]).toBe(400); // reused: read blindly, 400 would pass for 300's parent image
    expect(c.up()).toBe(false);
    expect(c.stale).toBe(true);
    expect(c.parentUnresolved).toBe(false);

    // a new walk sees the new state
    expect(c.seek(300)).toBe(false);
    expect(c.seek(400)).toBe(true);
    expect(c.up()).toBe(true);
    expect(c.stale).toBe(false);
    expect(c.pid).toBe(1);
  });

  it('decodes what the cursor points at (path, comm, argv, credentials), and says stale when the row changed since the read', () => {
    const r = resolverOf([fork(1, 0, T(1)), fork(300, 1, T(2), '/bin/sh', 2, ['sh', '-c', 'x']), exit(300, T(3)), flush(T(4))]);
    r.applyEvent(fork(301, 1, T(5), '/bin/bash', 3, ['bash']));
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(301)).toBe(true);
    expect({ path: c.path(), comm: c.comm(), argv: c.argv() }).toEqual({ path: '/bin/bash', comm: 'bash', argv: ['bash'] });
    expect(c.credentials()).toEqual(r.resolve(301)!.credentials);
    expect(c.stale).toBe(false);
    // the row is freed and taken by another process after the read
    r.applyEvent(exit(301, T(6)));
    r.applyEvent(flush(T(7)));
    r.applyEvent(fork(302, 1, T(8), '/bin/ls', 4, ['ls']));
    expect(c.path()).toBeUndefined();
    expect(c.stale).toBe(true);
    expect(c.seek(302)).toBe(true);
    expect(c.path()).toBe('/bin/ls');
  });

  it('reports stale on up() when the cursor row itself was freed and reused by another process', () => {
    const events = [fork(1, 0, T(1)), fork(300, 1, T(2))];
    const r = resolverOf(events);
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(300)).toBe(true);
    const row = c.row;
    for (const ev of [exit(300, T(3)), flush(T(4)), fork(500, 1, T(5))]) r.applyEvent(ev);
    expect(r.table.pid[row]).toBe(500);
    expect(c.up()).toBe(false);
    expect(c.stale).toBe(true);
  });

  it('a writer never changes a row without changing its seq: a row taken for a new process is not read as the freed one', () => {
    // Reader protocol (table.ts): a read is valid while the row's seq is
    // unchanged. Taking a freed row from the free list rewrites its flags and
    // fields; a reader that validated the freed row must see that happen.
    const r = resolverOf([fork(1, 0, T(1)), fork(300, 1, T(2)), exit(300, T(3)), flush(T(4))]);
    const t = r.table;
    const view = new ProcessView(t);
    const c = view.cursor();
    const freed = t.meta[0]!; // head of the free list: 300's row
    expect(freed).toBeGreaterThanOrEqual(0);
    expect(c.load(0, freed)).toBe(true);
    expect(c.flags).toBe(0); // free
    const seq = c.seq;
    expect(t.allocRow()).toBe(freed); // what a fork or exec does first
    const changed = t.flags[freed] !== c.flags || t.exitTime[freed] !== c.exitTime;
    expect(changed).toBe(true);
    expect(Atomics.load(t.seq, freed)).not.toBe(seq);
  });

  it('a fork whose parent is not cached ends its chain with the parent missing, not unresolved', () => {
    const r = resolverOf([fork(1, 0, T(1)), fork(300, 250, T(2), '/bin/x', 5)]);
    const view = new ProcessView(r.table);
    const c = view.cursor();
    expect(c.seek(300)).toBe(true);
    expect(c.up()).toBe(false);
    expect(c.stale).toBe(false);
    expect(c.parentUnresolved).toBe(false); // the link is not remote: nothing to look up
    const e = view.resolve(300)!;
    expect(e.isParentMissing).toBe(true);
    expect(e.ancestor).toBeUndefined();
    expect(entryFields(e)).toEqual(entryFields(r.resolve(300)!));
  });
});

describe('ProcessView over a finished 2-shard pipeline', () => {
  it('follows a fork link into the other shard to the parent as it was at fork time', async () => {
    const [shell] = pidsIn(0, 1);
    const [child] = pidsIn(1, 1);
    const events = family(shell!, child!);
    // the shell execs again after the fork: the child's parent stays the image it forked from
    events.push(exec(shell!, T(7), '/bin/bash', 21, ['bash']));
    const p = await pipelineOf(events);
    const view = p.reader();
    const r = resolverOf(events);

    const c = view.cursor();
    expect(c.seek(child!)).toBe(true);
    expect(c.shard).toBe(1);
    expect(c.up() && c.up()).toBe(true); // make -> env -> fork image of the child
    expect(c.flags & F_REMOTE_PARENT).toBe(F_REMOTE_PARENT);
    expect(c.up()).toBe(true);
    expect(c.shard).toBe(0);
    expect({ pid: c.pid, path: c.path(), exitTime: c.exitTime }).toEqual({
      pid: shell,
      path: '/bin/sh',
      exitTime: T(7), // replaced by bash after the fork
    });
    expect(c.parentUnresolved).toBe(false);

    expect(cursorChain(view, child!)).toEqual(entryChain(r.resolve(child!)));
    expect(cursorChain(view, shell!)).toEqual(entryChain(r.resolve(shell!)));
    expect(entryChain(view.resolve(child!))).toEqual(entryChain(r.resolve(child!)));
    expect(view.ancestors(child!).map((e) => e.pid)).toEqual([child, child, child, shell, shell, 1]);
    expect(view.lineageIncomplete).toBe(0);
  });

  it('reports parentUnresolved (and the entry its parent missing) when the parent in the other shard is unknown', async () => {
    const [ghost] = pidsIn(0, 1);
    const [child] = pidsIn(1, 1);
    const events = [fork(1, 0, T(1)), fork(child!, ghost!, T(2), '/bin/orphan', 9)];
    const p = await pipelineOf(events);
    const view = p.reader();
    const c = view.cursor();
    expect(c.seek(child!)).toBe(true);
    expect(c.flags & F_REMOTE_PARENT).toBe(F_REMOTE_PARENT);
    expect(c.up()).toBe(false);
    expect(c.parentUnresolved).toBe(true);
    expect(c.stale).toBe(false);
    // still on the child
    expect(c.pid).toBe(child);

    const e = view.resolve(child!)!;
    expect(e.isParentMissing).toBe(true);
    expect(e.ancestor).toBeUndefined();
    expect(e.isParentMissing).toBe(resolverOf(events).resolve(child!)!.isParentMissing);
  });

  it('liveEntries(), toJSON() and toDot() give the same processes as ProcessResolver on a synthetic stream', async () => {
    const options: SyntheticOptions = { seed: 7, events: 20_000, flushEvery: 500 };
    const retention = 2_000_000n; // 2 ms of a 20 ms stream: some exited pids flushed, some kept
    const r = new ProcessResolver({ exitedRetention: retention });
    for (const ev of syntheticEvents(options)) r.applyEvent(ev);
    const p = createPipeline({ shards: 2, source: new SyntheticSource(options), exitedRetention: retention });
    p.start();
    await p.done();
    const view = p.reader();
    // both shards hold processes, and chains cross from one to the other
    let remoteLinks = 0;
    for (const t of view.tables) t.forEachLive((row) => (remoteLinks += (t.flags[row]! & F_REMOTE_PARENT) !== 0 ? 1 : 0));
    expect(remoteLinks).toBeGreaterThan(20);
    expect(view.tables.every((t) => t.liveCount > 50)).toBe(true);

    const ids = (entries: readonly ProcessEntry[]) => new Set(entries.map((e) => `${e.pid} ${e.path}`));
    const mine: ProcessEntry[] = [];
    r.walk((e) => mine.push(e));
    expect(mine.length).toBeGreaterThan(100);
    expect(ids(view.liveEntries())).toEqual(ids(mine));
    const walked: ProcessEntry[] = [];
    view.walk((e) => walked.push(e));
    expect(ids(walked)).toEqual(ids(mine));

    type JsonEntry = { pid: number; path: string; key: string; live: boolean; ancestor: number | null };
    const jsonIds = (json: string) => {
      const entries = (JSON.parse(json) as { entries: JsonEntry[] }).entries;
      return new Set(entries.map((e) => `${e.key} ${e.path} live=${e.live} ancestor=${e.ancestor === null ? '-' : entries[e.ancestor]!.key}`));
    };
    expect(jsonIds(view.toJSON())).toEqual(jsonIds(r.toJSON()));

    const dotNodes = (dot: string) => new Set(dot.split('\n').filter((l) => l.includes('[label=') && !l.includes('->')).map((l) => l.replace(/^\s*n\d+ /, '')));
    const dotEdges = (dot: string) => dot.split('\n').filter((l) => l.includes('->')).length;
    const viewDot = view.toDot(true);
    const resolverDot = r.toDot(true);
    expect(dotNodes(viewDot)).toEqual(dotNodes(resolverDot));
    expect(dotEdges(viewDot)).toBe(dotEdges(resolverDot));
  });
});

describe('links into a lagging shard (PipelineControl progress)', () => {
  // A child in shard 1 whose parent lives in shard 0; the tables are final,
  // the control block is set by hand. The child's fork record (and the LINK
  // that goes with it) is record 3.
  const LINK_GSEQ = 3;
  async function linked() {
    const [parent] = pidsIn(0, 1);
    const [child] = pidsIn(1, 1);
    const p = await pipelineOf([fork(1, 0, T(1)), fork(parent!, 1, T(2)), fork(child!, parent!, T(3))]);
    const control = PipelineControl.create(2);
    const handles: PipelineHandles = { shards: p.handles.shards, control: control.buffer };
    // 100 dispatched; shard 1 applied everything, shard 0 lags at 2: before the link
    control.publishDispatched(100, [100, 100]);
    control.publishApplied(1, 100n);
    control.publishApplied(0, BigInt(LINK_GSEQ - 1));
    return { parent: parent!, child: child!, control, handles };
  }

  /** Seeks the child and times one up() across its link. */
  function upAcross(view: ProcessView, child: number) {
    const c = view.cursor();
    expect(c.seek(child)).toBe(true);
    expect(c.flags & F_REMOTE_PARENT).toBe(F_REMOTE_PARENT);
    const t0 = performance.now();
    const ok = c.up();
    return { ok, ms: performance.now() - t0, c };
  }

  it('up() across a link its shard has not applied yet returns at once, the chain marked lineageIncomplete (not missing), counted', async () => {
    const { child, handles } = await linked();
    const view = new ProcessView(handles);
    const { ok, ms, c } = upAcross(view, child);
    expect(ok).toBe(false);
    expect(ms).toBeLessThan(5); // a spin of microseconds, no sleep
    expect(c.lineageIncomplete).toBe(true);
    expect(c.parentUnresolved).toBe(false);
    expect(c.pid).toBe(child); // still on the child
    const e = view.resolve(child)!;
    expect(e.ancestor).toBeUndefined();
    expect(e.lineageIncomplete).toBe(true);
    expect(e.isParentMissing).toBe(false);
    expect(view.lineageIncomplete).toBe(2);
  });

  it('follows the link as soon as its shard has applied it, though that shard is still behind everything dispatched to it', async () => {
    const { parent, child, control, handles } = await linked();
    const view = new ProcessView(handles);
    expect(view.resolve(child)!.lineageIncomplete).toBe(true);
    control.publishApplied(0, BigInt(LINK_GSEQ)); // past the link, 97 behind the frontier
    const { ok, c } = upAcross(view, child);
    expect(ok).toBe(true);
    expect(c.pid).toBe(parent);
    // the incomplete chain was not kept: the whole chain now, without any write in between
    const e = view.resolve(child)!;
    expect(e.lineageIncomplete).toBe(false);
    expect(e.ancestor?.pid).toBe(parent);
    expect(view.lineageIncomplete).toBe(1);
  });

  it('a reparent to a parent in another shard is followed once that shard has applied the reparent, though it is behind the frontier', async () => {
    // child (shard 1) forks from a parent in shard 1, then is reparented to a subreaper in shard 0: record 5
    const [reaper] = pidsIn(0, 1);
    const [parent, child] = pidsIn(1, 2);
    const p = await pipelineOf([
      fork(1, 0, T(1)),
      fork(reaper!, 1, T(2)),
      fork(parent!, 1, T(3)),
      fork(child!, parent!, T(4)),
      { type: 'reparent', cpu: 0, pid: child!, ppid: reaper!, pidns: 0, time: T(5) } as StreamEvent,
    ]);
    const control = PipelineControl.create(2);
    const view = new ProcessView({ shards: p.handles.shards, control: control.buffer });
    control.publishDispatched(100, [100, 100]);
    control.publishApplied(1, 100n);
    control.publishApplied(0, 4n); // before the reparent
    const c = view.cursor();
    expect(c.seek(child!)).toBe(true);
    expect(c.up()).toBe(false);
    expect(c.lineageIncomplete).toBe(true);
    control.publishApplied(0, 5n); // the reparent, 95 behind the frontier
    expect(c.seek(child!)).toBe(true);
    expect(c.up()).toBe(true);
    expect(c.pid).toBe(reaper);
    expect(view.lineageIncomplete).toBe(1);
  });

  it('a link within one shard never waits for anything', async () => {
    const { parent, control, handles } = await linked();
    control.publishApplied(0, 0n);
    const view = new ProcessView(handles);
    const c = view.cursor();
    expect(c.seek(parent)).toBe(true);
    expect(c.up()).toBe(true);
    expect(c.pid).toBe(1);
    expect(view.linkWaits).toBe(0);
  });

  it('with linkWaitMs (opt-in) waits for the link, and returns as soon as its shard applies it', async () => {
    const { parent, child, control, handles } = await linked();
    const view = new ProcessView(handles, { linkWaitMs: 5000 });
    // another thread publishes shard 0's progress past the link 100 ms after it is told to go
    const go = new Int32Array(new SharedArrayBuffer(8));
    const at = control.low.byteOffset + 4 * (1 + 2 + 0); // P[0]
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const p0 = new Int32Array(workerData.control, workerData.at, 1);
       const go = new Int32Array(workerData.go);
       parentPort.postMessage('ready');
       Atomics.wait(go, 0, 0);
       Atomics.wait(go, 1, 0, 100);
       Atomics.store(p0, 0, ${LINK_GSEQ});`,
      { eval: true, workerData: { control: control.buffer, go: go.buffer, at } },
    );
    try {
      await new Promise((resolve) => worker.once('message', resolve));
      const c = view.cursor();
      expect(c.seek(child)).toBe(true);
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      const t0 = performance.now();
      expect(c.up()).toBe(true);
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(50); // it waited for the progress...
      expect(ms).toBeLessThan(2500); // ...and not for linkWaitMs
      expect(view.lineageIncomplete).toBe(0);
      expect(c.pid).toBe(parent);
    } finally {
      await worker.terminate();
    }
  });
});

describe('rows read by number (Cursor.load)', () => {
  it('a row taken from the free list stays in its write window until its entry is written', () => {
    const table = ProcessTable.create({ capacity: 16 });
    const c = new ProcessView(table).cursor();
    const row = table.allocRow(); // the apply code fills it in this same window
    // a reader reading rows by number retries (and gives up) rather than see it half made
    expect(c.load(0, row)).toBe(false);
    table.endWrite(row);
    expect(c.load(0, row)).toBe(true);
    expect(c.flags & F_USED).toBe(0); // in use with pid 0 would be a torn entry to a scanning reader
  });
});

describe('kept entries (ProcessView.resolve while the writer goes on)', () => {
  it('gives the same entry while the rows of its chain are unchanged, and a new one when an ancestor row changes', () => {
    const r = resolverOf([fork(1, 0, T(1)), fork(300, 1, T(2), '/bin/sh', 2), fork(301, 300, T(3), '/bin/sh', 2)], 5_000_000_000n);
    const view = new ProcessView(r.table);
    const first = view.resolve(301)!;
    expect(first.ancestor!.pid).toBe(300);
    // a write elsewhere: the write epoch moves, the chain of 301 does not
    r.applyEvent(fork(400, 1, T(4)));
    expect(view.resolve(301)).toBe(first);
    // the parent exits: its row changes, so the child's chain must be read again
    r.applyEvent(exit(300, T(5), 3));
    const again = view.resolve(301)!;
    expect(again).not.toBe(first);
    expect(again.ancestor!.exitTime).toBe(T(5));
    expect(again.ancestor!.exitCode).toBe(3);
    expect(entryChain(again)).toEqual(entryChain(r.resolve(301)));
    // and the top of the chain changing (init execs) is seen too
    r.applyEvent(exec(1, T(6), '/lib/systemd/systemd', 9));
    expect(view.resolve(301)!.ancestor!.ancestor!.exitTime).toBe(T(6)); // the image 300 forked from was replaced
    expect(entryChain(view.resolve(301))).toEqual(entryChain(r.resolve(301)));
  });

  it('ProcessResolver.resolve gives the same entry while nothing is written, and sees a process leave the cache', () => {
    const r = resolverOf([fork(1, 0, T(1)), fork(300, 1, T(2)), exit(300, T(3))], 0n);
    const e = r.resolve(300)!;
    expect(r.resolve(300)).toBe(e);
    expect(e.exitTime).toBe(T(3));
    // the exited entry leaves the cache without a row being written (only the index changes)
    r.applyEvent(flush(T(4)));
    expect(r.resolve(300)).toBeUndefined();
  });
});
