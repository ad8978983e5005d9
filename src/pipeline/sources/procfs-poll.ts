// procfs polling: the last-resort live source, for hosts where neither BPF
// nor the netlink proc connector is available. Each poll scans /proc and
// turns the differences with the cache into events: new pids (fork), pids
// whose start time changed (pid reuse), pids whose image changed (exec) and
// pids that are gone (exit). Processes born and gone between two polls are
// not seen at all: callers must say so to users.

import type { CacheCore } from '../../cache/core.js';
import { procfsExecInput } from '../../procfs/process.js';
import { scanProcfs } from '../../procfs/read.js';

export interface PollCounts {
  fork: number;
  exec: number;
  exit: number;
}

const HOST_NS = 0;

export class ProcfsPoller {
  readonly totals: PollCounts = { fork: 0, exec: 0, exit: 0 };

  constructor(
    private readonly core: CacheCore,
    private readonly procRoot: string,
    private readonly withEnvs = false,
    /** Clock of exit and exec times: nanoseconds since boot, like /proc start times. */
    private readonly now: () => bigint = () => process.hrtime.bigint(),
  ) {}

  /** One poll: applies what changed since the previous one and returns the counts. */
  async poll(): Promise<PollCounts> {
    const scan = await scanProcfs(this.procRoot, { envs: this.withEnvs });
    const time = this.now();
    const counts: PollCounts = { fork: 0, exec: 0, exit: 0 };
    const seen = new Set<number>();
    for (const p of scan.processes) {
      seen.add(p.pid);
      const cached = this.core.peek(p.pid, HOST_NS);
      if (cached && cached.exitTime === 0n && cached.forkTime === p.startTime) {
        if (cached.inode !== p.inode || cached.path !== Buffer.from(p.path).toString('utf8')) {
          this.core.addExec(procfsExecInput(p, time), HOST_NS);
          counts.exec++;
        }
        continue;
      }
      if (cached) this.core.delete(p.pid, time, HOST_NS); // pid reused since the last poll
      this.core.addProcfs(procfsExecInput(p), HOST_NS);
      counts.fork++;
    }
    const gone: number[] = [];
    this.core.walk((e) => {
      if (!seen.has(e.pid) && e.exitTime === 0n) gone.push(e.pid);
    });
    for (const pid of gone) {
      this.core.exit({ pid, time }, HOST_NS);
      counts.exit++;
    }
    this.core.dequeueExited(time);
    this.totals.fork += counts.fork;
    this.totals.exec += counts.exec;
    this.totals.exit += counts.exit;
    return counts;
  }
}
