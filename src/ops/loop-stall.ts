// The router stall: how long the main thread, which routes every record,
// was kept from running, measured with node:perf_hooks'
// monitorEventLoopDelay (its timer fires every RESOLUTION_MS; a delay is
// how long since it last fired). Read every second and kept for a minute,
// so that `forkline status` and the metrics can each ask for the worst
// over their own window without resetting what the others read.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The histogram's sampling interval: what an idle loop shows, taken off every figure. */
const RESOLUTION_MS = 10;
const KEEP_MS = 60_000;

interface Second {
  at: number;
  maxMs: number;
  p99Ms: number;
}

export class LoopStall {
  /**
   * Two monitors, reset on alternate seconds. A reset also forgets when the
   * monitor's timer last fired, so a delay under way at a reset (the timer
   * has not fired since the loop was blocked) is lost to that monitor: the
   * other one, not reset then, records it.
   */
  private readonly h: [IntervalHistogram, IntervalHistogram];
  private turn = 0;
  private readonly seconds: Second[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.h = [monitorEventLoopDelay({ resolution: RESOLUTION_MS }), monitorEventLoopDelay({ resolution: RESOLUTION_MS })];
    for (const h of this.h) h.enable();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** The longest stall (ms) over the last `windowMs` (at least the last one or two seconds). */
  maxOver(windowMs: number): number {
    const now = performance.now();
    let max = this.current().maxMs;
    for (let i = this.seconds.length - 1; i >= 0; i--) {
      const s = this.seconds[i]!;
      if (now - s.at > windowMs) break;
      if (s.maxMs > max) max = s.maxMs;
    }
    return max;
  }

  /** The 99th percentile of the delays (ms) of the last one or two seconds. */
  p99(): number {
    return this.seconds.at(-1)?.p99Ms ?? this.current().p99Ms;
  }

  stop(): void {
    clearInterval(this.timer);
    for (const h of this.h) h.disable();
  }

  /** What the monitors hold now: the one reset longer ago covers the last one to two seconds. */
  private current(): Second {
    const [a, b] = this.h;
    const older = this.h[this.turn]!;
    const max = Math.max(a.count > 0 ? a.max : 0, b.count > 0 ? b.max : 0);
    return { at: performance.now(), maxMs: max > 0 ? stallMs(max) : 0, p99Ms: older.count > 0 ? stallMs(older.percentile(99)) : 0 };
  }

  private tick(): void {
    this.seconds.push(this.current());
    this.h[this.turn]!.reset();
    this.turn ^= 1;
    const now = performance.now();
    while (this.seconds.length > 0 && now - this.seconds[0]!.at > KEEP_MS) this.seconds.shift();
  }
}

function stallMs(ns: number): number {
  return Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
}

let main: LoopStall | undefined;

/** The stall monitor of this process's main thread (started on first use, never stopped). */
export function routerStall(): LoopStall {
  return (main ??= new LoopStall());
}
