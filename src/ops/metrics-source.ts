// What the metrics reporter reads: a plain interface the agent implements
// over its pipeline and its capture (docs/metrics.md), and the helper that
// implements it for a Pipeline in one call. Read-only: nothing here changes
// the pipeline.

import { PipelineControl } from '../cache/shards.js';
import type { CaptureStats } from '../native/addon.js';
import type { Pipeline, PipelineStats } from '../pipeline/pipeline.js';
import { routerStall } from './loop-stall.js';

/** A ring's fill, bytes. */
export interface RingFill {
  used: number;
  capacity: number;
}

export interface MetricsSource {
  /** `pipeline.stats()`: per-shard tables, counters and ring use, router counters, worker restarts. */
  pipeline(): PipelineStats;
  /** `captureSource.stats()` for a live source (bpf, netlink); undefined for replay and synthetic sources. */
  capture(): CaptureStats | undefined;
  /** When the run started, ms since the epoch (`Date.now()`). */
  startedAt(): number;
  /**
   * Per shard, from the pipeline's control block: `target[s]` = min(G, D[s]),
   * the watermark shard s must reach to have applied every record dispatched
   * to it so far (PipelineControl.catchUpTarget); `applied[s]` = A[s], the
   * watermark it reached. Read often (apply-latency probes): keep it cheap.
   */
  watermarks(): { target: bigint[]; applied: bigint[] };
  /** Capacity of each shard ring (bytes), and the capture ring's fill for a live source. */
  rings(): { shardCapacity: number; capture?: RingFill };
  /** The longest router stall (ms) over the last `windowMs`: how late the main thread ran (loop-stall.ts). */
  routerStallMs?(windowMs: number): number;
}

export interface PipelineMetricsOptions {
  /** The live source (CaptureSource) whose stats() and ring to report; absent for replay/synthetic. */
  capture?: { stats(): CaptureStats; readonly ring: { stats(): RingFill } };
  /** Default: now. */
  startedAt?: number;
  /** The pipeline's `ringBytes` option (default 4 MiB, the pipeline's default). */
  ringBytes?: number;
}

/** The MetricsSource of a running Pipeline (and its live capture, if any). */
export function pipelineMetricsSource(pipeline: Pipeline, options: PipelineMetricsOptions = {}): MetricsSource {
  const control = new PipelineControl(pipeline.handles.control, pipeline.shards);
  const startedAt = options.startedAt ?? Date.now();
  const shardCapacity = options.ringBytes ?? 4 << 20;
  const capture = options.capture;
  const stall = routerStall();
  return {
    pipeline: () => pipeline.stats(),
    capture: () => capture?.stats(),
    startedAt: () => startedAt,
    watermarks: () => {
      const target: bigint[] = [];
      const applied: bigint[] = [];
      for (let s = 0; s < pipeline.shards; s++) {
        target.push(control.catchUpTarget(s));
        applied.push(control.applied(s));
      }
      return { target, applied };
    },
    routerStallMs: (windowMs) => stall.maxOver(windowMs),
    rings: () => {
      if (!capture) return { shardCapacity };
      const r = capture.ring.stats();
      return { shardCapacity, capture: { used: r.used, capacity: r.capacity } };
    },
  };
}
