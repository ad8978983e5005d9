// Per-thread CPU time, to say where the time of a multi-threaded case goes.
// Node 20 has no per-thread CPU clock (process.cpuUsage() sums every thread,
// process.threadCpuUsage() came in Node 23), so this reads Linux's
// /proc/<pid>/task/<tid>/schedstat: nanoseconds on a CPU, nanoseconds
// runnable but waiting for one (the machine is busy), time slices. Reading
// one costs ~10 µs; elsewhere than on Linux the figures are absent (NaN).

import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTime {
  /** ns on a CPU. */
  runNs: number;
  /** ns runnable but waiting for a CPU. */
  waitNs: number;
}

const NONE: ThreadTime = { runNs: Number.NaN, waitNs: Number.NaN };

function read(path: string): ThreadTime {
  try {
    const s = readFileSync(path, 'latin1');
    const sp1 = s.indexOf(' ');
    const sp2 = s.indexOf(' ', sp1 + 1);
    return { runNs: Number(s.slice(0, sp1)), waitNs: Number(s.slice(sp1 + 1, sp2)) };
  } catch {
    return NONE;
  }
}

/** The calling thread's times (any thread: main or worker). */
export function selfThreadTime(): ThreadTime {
  return read('/proc/thread-self/schedstat');
}

/** A thread of this process by its Linux thread id. */
export function threadTime(tid: number): ThreadTime {
  return read(`/proc/self/task/${tid}/schedstat`);
}

/** Thread ids of this process now ([] where /proc is not there). */
export function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [];
  }
}

/** The calling thread's Linux thread id (-1 if unknown). */
export function selfThreadId(): number {
  try {
    const s = readFileSync('/proc/thread-self/stat', 'latin1');
    return Number(s.slice(0, s.indexOf(' ')));
  } catch {
    return -1;
  }
}
