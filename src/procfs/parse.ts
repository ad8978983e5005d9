// Parsers of the text of /proc/<pid> files (stat, status, cgroup, ns links,
// exe, cmdline): pure functions from what a file holds to the fields the
// reader (read.ts) keeps. No file access here.

import type { Credentials } from '../record/events.js';

/** Clock ticks per second of the times in /proc/<pid>/stat (sysconf(_SC_CLK_TCK)): 100 on every Linux ABI. */
export const CLK_TCK = 100;
const NS_PER_TICK = BigInt(1_000_000_000 / CLK_TCK);

/** (uid_t)-1: the login uid of a process that has none; also the uid/gid reported when status cannot be read. */
export const UNSET_ID = 4294967295;

const DELETED_SUFFIX = Buffer.from(' (deleted)', 'latin1');

export interface StatFields {
  comm: string;
  state: string;
  ppid: number;
  ttyNr: number;
  flags: number;
  /** starttime in clock ticks since boot. */
  startTicks: bigint;
}

/**
 * Parses /proc/<pid>/stat. The comm (field 2) is in parentheses and may hold
 * spaces and ')' itself, so the numeric fields are those after the LAST ')'.
 * Returns undefined for a malformed line.
 */
export function parseStatLine(line: string): StatFields | undefined {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // f[0] is field 3 (state): field n is f[n - 3].
  const f = line.slice(close + 2).split(' ');
  if (f.length < 20) return undefined;
  const ppid = Number(f[1]);
  const ttyNr = Number(f[4]);
  const flags = Number(f[6]);
  const start = f[19]!;
  if (!Number.isInteger(ppid) || !Number.isInteger(ttyNr) || !Number.isInteger(flags) || !/^\d+$/.test(start)) {
    return undefined;
  }
  return { comm: line.slice(open + 1, close), state: f[0]!, ppid, ttyNr, flags, startTicks: BigInt(start) };
}

/** Clock ticks since boot to nanoseconds. */
export function ticksToNs(ticks: bigint): bigint {
  return ticks * NS_PER_TICK;
}

export interface StatusFields {
  /** Last NSpid value, undefined when the line is absent. */
  nspid: number | undefined;
  /** Credentials without auid (which comes from loginuid). */
  credentials: Omit<Credentials, 'auid'>;
}

/** Parses the lines of /proc/<pid>/status that matter here; missing lines keep the unknown values. */
export function parseStatus(text: string): StatusFields {
  const c = { uid: UNSET_ID, gid: UNSET_ID, euid: UNSET_ID, egid: UNSET_ID, fsuid: UNSET_ID, fsgid: UNSET_ID, capEffective: 0n, capPermitted: 0n };
  let nspid: number | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    switch (key) {
      case 'Uid':
      case 'Gid': {
        // "real effective saved fs"
        const v = line.slice(colon + 1).trim().split(/\s+/).map(Number);
        if (v.length < 4 || !v.every(Number.isInteger)) break;
        if (key === 'Uid') [c.uid, c.euid, , c.fsuid] = v as [number, number, number, number];
        else [c.gid, c.egid, , c.fsgid] = v as [number, number, number, number];
        break;
      }
      case 'NSpid': {
        const v = line.slice(colon + 1).trim().split(/\s+/);
        const last = Number(v[v.length - 1]);
        if (Number.isInteger(last) && last > 0) nspid = last;
        break;
      }
      case 'CapEff':
      case 'CapPrm': {
        const hex = line.slice(colon + 1).trim();
        if (!/^[0-9a-fA-F]+$/.test(hex)) break;
        if (key === 'CapEff') c.capEffective = BigInt('0x' + hex);
        else c.capPermitted = BigInt('0x' + hex);
        break;
      }
    }
  }
  return { nspid, credentials: c };
}

/** Decodes stat's tty_nr (a kernel dev_t in new_encode_dev form) to a terminal name. */
export function parseTtyNr(ttyNr: number): string {
  if (ttyNr === 0) return '';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  if (major === 5 && minor === 0) return 'tty';
  return `${major}:${minor}`;
}

/** The cgroup path of /proc/<pid>/cgroup: the v2 line "0::<path>", else the first line's path. */
export function parseCgroup(text: string): string {
  let first: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('0::')) return line.slice(3);
    // "id:controllers:path"; the path itself may contain ':'.
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (first === undefined && b >= 0) first = line.slice(b + 1);
  }
  return first ?? '';
}

// docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>(.scope), libpod-<id>(.scope), /docker/<id>.
// "libpod-conmon-<id>" and "crio-conmon-<id>" are the monitors, outside the container: no match.
const CONTAINER_ID = /(?:^|\/)(?:docker-|cri-containerd-|crio-|libpod-|docker\/)([0-9a-f]{64})(?=\.scope|\/|$)/g;

/** The container id in a cgroup path; the innermost (last) one when containers nest; '' when none. */
export function containerIdFromCgroup(path: string): string {
  let id = '';
  for (const m of path.matchAll(CONTAINER_ID)) id = m[1]!;
  return id;
}

/** The path of the "0::" (cgroup v2) line of /proc/<pid>/cgroup; undefined when there is none. */
export function cgroupV2Path(text: string): string | undefined {
  for (const line of text.split('\n')) if (line.startsWith('0::')) return line.slice(3);
  return undefined;
}

/** Inode of a namespace link ("pid:[4026531836]" -> 4026531836); 0 when it does not parse. */
export function parseNsLink(link: string): number {
  const m = /\[(\d+)\]$/.exec(link);
  return m === null ? 0 : Number(m[1]);
}

/** Removes the " (deleted)" the kernel appends to the exe link of an unlinked binary; `path` is a view of `link`. */
export function stripDeletedSuffix(link: Uint8Array): { path: Uint8Array; deleted: boolean } {
  const n = link.length - DELETED_SUFFIX.length;
  if (n >= 0 && Buffer.from(link.buffer, link.byteOffset + n, DELETED_SUFFIX.length).equals(DELETED_SUFFIX)) {
    return { path: link.subarray(0, n), deleted: true };
  }
  return { path: link, deleted: false };
}

/**
 * Splits NUL-terminated strings (cmdline, environ) into copies (plain
 * Uint8Arrays, not views that would pin the read buffer); the empty element
 * after the final NUL is dropped.
 */
export function splitNul(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      out.push(new Uint8Array(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  // A process that rewrote its argv area may leave no final NUL.
  if (start < bytes.length) out.push(new Uint8Array(bytes.subarray(start)));
  return out;
}
