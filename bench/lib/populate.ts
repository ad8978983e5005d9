// Resolvers populated from the standard stream, and the realistic pieces of
// it (exec images, credential changes) that per-event-type cases reuse.

import { ProcessResolver, type ResolverOptions } from '../../src/index.js';
import { NaiveResolver } from '../naive-resolver.js';
import { applyOpsForkline, applyOpsNaive, OP_CREDS, OP_EXEC, type Op } from './ops.js';

/**
 * Simulated time an exited pid stays resolvable. The standard stream runs at
 * 1M events per simulated second (docs/synthetic.md), a thousand times a busy
 * host's rate, so 5 ms here retains what the default 5 s retains on a host
 * doing 1000 events/s: about 5000 events' worth of exited processes.
 */
export const BENCH_RETENTION = 5_000_000n;

/**
 * Options of every ProcessResolver the suites build. The capacity leaves
 * room for the live processes of the stream, the exited ancestors they keep
 * and the retention window; the cases report table-full rejections, which
 * must stay 0.
 */
export function resolverOptions(capacity: number): ResolverOptions {
  return { capacity, exitedRetention: BENCH_RETENTION };
}

export interface Populated {
  forkline: ProcessResolver;
  naive: NaiveResolver;
  /** Pids running (not exited) in both resolvers. */
  livePids: number[];
}

export function populate(ops: readonly Op[], capacity: number): Populated {
  const forkline = new ProcessResolver(resolverOptions(capacity));
  const naive = new NaiveResolver();
  applyOpsForkline(forkline, ops, 0, ops.length);
  applyOpsNaive(naive, ops, 0, ops.length);
  const livePids: number[] = [];
  for (const pid of naive.processes.keys()) {
    const e = forkline.resolve(pid);
    if (e !== undefined && e.exitTime === 0n) livePids.push(pid);
  }
  livePids.sort((a, b) => a - b);
  return { forkline, naive, livePids };
}

/** Newest event time of a stream's ops (to continue the clock after it). */
export function lastTime(ops: readonly Op[]): bigint {
  let t = 0n;
  for (const o of ops) {
    const v = o.fork?.time ?? o.exec?.time ?? o.exit?.time ?? o.time;
    if (v > t) t = v;
  }
  return t;
}

export const execTemplates = (ops: readonly Op[]): Op[] => ops.filter((o) => o.k === OP_EXEC && o.exec!.argv !== undefined);
export const credsTemplates = (ops: readonly Op[]): Op[] => ops.filter((o) => o.k === OP_CREDS);

/** Deterministic PRNG (mulberry32) for picking pids and templates. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
