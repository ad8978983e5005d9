// Shared helpers of the pipeline tests: encoded synthetic streams, the
// single-threaded reference (ProcessResolver over the same records), and a
// field-by-field comparison of the lineage two readers give.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryEnvp } from '../../src/cache/entry.js';
import { ProcessResolver } from '../../src/cache/resolver.js';
import type { ProcessEntry } from '../../src/cache/types.js';
import { H_SIZE, MAX_RECORD_SIZE } from '../../src/record/constants.js';
import { encodeEvent } from '../../src/record/encode.js';
import type { RecordEvent } from '../../src/record/events.js';
import type { RecordChunk, RecordSource } from '../../src/pipeline/source.js';
import type { Pipeline, PipelineSummary } from '../../src/pipeline/pipeline.js';
import { syntheticChunks } from '../../src/pipeline/sources/synthetic/record-source.js';
import type { SyntheticOptions } from '../../src/pipeline/sources/synthetic/options.js';
import { syntheticEvents } from '../../src/pipeline/sources/synthetic/stream.js';
import type { StreamEventType } from '../../src/record/events.js';

/** The records of a synthetic stream, back to back, as the synthetic source encodes them. */
export function syntheticBytes(options: SyntheticOptions): Uint8Array {
  const chunks = [...syntheticChunks(options)];
  return concat(chunks.map((c) => c.bytes));
}

/** Encodes events back to back (with the record format's own encoder). */
export function encodeAll(events: readonly RecordEvent[]): Uint8Array {
  const out = new Uint8Array(events.length * 256 + MAX_RECORD_SIZE);
  let buf = out;
  let at = 0;
  for (const ev of events) {
    if (buf.length - at < MAX_RECORD_SIZE) {
      const bigger = new Uint8Array(buf.length * 2 + MAX_RECORD_SIZE);
      bigger.set(buf.subarray(0, at));
      buf = bigger;
    }
    at += encodeEvent(ev, buf, at);
  }
  return buf.slice(0, at);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Offsets of the records of a buffer of whole records. */
export function recordOffsets(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let off = 0; off < bytes.length; off += dv.getUint32(off + H_SIZE, true)) out.push(off);
  return out;
}

/** How many events of each type a synthetic stream has (counted from the events themselves), and the sum of its lost counts. */
export function countTypes(options: SyntheticOptions): { types: Record<StreamEventType, number>; lostCount: number } {
  const types: Record<StreamEventType, number> = {
    fork: 0, exec: 0, exit: 0, creds: 0, rename: 0, lost: 0, flush: 0, delete: 0, reparent: 0,
  };
  let lostCount = 0;
  for (const ev of syntheticEvents(options)) {
    types[ev.type]++;
    if (ev.type === 'lost') lostCount += ev.count;
  }
  return { types, lostCount };
}

export interface ReferenceOptions {
  capacity: number;
  exitedRetention: bigint;
  envsResolution?: boolean;
}

/** The single-threaded reference: ProcessResolver applying the same records. */
export function reference(bytes: Uint8Array, o: ReferenceOptions): ProcessResolver {
  const r = new ProcessResolver({ capacity: o.capacity, exitedRetention: o.exitedRetention, envsResolution: o.envsResolution === true });
  const end = r.applyRecords(bytes);
  if (end !== bytes.length) throw new Error(`reference: applyRecords stopped at ${end} of ${bytes.length}`);
  return r;
}

/** A record source over an in-memory buffer, in chunks of whole records (replayable). */
export class BufferSource implements RecordSource {
  readonly name = 'buffer';
  readonly replayable = true;
  readonly totalBytes: number;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly chunkBytes = 1 << 16,
  ) {
    this.totalBytes = bytes.length;
  }

  async *chunks(): AsyncIterable<RecordChunk> {
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    let start = 0;
    let off = 0;
    while (off < this.bytes.length) {
      const size = dv.getUint32(off + H_SIZE, true);
      if (size === 0 || (size & 7) !== 0) {
        // unframable: hand over the rest, the router reports it
        yield { bytes: this.bytes.subarray(start), streamOffset: start };
        return;
      }
      off += size;
      if (off - start >= this.chunkBytes || off >= this.bytes.length) {
        yield { bytes: this.bytes.subarray(start, Math.min(off, this.bytes.length)), streamOffset: start };
        start = off;
      }
    }
  }
}

/** The fields of an entry that two caches over the same stream must agree on. */
export function entryFields(e: ProcessEntry, withEnvs = false) {
  const c = e.credentials;
  return {
    pid: e.pid,
    ppid: e.ppid,
    pidns: e.pidns,
    forkTime: e.forkTime,
    execTime: e.execTime,
    exitTime: e.exitTime,
    exitCode: e.exitCode,
    path: e.path,
    pathTruncated: e.pathTruncated,
    argv: [...e.argv],
    argsTruncated: e.argsTruncated,
    envsTruncated: e.envsTruncated,
    envp: withEnvs ? [...entryEnvp(e)] : undefined,
    comm: e.comm,
    inode: e.inode,
    credentials: {
      uid: c.uid, gid: c.gid, euid: c.euid, egid: c.egid, fsuid: c.fsuid, fsgid: c.fsgid, auid: c.auid,
      capEffective: c.capEffective, capPermitted: c.capPermitted,
    },
    tty: e.tty,
    containerId: e.containerId,
    cgroup: e.cgroup,
    interpreter: e.interpreter,
    namespaces: { ...e.namespaces },
    isExec: e.isExec,
    isExecExec: e.isExecExec,
    isParentMissing: e.isParentMissing,
    source: e.source,
  };
}

/** An entry and its ancestors, nearest first, as comparable fields. */
export function chainFields(e: ProcessEntry | undefined, withEnvs = false) {
  const out: ReturnType<typeof entryFields>[] = [];
  for (let a = e; a; a = a.ancestor) out.push(entryFields(a, withEnvs));
  return out;
}

interface Resolves {
  resolve(pid: number): ProcessEntry | undefined;
}

/**
 * Every difference between the lineage two readers give for `pids`:
 * undefined-ness, then each entry of the ancestor chain field by field.
 * Empty when they agree. Kept short (the first `limit` differences).
 */
export function lineageDiff(expected: Resolves, actual: Resolves, pids: Iterable<number>, withEnvs = false, limit = 5): string[] {
  const diffs: string[] = [];
  for (const pid of pids) {
    const want = chainFields(expected.resolve(pid), withEnvs);
    const got = chainFields(actual.resolve(pid), withEnvs);
    if (want.length === 0 && got.length === 0) continue;
    if (want.length === 0 || got.length === 0) {
      diffs.push(`pid ${pid}: reference ${want.length === 0 ? 'undefined' : 'resolves'}, pipeline ${got.length === 0 ? 'undefined' : 'resolves'}`);
    } else {
      const n = Math.max(want.length, got.length);
      for (let i = 0; i < n; i++) {
        const w = want[i];
        const g = got[i];
        if (!w || !g) {
          diffs.push(`pid ${pid}: chain length ${want.length} (reference) vs ${got.length} (pipeline)`);
          break;
        }
        const fields = Object.keys(w) as (keyof typeof w)[];
        const bad = fields.filter((f) => stringify(w[f]) !== stringify(g[f]));
        if (bad.length > 0) {
          diffs.push(`pid ${pid}, chain[${i}]: ${bad.map((f) => `${f}: ${stringify(w[f])} (reference) vs ${stringify(g[f])} (pipeline)`).join('; ')}`);
          break;
        }
      }
    }
    if (diffs.length >= limit) break;
  }
  return diffs;
}

export function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? 'undefined';
}

/** Every way the pipeline's final state can differ from the reference's; empty when equal. */
export function differences(
  { pipeline, summary, ref }: { pipeline: Pipeline; summary: PipelineSummary; ref: ProcessResolver },
  envs: boolean,
  { restarts = false } = {},
): string[] {
  const out: string[] = [];
  const view = pipeline.reader();
  const refPids = livePidsOf(ref);
  const pipePids = new Set(view.liveEntries().map((e) => e.pid));
  const all = new Set([...refPids, ...pipePids]);
  out.push(...lineageDiff(ref, view, [...all].sort((a, b) => a - b), envs));
  const stats = pipeline.stats();
  const cacheSize = stats.shards.reduce((n, s) => n + s.cacheSize, 0);
  const rows = stats.shards.reduce((n, s) => n + s.rows, 0);
  const refStats = ref.stats();
  if (ref.size !== cacheSize) out.push(`cache size: reference ${ref.size}, pipeline shards ${cacheSize}`);
  if (summary.cacheSize !== ref.size) out.push(`summary.cacheSize ${summary.cacheSize}, reference ${ref.size}`);
  if (refPids.size !== pipePids.size) out.push(`live pids: reference ${refPids.size}, pipeline ${pipePids.size}`);
  if (refStats.rows !== rows) out.push(`rows (memory retention): reference ${refStats.rows}, pipeline ${rows}`);
  if (summary.rows !== rows) out.push(`summary.rows ${summary.rows}, stats() rows ${rows}`);
  if (summary.dropped.total - summary.dropped.lostEvents !== 0) out.push(`pipeline dropped records: ${stringify(summary.dropped)}`);
  if (!restarts && summary.workerRestarts !== 0) out.push(`worker restarts: ${summary.workerRestarts}`);
  // the same apply code ran over the same records: the cache's own counters agree too
  const sum = (name: keyof (typeof stats.shards)[number]['counters']) => stats.shards.reduce((n, s) => n + s.counters[name], 0);
  const counters = {
    addedEvent: [refStats.added.event, sum('addedEvent')],
    flushed: [refStats.flushed, sum('flushed')],
    pidReuse: [refStats.pidReuse, sum('pidReuse')],
    execBombs: [refStats.execBombs, sum('execBombs')],
    exitMisses: [refStats.exitMisses, sum('exitMisses')],
    updateMisses: [refStats.updateMisses, sum('updateMisses')],
    reparentSuccess: [refStats.reparent.success, sum('reparentSuccess')],
    forkInodeMismatch: [refStats.inodeErrors.forkInodeMismatch, sum('forkInodeMismatch')],
    execPrevInodeMismatch: [refStats.inodeErrors.execPrevInodeMismatch, sum('execPrevInodeMismatch')],
    rejectedKernelThread: [refStats.rejected.kernelThread, sum('rejectedKernelThread')],
  };
  // (after a restart the rebuild applies records a second time: counters are checked apart, faults.test.ts)
  for (const [name, [want, got]] of restarts ? [] : Object.entries(counters)) {
    if (want !== got) out.push(`counter ${name}: reference ${want}, pipeline ${got}`);
  }
  const evicted = stats.shards.reduce((n, s) => n + s.counters.evicted + s.counters.rejectedTableFull, 0);
  if (evicted !== 0) out.push(`pipeline evicted or rejected ${evicted} rows: CAPACITY too small for the test`);
  return out;
}

/** Pids of the live cache of a ProcessResolver. */
export function livePidsOf(r: { walk(cb: (e: ProcessEntry) => void): void }): Set<number> {
  const pids = new Set<number>();
  r.walk((e) => pids.add(e.pid));
  return pids;
}

/** A fresh temp directory, removed by the returned function. */
export function tempDir(prefix = 'forkline-pipeline-'): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` and returns its rejection (fails when it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<Error & { code?: string; offset?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; offset?: number };
  }
  throw new Error('expected a rejection, but the promise resolved');
}
