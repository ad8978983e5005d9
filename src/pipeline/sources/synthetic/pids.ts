// The simulated host's live processes: a dense list (random picks), a pid
// table, and pid allocation as the kernel does it (alloc_pid).

import type { Proc } from './model.js';

/** The kernel wraps pid allocation back to RESERVED_PIDS. */
const RESERVED_PIDS = 300;

export class PidTable {
  /** Every live process, in no order; Proc.liveAt is its position. */
  readonly live: Proc[] = [];
  /** pid -> live process. */
  private readonly byPid: (Proc | undefined)[];
  /** The pid allocated last. */
  last = 0;

  constructor(private readonly pidMax: number) {
    this.byPid = new Array<Proc | undefined>(pidMax);
  }

  /** Like alloc_pid(): the next pid above the last one, wrapping to 300, skipping pids in use; -1 when all are. */
  alloc(): number {
    const max = this.pidMax;
    let pid = this.last;
    for (let n = 0; n < max; n++) {
      pid++;
      if (pid >= max) pid = RESERVED_PIDS;
      if (this.byPid[pid] === undefined) {
        this.last = pid;
        return pid;
      }
    }
    return -1;
  }

  add(p: Proc): void {
    p.liveAt = this.live.length;
    this.live.push(p);
    this.byPid[p.pid] = p;
  }

  remove(p: Proc): void {
    const last = this.live.pop()!;
    if (last !== p) {
      this.live[p.liveAt] = last;
      last.liveAt = p.liveAt;
    }
    p.liveAt = -1;
    this.byPid[p.pid] = undefined;
  }
}
