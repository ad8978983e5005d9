// The answers of the query socket (docs/operations.md, "Protocol"), read
// from a ProcessView. They run in the reader threads of the query pool
// (query-worker.ts), never on the routing thread. Each answer is one
// response line given as a sequence of text pieces, so that a dump of the
// whole cache is sent in chunks as it is made: no answer is built whole in
// memory as one string. A RequestError thrown before the first piece is
// the answer (an error line).

import { dotLines, entryViews, jsonEntries } from '../cache/export.js';
import type { ArgvScrubber } from '../cache/scrub.js';
import type { ProcessEntry } from '../cache/types.js';
import type { ProcessView } from '../cache/view.js';
import { RequestError, wireEntry, type TreeNode } from './query-protocol.js';

/** What the answers read: a view of the tables, and how argv and envs are shown. */
export interface AnswerContext {
  view: ProcessView;
  scrubber: ArgvScrubber;
  /** Envs whose value is kept in a scrubbed dump (the rest: names only). */
  envsWithValue: ReadonlySet<string>;
}

/** A request the pool answers (stats is answered by the main thread). */
export type PoolRequest =
  | { op: 'resolve'; pid: number; raw: boolean }
  | { op: 'tree'; pid: number | undefined }
  | { op: 'dump'; format: 'json' | 'dot'; raw: boolean };

/** The pieces of the response line to `req`; `raw` only when the peer may have it (root). */
export function answer(ctx: AnswerContext, req: PoolRequest): Iterable<string> {
  switch (req.op) {
    case 'resolve':
      return [resolveLine(ctx, req.pid, req.raw)];
    case 'tree':
      return treeLine(ctx, req.pid);
    case 'dump':
      return req.format === 'dot' ? dotDumpLine(ctx) : jsonDumpLine(ctx, req.raw);
  }
}

function argvOf(ctx: AnswerContext, e: ProcessEntry, raw: boolean): string[] {
  return raw ? [...e.argv] : ctx.scrubber.scrub(e.argv);
}

function resolveLine(ctx: AnswerContext, pid: number, raw: boolean): string {
  const chain = ctx.view.ancestors(pid);
  if (chain.length === 0) throw new RequestError('not_found', `no process ${pid} in the cache`);
  return JSON.stringify({ ok: true, pid, raw, chain: chain.map((e) => wireEntry(e, argvOf(ctx, e, raw))) }) + '\n';
}

/**
 * Processes (instances: pid and fork time) under `pid`, or every tree.
 * Live pids are nodes; a live process whose parent exited hangs under that
 * parent as it was at fork time, marked exited, up to a live ancestor or
 * the top of what the cache knows. The nodes are computed first (a
 * not_found is an error line), then sent a node at a time.
 */
function treeLine(ctx: AnswerContext, pid: number | undefined): Iterable<string> {
  interface Node {
    entry: ProcessEntry;
    exited: boolean;
    /** Not a cached pid: only reached as the ancestor of one. */
    ancestorOnly: boolean;
    parent: Node | undefined;
    children: Node[];
  }
  // nodes by instance (pid and fork time); the view shares one entry object per row
  const nodes = new Map<string, Node>();
  const key = (e: ProcessEntry) => `${e.pid}:${e.forkTime}`;
  /** The entry's fork parent: the first entry of another instance up its chain. */
  const forkParent = (e: ProcessEntry): ProcessEntry | undefined => {
    let a = e.ancestor;
    while (a && a.pid === e.pid && a.forkTime === e.forkTime) a = a.ancestor;
    return a;
  };
  const live = ctx.view.liveEntries();
  for (const e of live) nodes.set(key(e), { entry: e, exited: e.exitTime !== 0n, ancestorOnly: false, parent: undefined, children: [] });
  // link every node to its parent instance, adding exited ancestors as needed
  const pending = [...nodes.values()];
  while (pending.length > 0) {
    const n = pending.pop()!;
    const p = forkParent(n.entry);
    if (!p) continue;
    const pk = key(p);
    let pn = nodes.get(pk);
    if (pn === n) continue;
    if (!pn) {
      pn = { entry: p, exited: true, ancestorOnly: true, parent: undefined, children: [] };
      nodes.set(pk, pn);
      pending.push(pn);
    }
    n.parent = pn;
    pn.children.push(n);
  }
  let roots: Node[];
  if (pid !== undefined) {
    const e = live.find((x) => x.pid === pid);
    if (!e) throw new RequestError('not_found', `no process ${pid} in the cache`);
    roots = [nodes.get(key(e))!];
  } else {
    roots = [...nodes.values()].filter((n) => n.parent === undefined);
  }
  const byPid = (a: Node, b: Node) => a.entry.pid - b.entry.pid || (a.entry.forkTime < b.entry.forkTime ? -1 : 1);
  roots.sort(byPid);
  return (function* () {
    yield `{"ok":true,"pid":${pid ?? null},"nodes":[`;
    // depth first, iteratively (trees can be thousands deep)
    const stack: { n: Node; depth: number; parent: number | null }[] = roots.reverse().map((n) => ({ n, depth: 0, parent: null }));
    const seen = new Set<Node>();
    let index = 0;
    while (stack.length > 0) {
      const { n, depth, parent } = stack.pop()!;
      if (seen.has(n)) continue; // a cycle would be a bug: never loop
      seen.add(n);
      const e = n.entry;
      const node: TreeNode = {
        pid: e.pid,
        ppid: e.ppid,
        path: e.path,
        argv: ctx.scrubber.scrub(e.argv),
        uid: e.credentials.uid,
        user: e.credentials.user,
        containerId: e.containerId,
        exited: n.exited,
        exitCode: n.exited && !n.ancestorOnly ? e.exitCode : null,
        forkTime: String(e.forkTime),
        depth,
        parent,
      };
      yield (index > 0 ? ',' : '') + JSON.stringify(node);
      const at = index++;
      const children = [...n.children].sort(byPid).reverse();
      for (const c of children) stack.push({ n: c, depth: depth + 1, parent: at });
    }
    yield ']}\n';
  })();
}

/**
 * `{"ok":true,"format":"json","raw":…,"dump":{"entries":[…]}}`: what
 * ProcessView.toJSON gives (src/cache/export.ts), written an entry at a time.
 */
function* jsonDumpLine(ctx: AnswerContext, raw: boolean): Iterable<string> {
  const live = ctx.view.liveEntries();
  yield `{"ok":true,"format":"json","raw":${raw},"dump":{"entries":[`;
  let first = true;
  for (const text of jsonEntries(live, new Set(live), entryViews(raw, ctx.scrubber, ctx.envsWithValue))) {
    yield first ? text : `,${text}`;
    first = false;
  }
  yield ']}}\n';
}

/**
 * `{"ok":true,"format":"dot","raw":false,"dump":"digraph …"}`: the text of
 * ProcessView.toDot(true) (entriesToDot), as one JSON string written a
 * line at a time (a JSON string's escapes never span two characters of
 * its text, so the pieces' escapes concatenate).
 */
function* dotDumpLine(ctx: AnswerContext): Iterable<string> {
  const live = ctx.view.liveEntries();
  yield `{"ok":true,"format":"dot","raw":false,"dump":"`;
  for (const line of dotLines(live, new Set(live), entryViews(false, ctx.scrubber, ctx.envsWithValue), true)) yield JSON.stringify(line).slice(1, -1);
  yield '"}\n';
}

