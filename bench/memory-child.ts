// One memory measurement in a process of its own (bench/suites/memory.ts
// spawns it), so the resident set holds nothing but this cache:
//
//   node --expose-gc dist-bench/bench/memory-child.js <forkline|naive> <processes> <seed>
//
// Builds `processes` running processes, each forked from a running parent
// and exec'd with a path and argv of the standard stream, then prints one
// JSON line: RSS and heap before and after (after a full GC), and for
// forkline the table figures.

import { ProcessResolver } from '../src/index.js';
import { NaiveResolver } from './naive-resolver.js';
import { toOps } from './lib/ops.js';
import { execTemplates, prng } from './lib/populate.js';
import { standardStream } from './lib/stream.js';

export interface MemoryChildResult {
  impl: 'forkline' | 'naive';
  processes: number;
  live: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  /** forkline only */
  rows?: number;
  rowCapacity?: number;
  bytesPerRow?: number;
  sabBytes?: number;
  /** Shared bytes per top-level handle (rows, strings, credentials, ...). */
  sabBreakdown?: Record<string, number>;
  stringBytes?: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

/** Every SharedArrayBuffer reachable from the table's handles (the shared memory a reader attaches to). */
export function sharedBytes(handles: unknown): number {
  const seen = new Set<SharedArrayBuffer>();
  const visit = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== 'object') return;
    if (v instanceof SharedArrayBuffer) {
      seen.add(v);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof SharedArrayBuffer) seen.add(v.buffer);
      return;
    }
    for (const x of Object.values(v)) visit(x, depth + 1);
  };
  visit(handles, 0);
  let n = 0;
  for (const b of seen) n += b.byteLength;
  return n;
}

function main(): void {
  const [impl, countArg, seedArg] = process.argv.slice(2);
  if (impl !== 'forkline' && impl !== 'naive') throw new Error('usage: memory-child.js <forkline|naive> <processes> <seed>');
  const processes = Number(countArg);
  const seed = Number(seedArg ?? 1);
  const templates = execTemplates(toOps(standardStream(20_000, seed))).map((o) => o.exec!);
  if (templates.length === 0) throw new Error('the standard stream has no exec with argv');
  const rand = prng(seed);
  // each process has 2 rows (its fork image and its exec image); the parent pool adds a few
  const capacity = 2 * processes + 4096;
  const forkline = impl === 'forkline' ? new ProcessResolver({ capacity }) : undefined;
  const naive = impl === 'naive' ? new NaiveResolver() : undefined;
  const r = (forkline ?? naive)!;

  const running = new Int32Array(processes);
  gc();
  const before = process.memoryUsage();
  let t = 1_000_000n;
  r.addForkEntry({ pid: 1, ppid: 0, time: t++, path: '/sbin/init', inode: 1 });
  r.addExecEntry({ pid: 1, time: t++, path: '/sbin/init', inode: 1, argv: ['/sbin/init'] });
  running[0] = 1;
  for (let i = 1; i < processes; i++) {
    const pid = i + 2; // pid 2 is kthreadd's
    // parents: one of the first 1000 processes (a random tree a few levels
    // deep: init, services, shells, build tools); the rest are leaves
    const ppid = running[Math.floor(rand() * Math.min(i, 1000))]!;
    const parent = r.resolve(ppid)!;
    r.addForkEntry({ pid, ppid, time: t++, inode: parent.inode });
    const x = templates[i % templates.length]!;
    r.addExecEntry({ ...x, pid, ppid, time: t++, prevInode: parent.inode });
    running[i] = pid;
  }
  gc();
  const after = process.memoryUsage();
  const out: MemoryChildResult = {
    impl,
    processes,
    live: r.size,
    rssBefore: before.rss,
    rssAfter: after.rss,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
  };
  if (forkline) {
    const s = forkline.stats();
    out.rows = s.rows;
    out.rowCapacity = s.rowCapacity;
    out.bytesPerRow = s.bytesPerRow;
    const handles = forkline.table.handles as unknown as Record<string, unknown>;
    out.sabBytes = sharedBytes(handles);
    out.sabBreakdown = Object.fromEntries(Object.entries(handles).map(([k, v]) => [k, sharedBytes(v)]).filter(([, n]) => n !== 0));
    out.stringBytes = s.strings.bytes;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main();
