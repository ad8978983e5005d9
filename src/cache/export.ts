// JSON and Graphviz views of a set of entries and every ancestor they reach.

import { entryEnvp } from './entry.js';
import { ancestorChain } from './lineage.js';
import { envNames, type ArgvScrubber } from './scrub.js';
import type { ProcessEntry } from './types.js';

export interface EntryViews {
  argv(entry: ProcessEntry): readonly string[];
  envs(entry: ProcessEntry): readonly string[];
}

/** How a dump shows argv and envs: raw, or scrubbed argv and env names (values only for `envsWithValue`). */
export function entryViews(raw: boolean, scrubber: ArgvScrubber, envsWithValue: ReadonlySet<string>): EntryViews {
  return raw
    ? { argv: (e) => e.argv, envs: (e) => entryEnvp(e) }
    : { argv: (e) => scrubber.scrub(e.argv), envs: (e) => envNames(entryEnvp(e), envsWithValue) };
}

/** Stable key of an entry instance: pid, fork time and exec time. */
export function entryKey(e: ProcessEntry): string {
  return `${e.pid}:${e.forkTime}:${e.execTime}`;
}

/**
 * Every entry reachable from `roots`, each once, ancestors before
 * descendants. Entries are compared by identity: the reader shares one
 * object per row within a walk, and two images may share a key when a clock
 * is coarse.
 */
export function reachable(roots: readonly ProcessEntry[]): ProcessEntry[] {
  const seen = new Set<ProcessEntry>();
  const out: ProcessEntry[] = [];
  for (const root of roots) {
    const chain = ancestorChain(root);
    for (let i = chain.length - 1; i >= 0; i--) {
      const e = chain[i]!;
      if (seen.has(e)) continue;
      seen.add(e);
      out.push(e);
    }
  }
  return out;
}

export function entriesToJSON(roots: readonly ProcessEntry[], live: ReadonlySet<ProcessEntry>, v: EntryViews): string {
  return `{"entries":[${[...jsonEntries(roots, live, v)].join(',')}]}`;
}

/**
 * The entries of entriesToJSON, each as its JSON text, in order: for a
 * writer that streams a dump an entry at a time (the query socket).
 */
export function* jsonEntries(roots: readonly ProcessEntry[], live: ReadonlySet<ProcessEntry>, v: EntryViews): Generator<string> {
  const all = reachable(roots);
  const ids = new Map<ProcessEntry, number>();
  for (let i = 0; i < all.length; i++) ids.set(all[i]!, i);
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!;
    yield JSON.stringify({
      id: i,
      key: entryKey(e),
      pid: e.pid,
      ppid: e.ppid,
      pidns: e.pidns,
      forkTime: e.forkTime.toString(),
      execTime: e.execTime.toString(),
      exitTime: e.exitTime.toString(),
      forkTimeWall: isoOrNull(e.forkTimeWall),
      execTimeWall: isoOrNull(e.execTimeWall),
      exitTimeWall: isoOrNull(e.exitTimeWall),
      exitCode: e.exitCode,
      live: live.has(e),
      path: e.path,
      pathTruncated: e.pathTruncated,
      inode: e.inode,
      comm: e.comm,
      argv: v.argv(e),
      argsTruncated: e.argsTruncated,
      envs: v.envs(e),
      envsTruncated: e.envsTruncated,
      credentials: {
        ...e.credentials,
        capEffective: `0x${e.credentials.capEffective.toString(16)}`,
        capPermitted: `0x${e.credentials.capPermitted.toString(16)}`,
      },
      tty: e.tty,
      containerId: e.containerId,
      cgroup: e.cgroup,
      interpreter: e.interpreter,
      namespaces: { ...e.namespaces, cgroupId: e.namespaces.cgroupId.toString() },
      isExec: e.isExec,
      isExecExec: e.isExecExec,
      isParentMissing: e.isParentMissing,
      source: e.source,
      ancestor: e.ancestor ? (ids.get(e.ancestor) ?? null) : null,
    });
  }
}

export function entriesToDot(roots: readonly ProcessEntry[], live: ReadonlySet<ProcessEntry>, v: EntryViews, withArgs: boolean): string {
  return [...dotLines(roots, live, v, withArgs)].join('');
}

/** The text of entriesToDot a line at a time (each with its newline). */
export function* dotLines(roots: readonly ProcessEntry[], live: ReadonlySet<ProcessEntry>, v: EntryViews, withArgs: boolean): Generator<string> {
  yield 'digraph forkline {\n  rankdir=LR;\n  node [shape=box, fontname="monospace"];\n';
  const all = reachable(roots);
  const ids = new Map<ProcessEntry, string>();
  for (let i = 0; i < all.length; i++) ids.set(all[i]!, `n${i}`);
  for (const e of all) {
    let label = `${e.pid} ${e.path || e.comm}`;
    if (withArgs) label += `\n${v.argv(e).join(' ')}`;
    const exited = e.exitTime !== 0n || !live.has(e);
    const style = exited ? ', style=dashed, color=gray50, fontcolor=gray40' : '';
    yield `  ${ids.get(e)} [label=${dotString(label + (exited ? '\n(exited)' : ''))}${style}];\n`;
  }
  for (const e of all) {
    if (!e.ancestor) continue;
    const kind = e.isExec && e.ancestor.pid === e.pid ? 'exec' : 'fork';
    yield `  ${ids.get(e.ancestor)} -> ${ids.get(e)} [label="${kind}"];\n`;
  }
  yield '}\n';
}

function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A wall-clock time in ms as ISO 8601 (UTC, ms), null for an unknown (0) time. */
function isoOrNull(ms: number): string | null {
  return ms === 0 ? null : new Date(ms).toISOString();
}
