// The live sources: BPF (kernel tracepoints, native/bpf_reader.cc) and the
// netlink proc connector (native/netlink_capture.cc). The native capture
// thread writes records into a capture ring; this source hands that ring's
// bytes to the router without copying.
//
// Startup ordering (no process born during the snapshot is missed or
// doubled): the capture starts first (programs attached, events buffered
// in the capture ring), then /proc is scanned, then the snapshot goes out as
// FORK records flagged SNAPSHOT, parents first, then the buffered live
// records. A process whose FORK is among the buffered records is left out of
// the snapshot: its FORK (with the kernel's image) creates it.

import { ForklineError } from '../../errors.js';
import { BPF_OBJECT_PATH, loadAddon, type CaptureStats, type NativeCapture } from '../../native/addon.js';
import type { ForkEvent } from '../../record/events.js';
import {
  EXEC_INODE,
  EXEC_PID,
  EXEC_PREV_INODE,
  FLUSH_SIZE,
  FORK_PID,
  H_TIME,
  H_TYPE,
  MAX_RECORD_SIZE,
  REC_EXEC,
  REC_FORK,
} from '../../record/constants.js';
import { getU64 } from '../../record/decode.js';
import { encodeEvent, encodeFlush } from '../../record/encode.js';
import { ShardRing } from '../../ring/shard-ring.js';
import type { RecordChunk, RecordSource } from '../source.js';
import type { CaptureSummary } from '../summary.js';
import { CLK_TCK } from '../../procfs/parse.js';
import type { ProcfsProcess } from '../../procfs/process.js';
import { scanProcfs } from '../../procfs/read.js';
import type { ReplayWriter } from './replay.js';

export type CaptureKind = 'bpf' | 'netlink';

export interface CaptureSourceOptions {
  kind: CaptureKind;
  /** Root of the proc filesystem for the startup snapshot (default /proc). */
  procRoot?: string;
  /** Bytes of the capture ring between the native thread and the router (default 16 MiB). */
  ringBytes?: number;
  /** Bytes of each per-CPU BPF ring buffer (default 4 MiB). */
  ringBytesPerCpu?: number;
  /** argv bound per record (default 4096). */
  argvMaxBytes?: number;
  /** Capture environment variables (names only are kept unless allowlisted by the cache). */
  captureEnvs?: boolean;
  /** Reorder window of the BPF per-CPU merge, microseconds (default 5000). */
  reorderWindowUs?: number;
  /**
   * Latency budget, ms (default DEFAULT_MAX_LATENCY_MS): the longest the
   * BPF reader thread lets records sit in the kernel rings before it drains
   * them (the kernel wakes it earlier only when a ring fills past a
   * quarter). Larger: fewer wake-ups, less CPU; smaller: fresher cache. A
   * record is visible about reorder window + this after the kernel stamped
   * it (docs/capture.md, "Latency budget").
   */
  maxLatencyMs?: number;
  /** BPF: processes running a script whose script path is remembered for their forks (0..65536, default 4096; ~1.1 KiB of locked kernel memory each). */
  scriptImages?: number;
  /** Where the verifier log goes when the kernel rejects a program. */
  verifierLogPath?: string;
  /** Skip the /proc snapshot (tests of the live stream alone). */
  snapshot?: boolean;
  /** Exited processes are flushed (retention) at FLUSH records sent this often (ms, default 1000). */
  flushIntervalMs?: number;
  /** Record the stream given to the router into this file (`forkline run --record`). */
  recorder?: ReplayWriter;
  /**
   * Waits this long between the attach and the /proc scan (default 0). Tests
   * widen with it the window in which a new process is both buffered and
   * on /proc, which the snapshot must not send twice.
   */
  snapshotDelayMs?: number;
}

/** What the snapshot left out or sent. */
export interface SnapshotCounts {
  processes: number;
  /** Left out: their FORK was among the buffered live records. */
  bornDuringSnapshot: number;
  /** Exec'd between the attach and the scan: sent with their image before that exec (their parent's). */
  execDuringSnapshot: number;
  /** The same, when the image before the exec was not the parent's: sent as /proc showed them (the new image twice in the chain). */
  execDuringSnapshotAsRead: number;
  vanished: number;
  kernelThreads: number;
}

const TICK_NS = 1_000_000_000n / BigInt(CLK_TCK);

/** Default latency budget of the live sources, ms (CaptureSourceOptions.maxLatencyMs). */
export const DEFAULT_MAX_LATENCY_MS = 4;

/** A latency budget checked: an integer in 1..1000 ms, else a ForklineError ERR_BPF_OPTIONS naming it. */
export function checkMaxLatencyMs(ms: number | undefined): number {
  if (ms === undefined) return DEFAULT_MAX_LATENCY_MS;
  if (!Number.isInteger(ms) || ms < 1 || ms > 1000) {
    throw new ForklineError('ERR_BPF_OPTIONS', `maxLatencyMs must be an integer number of milliseconds in 1..1000, got ${String(ms)}`);
  }
  return ms;
}

/** How long the main thread sleeps at most when no record comes (FLUSH checks, stop). */
const IDLE_WAKE_MS = 250;

export class CaptureSource implements RecordSource {
  readonly name: CaptureKind;
  readonly replayable = false;
  readonly ring: ShardRing;
  readonly snapshotCounts: SnapshotCounts = { processes: 0, bornDuringSnapshot: 0, execDuringSnapshot: 0, execDuringSnapshotAsRead: 0, vanished: 0, kernelThreads: 0 };
  private readonly capture: NativeCapture;
  private started = false;
  private stopped = false;
  /** The latency budget, ms. */
  readonly maxLatencyMs: number;

  constructor(private readonly opts: CaptureSourceOptions) {
    this.name = opts.kind;
    this.maxLatencyMs = checkMaxLatencyMs(opts.maxLatencyMs);
    const addon = loadAddon();
    this.ring = ShardRing.create(opts.ringBytes ?? 16 << 20, { onFull: 'drop', blockTimeoutMs: 0 });
    const ring = this.ring;
    this.capture = new addon.Capture(
      {
        kind: opts.kind,
        ring: new Uint8Array(ring.buffer),
        objectPath: BPF_OBJECT_PATH,
        ringBytesPerCpu: opts.ringBytesPerCpu,
        argvMaxBytes: opts.argvMaxBytes,
        captureEnvs: opts.captureEnvs === true,
        verifierLogPath: opts.verifierLogPath ?? '/tmp/forkline-verifier.log',
        procRoot: opts.procRoot ?? '/proc',
        reorderWindowUs: opts.reorderWindowUs,
        readerTickUs: this.maxLatencyMs * 1000,
        scriptImages: opts.scriptImages,
      },
      // once per consumer sleep, on the main thread: ends its waitForWake()
      () => ring.wake(),
    );
  }

  /**
   * Attaches (bpf) or subscribes (netlink) and starts buffering. Throws a
   * ForklineError whose code names what is missing (ERR_BPF_PRIVILEGE,
   * ERR_BPF_REJECTED, ERR_NETLINK_UNSUPPORTED, …).
   */
  start(): void {
    if (this.started) throw new ForklineError('ERR_CAPTURE_STATE', `${this.name} capture started twice`);
    try {
      this.capture.start();
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new ForklineError((e.code ?? 'ERR_BPF_MAP') as ForklineError['code'], `${this.name}: ${e.message}`);
    }
    this.started = true;
  }

  /** Stops the capture: what it buffered still goes out, then chunks() ends. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.capture.stop();
    this.ring.wake();
  }

  bootMinusMonoMs(): number {
    // read back to back; the gap between the two reads (~1 µs) is the error
    const boot = Number(loadAddon().bootTimeNs()) / 1e6;
    return boot - Number(process.hrtime.bigint()) / 1e6;
  }

  stats(): CaptureStats {
    return this.capture.stats();
  }

  captureSummary(): CaptureSummary {
    const c = this.stats();
    return {
      lost: Number(c.lost),
      ringFull: Number(c.ringFull),
      inversions: Number(c.inversions ?? 0n),
      reserveFailures: (c.reserveFailuresByCpu ?? []).reduce((a, b) => a + Number(b), 0),
      procGone: Number(c.procGone ?? 0n),
      snapshot: { ...this.snapshotCounts },
    };
  }

  async *chunks(): AsyncGenerator<RecordChunk> {
    if (!this.started) throw new ForklineError('ERR_CAPTURE_STATE', `${this.name} capture read before start()`);
    let streamOffset = 0;
    const recorder = this.opts.recorder;
    const chunk = (bytes: Uint8Array): RecordChunk => {
      const c = { bytes, streamOffset };
      streamOffset += bytes.length;
      return c;
    };
    const out = async (bytes: Uint8Array): Promise<RecordChunk> => {
      if (recorder) await recorder.write(bytes);
      return chunk(bytes);
    };
    if (this.opts.snapshot !== false) {
      for (const bytes of await this.snapshotRecords()) yield await out(bytes);
    }
    const ring = this.ring;
    const flushEveryMs = this.opts.flushIntervalMs ?? 1000;
    const flushEvery = BigInt(flushEveryMs) * 1_000_000n;
    let nextFlushCheck = 0;
    const flush = new Uint8Array(FLUSH_SIZE);
    const flushView = new DataView(flush.buffer);
    let lastFlush = 0n;
    for (;;) {
      ring.poll();
      let len = ring.nextSpan();
      while (len > 0) {
        const bytes = ring.data.subarray(ring.spanOffset, ring.spanOffset + len);
        yield recorder ? await out(bytes) : chunk(bytes);
        len = ring.nextSpan();
      }
      ring.release();
      // exited entries leave the cache after the retention, at FLUSH records
      // (checked on the wall clock first: stats() is a native call)
      if (performance.now() >= nextFlushCheck) {
        nextFlushCheck = performance.now() + flushEveryMs / 4;
        const upTo = this.stats().releasedUpTo;
        if (upTo - lastFlush >= flushEvery) {
          lastFlush = upTo;
          encodeFlush(flushView, 0, upTo, 0);
          yield await out(flush.slice());
        }
      }
      // one wake-up per batch the reader thread publishes (it publishes at
      // most once per tick of the latency budget), none while nothing comes
      const r = await ring.waitForWake(IDLE_WAKE_MS);
      if (r === 'closed' || (ring.drained && this.stopped)) return;
    }
  }

  /**
   * The startup snapshot as FORK records flagged SNAPSHOT, parents first,
   * without the processes whose FORK the capture already buffered.
   */
  private async snapshotRecords(): Promise<Uint8Array[]> {
    if (this.opts.snapshotDelayMs) await new Promise((r) => setTimeout(r, this.opts.snapshotDelayMs));
    const scan = await scanProcfs(this.opts.procRoot ?? '/proc', { envs: this.opts.captureEnvs === true });
    const scanEnd = loadAddon().bootTimeNs();
    // wait until every live record stamped before the end of the scan is in the capture ring
    const deadline = Date.now() + 2000;
    while (this.stats().releasedUpTo < scanEnd && Date.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 2));
    }
    const forked = new Map<number, bigint>(); // pid -> fork time of the buffered FORK records
    const execed = new Map<number, BufferedExec>(); // pid -> its first buffered EXEC
    this.ring.poll();
    this.ring.forEachUnread(this.ring.cursor, (data, off) => {
      const dv = new DataView(data.buffer, data.byteOffset + off);
      const type = dv.getUint16(H_TYPE, true);
      if (type === REC_FORK) forked.set(dv.getUint32(FORK_PID, true), dv.getBigUint64(H_TIME, true));
      else if (type === REC_EXEC && !execed.has(dv.getUint32(EXEC_PID, true))) {
        execed.set(dv.getUint32(EXEC_PID, true), {
          time: dv.getBigUint64(H_TIME, true),
          inode: getU64(dv, EXEC_INODE),
          prevInode: getU64(dv, EXEC_PREV_INODE),
        });
      }
    });
    const byPid = new Map(scan.processes.map((p) => [p.pid, p]));
    const c = this.snapshotCounts;
    c.vanished = scan.vanished;
    c.kernelThreads = scan.kernelThreads;
    const chunks: Uint8Array[] = [];
    let buf = new Uint8Array(1 << 20);
    let used = 0;
    for (const p of scan.processes) {
      const forkTime = forked.get(p.pid);
      // /proc start times are in clock ticks: the same process has the same tick
      if (forkTime !== undefined && forkTime / TICK_NS === p.startTime / TICK_NS) {
        c.bornDuringSnapshot++;
        continue;
      }
      if (buf.length - used < MAX_RECORD_SIZE) {
        chunks.push(buf.subarray(0, used));
        buf = new Uint8Array(1 << 20);
        used = 0;
      }
      used += encodeEvent(snapshotFork(beforeBufferedExec(p, execed.get(p.pid), byPid, c)), buf, used);
      c.processes++;
    }
    if (used > 0) chunks.push(buf.subarray(0, used));
    return chunks;
  }
}

interface BufferedExec {
  time: bigint;
  inode: number;
  prevInode: number;
}

/**
 * A process that exec'd after the attach but before the scan read it: /proc
 * showed its new image, and its EXEC is buffered too, so sending what /proc
 * showed would put the new image twice in its chain. When the image before
 * that exec was its parent's (the usual fork then exec: the EXEC's prevInode
 * is the parent's inode), the snapshot entry gets the parent's image, as a
 * fork seen live would have; otherwise it is sent as read (counted).
 */
function beforeBufferedExec(
  p: ProcfsProcess, exec: BufferedExec | undefined, byPid: ReadonlyMap<number, ProcfsProcess>, c: SnapshotCounts,
): ProcfsProcess {
  if (!exec || exec.time < p.startTime || exec.inode === 0 || exec.inode !== p.inode) return p;
  const parent = byPid.get(p.ppid);
  if (parent && exec.prevInode !== 0 && exec.prevInode === parent.inode) {
    c.execDuringSnapshot++;
    return { ...p, path: parent.path, pathDeleted: parent.pathDeleted, inode: parent.inode, comm: parent.comm, argv: parent.argv, envp: parent.envp };
  }
  c.execDuringSnapshotAsRead++;
  return p;
}

/** A process read from /proc as a FORK record flagged SNAPSHOT. */
export function snapshotFork(p: ProcfsProcess): ForkEvent {
  return {
    type: 'fork',
    snapshot: true,
    time: p.startTime,
    cpu: 0,
    pid: p.pid,
    ppid: p.ppid,
    pidns: 0,
    execTime: p.startTime,
    inode: p.inode,
    path: p.path,
    comm: p.comm,
    argv: p.argv,
    envp: p.envp,
    credentials: p.credentials,
    tty: p.tty,
    containerId: p.containerId,
    cgroup: p.cgroup,
    // where it lives, as /proc shows it (0 = unknown); the mount of its executable is not read
    pidnsInode: p.pidns,
    nsPid: p.pidns === 0 ? 0 : p.nspid,
    cgroupId: p.cgroupId,
  };
}
