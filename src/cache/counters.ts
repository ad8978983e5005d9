// Counters kept by the writer of a process table, in shared memory so that a
// supervisor or a metrics thread can read them without asking the writer.
// One list, one index per name: the only place a counter is defined.

export const WRITER_COUNTERS = [
  'addedEvent',
  'addedSnapshot',
  'addedProcfs',
  'flushed',
  'evicted',
  'pidReuse',
  'execBombs',
  'exitMisses',
  'updateMisses',
  'reparentSuccess',
  'reparentFailed',
  'forkInodeMismatch',
  'execPrevInodeMismatch',
  'argsTruncated',
  'envsTruncated',
  'pathTruncated',
  'rejectedPid0',
  'rejectedKernelThread',
  'rejectedTableFull',
  /** FORK or EXEC records whose pid or ppid no kernel hands out (over MAX_PID): refused, also counted in decodeErrors. */
  'rejectedBadPid',
  /** EXIT records earlier than the fork of the process they name: refused. */
  'exitBeforeFork',
  'stringsFull',
  /** Contexts (tty, containerId, cgroup) stored with their cgroup path cut, the whole not fitting the string table. */
  'ctxTruncated',
  'linkMisses',
  'unlinkMisses',
  // decode stage of a shard (records from a ring or a replay)
  'records',
  'decodeErrors',
  'lostEvents',
  /** LINK/UNLINK messages a worker could not hand to the router (its outbound ring stayed full). */
  'linkMessagesDropped',
] as const;

export type WriterCounter = (typeof WRITER_COUNTERS)[number];

export const C: Readonly<Record<WriterCounter, number>> = Object.fromEntries(
  WRITER_COUNTERS.map((name, i) => [name, i]),
) as Record<WriterCounter, number>;
