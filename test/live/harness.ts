// Shared by the live tests: why a live test cannot run here (said in the
// test name and on stderr, never a silent skip), a pipeline fed by a live
// source, and polling until the cache shows what the kernel did.

import { existsSync } from 'node:fs';
import { ADDON_PATH, BPF_OBJECT_PATH, loadAddon } from '../../src/native/addon.js';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.js';
import { CaptureSource, type CaptureKind } from '../../src/pipeline/sources/capture.js';
import type { ReplayWriter } from '../../src/pipeline/sources/replay.js';
import type { ProcessView } from '../../src/cache/view.js';
import type { ProcessEntry } from '../../src/cache/types.js';
import type { RunSummary } from '../../src/pipeline/summary.js';

/** Why live tests of `kind` cannot run on this machine, or undefined when they can. */
export function liveSkipReason(kind: CaptureKind): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `live ${kind} capture needs root; this test runs as uid ${uid}`;
  if (!existsSync(ADDON_PATH)) return `the native addon is not built (${ADDON_PATH}): run "npm run build:native" as root, which installs what it needs`;
  if (kind === 'bpf' && !existsSync(BPF_OBJECT_PATH)) return `the BPF object is not built (${BPF_OBJECT_PATH}): run "npm run build:native"`;
  if (kind === 'bpf' && !existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load';
  return undefined;
}

/** A describe() title that carries the skip reason, printed once on stderr too. */
export function liveTitle(title: string, skip: string | undefined): string {
  if (skip === undefined) return title;
  process.stderr.write(`SKIPPED ${title}: ${skip}\n`);
  return `${title} (skipped: ${skip})`;
}

export interface Live {
  source: CaptureSource;
  pipeline: Pipeline;
  view: ProcessView;
  /** Boot-clock now (the clock of record times). */
  now(): bigint;
  /** Waits until every record the kernel stamped up to `time` reached the capture ring. */
  caughtUp(time: bigint, timeoutMs?: number): Promise<void>;
  stop(): Promise<RunSummary>;
}

export interface LiveOptions {
  snapshot?: boolean;
  shards?: number;
  capacity?: number;
  recorder?: ReplayWriter;
  /** Bytes of the capture ring (native thread -> router). */
  ringBytes?: number;
  /** Bytes of each shard ring (router -> worker). */
  shardRingBytes?: number;
  snapshotDelayMs?: number;
  /** The capture's latency budget (CaptureSourceOptions.maxLatencyMs). */
  maxLatencyMs?: number;
}

export function startLive(kind: CaptureKind, o: LiveOptions = {}): Live {
  const source = new CaptureSource({ kind, snapshot: o.snapshot ?? true, recorder: o.recorder, ringBytes: o.ringBytes, snapshotDelayMs: o.snapshotDelayMs, maxLatencyMs: o.maxLatencyMs });
  source.start();
  const pipeline = createPipeline({
    source,
    shards: o.shards ?? 2,
    capacity: o.capacity ?? 1 << 16,
    exitedRetention: 600_000_000_000n, // exited processes stay resolvable through the whole test
    onFull: 'block',
    blockTimeoutMs: 5000,
    ringBytes: o.shardRingBytes,
  });
  pipeline.start();
  const done = pipeline.done();
  done.catch(() => {});
  const addon = loadAddon();
  return {
    source,
    pipeline,
    view: pipeline.reader({ linkWaitMs: 1000 }),
    now: () => addon.bootTimeNs(),
    async caughtUp(time, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (source.stats().releasedUpTo < time) {
        if (Date.now() > deadline) throw new Error(`capture did not reach boot time ${time} in ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    async stop() {
      source.stop();
      return done;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `check` until it stops throwing, or throws its last error after timeoutMs. */
export async function eventually(check: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

/** The chain from an entry up, itself first. */
export function chain(e: ProcessEntry | undefined): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (; e; e = e.ancestor) out.push(e);
  return out;
}

/** The entries of a pid's own exec chain (newest first), and the first entry of another pid above them: its parent. */
export function ownAndParent(e: ProcessEntry | undefined): { own: ProcessEntry[]; parent: ProcessEntry | undefined } {
  const all = chain(e);
  const i = all.findIndex((a) => a.pid !== all[0]!.pid);
  return { own: i < 0 ? all : all.slice(0, i), parent: i < 0 ? undefined : all[i] };
}
