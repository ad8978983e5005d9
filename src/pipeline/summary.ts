// The summary of a run: one JSON shape for every command and API that
// applies a stream (`forkline run`, `replay`, createPipeline().done()),
// documented in docs/summary.md.

export interface EventCounts {
  fork: number;
  exec: number;
  exit: number;
  creds: number;
  rename: number;
  lost: number;
  flush: number;
  delete: number;
  reparent: number;
  clock: number;
}

export interface DropCounts {
  /** Every event that did not make it into the cache, whatever the cause. */
  total: number;
  /** A shard ring stayed full. */
  ringFull: number;
  /** A record failed validation. */
  decodeErrors: number;
  /** The process table had no free row even after evicting exited pids. */
  tableFull: number;
  /** Events the kernel (or the source) reported lost. */
  lostEvents: number;
  /** LINK/UNLINK messages between shards that could not be delivered. */
  linkMessages: number;
}

export interface RunSummary {
  source: string;
  shards: number;
  events: EventCounts;
  /** Events applied to the cache. */
  applied: number;
  dropped: DropCounts;
  /** Live pids in the cache at the end. */
  cacheSize: number;
  /** Rows in use (live entries and the exited ancestors they need). */
  rows: number;
  bytesPerRow: number;
  workerRestarts: number;
  seconds: number;
  eventsPerSecond: number;
  /** Live sources (bpf, netlink) only: what the capture itself saw and dropped. */
  capture?: CaptureSummary;
}

export interface CaptureSummary {
  /** Records missing from the per-CPU sequence numbers (also in dropped.lostEvents). */
  lost: number;
  /** Records the capture ring refused (also in dropped.ringFull). */
  ringFull: number;
  /** Records that left the time merge after a later one (applied, out of order). */
  inversions: number;
  /** BPF ring reserve failures in the kernel (a cause of `lost`). */
  reserveFailures: number;
  /** netlink: processes gone before /proc could complete their details. */
  procGone: number;
  /** The startup snapshot of /proc. */
  snapshot: { processes: number; bornDuringSnapshot: number; execDuringSnapshot: number; execDuringSnapshotAsRead: number; vanished: number; kernelThreads: number };
}

export function noEvents(): EventCounts {
  return { fork: 0, exec: 0, exit: 0, creds: 0, rename: 0, lost: 0, flush: 0, delete: 0, reparent: 0, clock: 0 };
}

export function noDrops(): DropCounts {
  return { total: 0, ringFull: 0, decodeErrors: 0, tableFull: 0, lostEvents: 0, linkMessages: 0 };
}

/** One line for people. */
export function formatSummary(s: RunSummary): string {
  const e = s.events;
  const causes = Object.entries(s.dropped)
    .filter(([k, v]) => k !== 'total' && v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${s.source}: ${s.applied} events applied in ${s.seconds.toFixed(2)} s (${Math.round(s.eventsPerSecond)}/s) ` +
    `[fork ${e.fork}, exec ${e.exec}, exit ${e.exit}, creds ${e.creds}, rename ${e.rename}], ` +
    `${s.dropped.total} dropped${causes ? ` (${causes})` : ''}, ${s.cacheSize} processes cached in ${s.rows} rows` +
    (s.workerRestarts > 0 ? `, ${s.workerRestarts} worker restarts` : '') +
    '\n'
  );
}
