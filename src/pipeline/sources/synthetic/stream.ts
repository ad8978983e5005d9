// The synthetic stream: the events of the simulated host (host.ts) as a
// per-CPU ring reader would deliver them, with drops (each reported by a
// later `lost` event), adjacent swaps of events of different CPUs, and
// `flush` ticks. Same options -> the same event list, bit for bit.
//
// Events share immutable parts (argv and envp arrays, credentials objects)
// with the simulation and with each other; they are frozen: never mutate them.

import type { FlushEvent, LostEvent, StreamEvent } from '../../../record/events.js';
import { Host } from './host.js';
import type { PidEvent } from './model.js';
import { resolveOptions, type ResolvedOptions, type SyntheticOptions } from './options.js';
import { Sfc32 } from './prng.js';
import { truthOf, type SyntheticTruth } from './truth.js';

/** PRNG streams: the simulation, drops, swaps. */
const STREAM_DROP = 1;
const STREAM_SWAP = 2;

/** The seeded stream of `options.events` events (docs/synthetic.md). */
export function* syntheticEvents(options: SyntheticOptions): Generator<StreamEvent> {
  const source = new SyntheticStream(options);
  for (let left = source.total; left > 0; left--) yield source.next(left);
}

export function syntheticStream(options: SyntheticOptions): StreamEvent[] {
  return syntheticWithTruth(options).events;
}

export function syntheticWithTruth(options: SyntheticOptions): { events: StreamEvent[]; truth: SyntheticTruth } {
  const source = new SyntheticStream(options);
  const events = new Array<StreamEvent>(source.total);
  for (let i = 0, left = source.total; left > 0; i++, left--) events[i] = source.next(left);
  return { events, truth: source.truth() };
}


function isPidEvent(e: StreamEvent): e is PidEvent {
  return e.type !== 'lost' && e.type !== 'flush' && e.type !== 'delete';
}

/** Parent pid named by a fork or reparent event (they concern both processes), else -1. */
function otherPid(e: PidEvent): number {
  return e.type === 'fork' || e.type === 'reparent' ? e.ppid : -1;
}

/**
 * Two events a per-CPU ring merge may deliver swapped: different CPUs, no
 * process in common (a fork concerns the child and the parent, which emits
 * it; a reparent the orphan and its new parent).
 */
function swappable(a: PidEvent, b: StreamEvent): boolean {
  if (!isPidEvent(b) || a.cpu === b.cpu || a.pid === b.pid) return false;
  const a2 = otherPid(a);
  const b2 = otherPid(b);
  return a2 !== b.pid && b2 !== a.pid && (a2 < 0 || a2 !== b2);
}

/**
 * The stream after the host: drops with `lost` reports, `flush` ticks, and
 * adjacent swaps. next(left) returns the next event when `left` events are
 * still to be emitted (this one included), so that the drops are all
 * reported and nothing is generated that will not be emitted.
 */
class SyntheticStream {
  readonly total: number;
  private readonly o: ResolvedOptions;
  private readonly host: Host;
  /** Drops and swaps draw from their own PRNG streams: the simulation is the same whatever their rates. */
  private readonly dropRng: Sfc32;
  private readonly swapRng: Sfc32;
  /** Time of the last event pulled (before swaps). */
  private last: bigint;
  /** Events dropped on each CPU and not reported yet. */
  private readonly unreported: number[];
  private pendingCpus = 0;
  /** A CPU whose drops are reported by the next event (-1: none). */
  private reportCpu = -1;
  private lost = 0;
  private pulled = 0;
  /** The first event of a swapped pair, emitted next. */
  private held: StreamEvent | null = null;

  constructor(options: SyntheticOptions) {
    this.o = resolveOptions(options);
    this.total = this.o.total;
    this.host = new Host(this.o);
    this.dropRng = new Sfc32(this.o.seed, STREAM_DROP);
    this.swapRng = new Sfc32(this.o.seed, STREAM_SWAP);
    this.last = this.o.startTime - 1n;
    this.unreported = new Array<number>(this.o.cpus).fill(0);
  }

  next(left: number): StreamEvent {
    const held = this.held;
    if (held !== null) {
      this.held = null;
      return held;
    }
    const booting = this.host.booting;
    const a = this.pull(left);
    if (this.o.reorderRate > 0 && left >= 2 && !booting && isPidEvent(a) && this.swapRng.float() < this.o.reorderRate) {
      const b = this.pull(left - 1);
      if (swappable(a, b)) {
        this.held = a;
        return b;
      }
      this.held = b;
    }
    return a;
  }

  private pull(left: number): StreamEvent {
    const index = this.pulled++;
    if (this.pendingCpus > 0 && left <= this.pendingCpus) return this.report(this.unreported.findIndex((n) => n > 0));
    const every = this.o.flushEvery;
    if (every > 0 && (index + 1) % every === 0) {
      const flush: FlushEvent = { type: 'flush', time: ++this.last, cpu: 0 };
      return flush;
    }
    if (this.reportCpu >= 0) {
      const cpu = this.reportCpu;
      this.reportCpu = -1;
      if (this.unreported[cpu]! > 0) return this.report(cpu);
    }
    for (;;) {
      const booting = this.host.booting;
      const ev = this.host.step();
      const u = this.unreported;
      // No drops during boot, nor so near the end that a report could not follow.
      if (this.o.lostRate > 0 && !booting && left > this.o.cpus + 2 && this.dropRng.float() < this.o.lostRate) {
        if (u[ev.cpu]!++ === 0) this.pendingCpus++;
        this.lost++;
        continue;
      }
      // The reader notices a CPU's drops when it reads that CPU's next record.
      if (u[ev.cpu]! > 0) this.reportCpu = ev.cpu;
      this.last = ev.time;
      return ev;
    }
  }

  private report(cpu: number): LostEvent {
    const count = this.unreported[cpu]!;
    this.unreported[cpu] = 0;
    this.pendingCpus--;
    return { type: 'lost', time: ++this.last, cpu, count };
  }


  truth(): SyntheticTruth {
    return truthOf(this.host.liveProcs(), this.host.counts, this.lost);
  }
}
