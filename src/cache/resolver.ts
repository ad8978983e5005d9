// ProcessResolver: the embedded, single-threaded process cache keyed by pid.
// A thin facade over CacheCore; the semantics are in docs/cache.md.

import { CacheCore, GID_FIELDS, UID_FIELDS, type ContextUpdate, type ResolverOptions, type ResolverStats } from './core.js';
import type { ExecInput, ExitInput, ForkInput } from '../record/events.js';
import type { LineageResult, ProcessEntry, ValuesWithTruncation } from './types.js';
import type { ProcessTable } from './table.js';
import type { RecordEvent } from '../record/events.js';

const HOST_NS = 0;

export class ProcessResolver {
  private readonly core: CacheCore;

  constructor(options?: ResolverOptions) {
    this.core = new CacheCore(options);
  }

  /** The shared tables behind this resolver (for readers in other threads). */
  get table(): ProcessTable {
    return this.core.table;
  }

  /** Pids in the live cache. */
  get size(): number {
    return this.core.size;
  }

  /**
   * Applies a buffer of records (docs/record-format.md), as a shard worker
   * does; returns the offset after the last whole record.
   */
  applyRecords(bytes: Uint8Array, off = 0, end = bytes.length): number {
    return this.core.applyRecords(bytes, off, end);
  }

  /** Applies one stream event (e.g. from the synthetic source) through the record path. */
  applyEvent(ev: RecordEvent): void {
    this.core.applyEvent(ev);
  }

  addForkEntry(ev: ForkInput): ProcessEntry | undefined {
    return this.core.addFork(ev, HOST_NS);
  }

  addExecEntry(ev: ExecInput): ProcessEntry | undefined {
    return this.core.addExec(ev, HOST_NS);
  }

  applyExitEntry(ev: ExitInput): boolean {
    return this.core.exit(ev, HOST_NS);
  }

  deleteEntry(pid: number, time: bigint): void {
    this.core.delete(pid, time, HOST_NS);
  }

  /** Flushes exited pids older than the retention; returns how many left the cache. */
  dequeueExited(now?: bigint): number {
    return this.core.dequeueExited(now);
  }

  resolve(pid: number): ProcessEntry | undefined {
    return this.core.resolve(pid, HOST_NS);
  }

  /**
   * A process moved to another cgroup, or its container became known (the
   * seed's UpdateProcessContexts): its current entry takes the fields given,
   * in place. False (counted in updateMisses) for an unknown pid.
   */
  updateProcessContexts(pid: number, contexts: ContextUpdate): boolean {
    return this.core.updateContexts(pid, HOST_NS, contexts);
  }

  /** The current entry of pid, counting neither a hit nor a miss and with no /proc fallback (the seed's Get). */
  peek(pid: number): ProcessEntry | undefined {
    return this.core.peek(pid, HOST_NS);
  }

  walk(cb: (entry: ProcessEntry) => void): void {
    this.core.walk(cb);
  }

  toJSON(raw = false): string {
    return this.core.toJSON(raw);
  }

  toDot(withArgs = false): string {
    return this.core.toDot(withArgs);
  }

  dump(format: 'json' | 'dot' = 'json'): Promise<string> {
    return this.core.dump(format);
  }

  updateUid(pid: number, c: { uid?: number; euid?: number; fsuid?: number }): boolean {
    return this.core.updateCredentials(pid, HOST_NS, c, UID_FIELDS);
  }

  updateGid(pid: number, c: { gid?: number; egid?: number; fsgid?: number }): boolean {
    return this.core.updateCredentials(pid, HOST_NS, c, GID_FIELDS);
  }

  updateCapset(pid: number, c: { effective?: bigint; permitted?: bigint }): boolean {
    const caps = typeof c === 'object' && c !== null ? c : ({} as never);
    return this.core.updateCredentials(
      pid,
      HOST_NS,
      { capEffective: caps.effective, capPermitted: caps.permitted },
      ['capEffective', 'capPermitted'],
    );
  }

  updateLoginUid(pid: number, auid: number): boolean {
    return this.core.updateCredentials(pid, HOST_NS, { auid }, ['auid']);
  }

  tryReparentFromKernelPPid(pid: number, kernelPPid: number): boolean {
    return this.core.reparent(pid, kernelPPid, HOST_NS);
  }

  getProcessArgvScrubbed(entry: ProcessEntry): ValuesWithTruncation {
    return this.core.argvScrubbed(entry);
  }

  getProcessEnvs(entry: ProcessEntry): ValuesWithTruncation {
    return this.core.envs(entry);
  }

  getProcessEnvp(entry: ProcessEntry): ValuesWithTruncation {
    return this.core.envp(entry);
  }

  hasValidLineage(entry: ProcessEntry): LineageResult {
    return this.core.lineage(entry);
  }

  /** Reads every process of /proc into the cache (source 'snapshot'). */
  snapshot(): Promise<void> {
    return this.core.snapshot((p) => ({ pid: p.pid, ppid: p.ppid, pidns: HOST_NS }));
  }

  stats(): ResolverStats {
    return this.core.stats();
  }

  /**
   * Runs the resolver in the background (the seed's Start): exited entries
   * are flushed by the clock every `dequeueIntervalMs`, and with `statsd`
   * the counters are sent every `statsIntervalMs`. Timers do not keep the
   * process alive.
   */
  start(): void {
    this.core.runner.start();
  }

  /** Stops the background work; with `statsd`, sends the counters a last time and closes a client it made. */
  stop(): Promise<void> {
    return this.core.runner.stop();
  }

  /** Sends the counters now (the seed's SendStats): growth since the last send as counts, levels as gauges. False without `statsd`. */
  sendStats(): boolean {
    return this.core.runner.sendStats();
  }
}
