// Lineage checks over entry chains.

import type { LineageResult, ProcessEntry } from './types.js';

/**
 * Whether the chain of `entry` reaches pid 1 with no gap: a missing parent
 * node (an entry whose parent was never seen), a wrong parent node (pid 1
 * linked to another pid) or a chain that ends before pid 1 breaks it. An
 * exec chain of pid 1 itself is fine.
 */
export function checkLineage(entry: ProcessEntry): LineageResult {
  let pid = entry.pid;
  let ppid = entry.ppid;
  for (let e: ProcessEntry | undefined = entry; e; e = e.ancestor) {
    pid = e.pid;
    ppid = e.ppid;
    if (e.isParentMissing) return { ok: false, reason: 'missing-parent-node', pid, ppid };
    if (e.pid === 1) {
      const up = e.ancestor;
      if (!up) return { ok: true };
      if (up.pid !== 1) return { ok: false, reason: 'wrong-parent-node', pid: 1, ppid: up.pid };
    }
  }
  return { ok: false, reason: 'incomplete-lineage', pid, ppid };
}

/** `entry` and its ancestors, nearest first. */
export function ancestorChain(entry: ProcessEntry): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (let e: ProcessEntry | undefined = entry; e; e = e.ancestor) out.push(e);
  return out;
}
