// Loads the C++ addon (native/, built by `npm run build` into
// build/Release/forkline.node). Only live sources need it: everything else
// in forkline is plain TypeScript.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForklineError } from '../errors.js';

export interface CaptureOptions {
  kind: 'bpf' | 'netlink';
  /** A Uint8Array over the capture ring's SharedArrayBuffer (ShardRing.create). */
  ring: Uint8Array;
  objectPath?: string;
  ringBytesPerCpu?: number;
  argvMaxBytes?: number;
  captureEnvs?: boolean;
  verifierLogPath?: string;
  procRoot?: string;
  reorderWindowUs?: number;
  /** BPF: the reader thread drains the kernel rings at least this often, µs (default 2000). */
  readerTickUs?: number;
  /** Processes running a script whose path the kernel remembers for their forks (docs/bpf.md; 0..65536, default 4096). */
  scriptImages?: number;
}

/** Counters of the native capture thread (u64 as bigint). */
export interface CaptureStats {
  kind: 'bpf' | 'netlink';
  running: boolean;
  /** Every record stamped at or before this boot-clock time has been written to the capture ring. */
  releasedUpTo: bigint;
  /** Records missing from the per-CPU sequences (every cause). */
  lost: bigint;
  ringFull: bigint;
  // bpf
  records?: bigint;
  emitted?: bigint;
  inversions?: bigint;
  /** Times the reader thread woke up (its ticks and the kernel's wake-ups of a ring past its threshold). */
  wakeups?: bigint;
  malformed?: bigint;
  lostByCpu?: bigint[];
  reserveFailuresByCpu?: bigint[];
  // netlink
  messages?: bigint;
  fork?: bigint;
  exec?: bigint;
  exit?: bigint;
  uid?: bigint;
  gid?: bigint;
  comm?: bigint;
  threadsSkipped?: bigint;
  procGone?: bigint;
  overruns?: bigint;
}

export interface NativeCapture {
  /** Loads and attaches (bpf) or subscribes (netlink), then starts the capture thread. Throws an Error with a `code`. */
  start(): void;
  /** Stops the thread (it writes what it holds first), closes the ring, detaches. Idempotent. */
  stop(): void;
  stats(): CaptureStats;
}

export interface Addon {
  Capture: new (options: CaptureOptions, wake: () => void) => NativeCapture;
  /** CLOCK_BOOTTIME now, ns: the clock of record times. */
  bootTimeNs(): bigint;
  /** SO_PEERCRED of a connected UNIX socket's fd (the query socket's peer check). */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
}

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ADDON_PATH = join(PACKAGE_ROOT, 'build', 'Release', 'forkline.node');
export const BPF_OBJECT_PATH = join(PACKAGE_ROOT, 'dist', 'bpf', 'forkline.bpf.o');

let loaded: Addon | undefined;

/** The addon, or a ForklineError ERR_NATIVE_MISSING saying how to build it. */
export function loadAddon(): Addon {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    throw new ForklineError(
      'ERR_NATIVE_MISSING',
      `the native addon is not built (${ADDON_PATH} is missing): run "npm run build" in ${PACKAGE_ROOT}`,
    );
  }
  loaded = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  return loaded;
}
