// The router stall: how long the main thread, which routes every record,
// was kept from running, measured with node:perf_hooks'
// monitorEventLoopDelay (its timer fires every RESOLUTION_MS; a delay is
// how late it fired). Read per second and kept for a minute, so that
// `forkline status`, the status line and the metrics can each ask for the
// worst over their own window without resetting what the others read.

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
  private readonly h: IntervalHistogram;
  private readonly seconds: Second[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.h.enable();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** The longest stall (ms) over the last `windowMs`, the second under way included. */
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

  /** The 99th percentile of the delays of the last full second (ms). */
  p99(): number {
    return this.seconds.at(-1)?.p99Ms ?? this.current().p99Ms;
  }

  stop(): void {
    clearInterval(this.timer);
    this.h.disable();
  }

  private current(): Second {
    const h = this.h;
    if (h.count === 0) return { at: performance.now(), maxMs: 0, p99Ms: 0 };
    return { at: performance.now(), maxMs: stallMs(h.max), p99Ms: stallMs(h.percentile(99)) };
  }

  private tick(): void {
    this.seconds.push(this.current());
    this.h.reset();
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
