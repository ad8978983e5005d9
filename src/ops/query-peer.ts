// Who is at the other end of a query connection, and whether they may ask.
// The kernel's answer (SO_PEERCRED, through the addon) is the only one
// trusted; anything that cannot be read refuses the connection (fail
// closed). Allowed: root, the agent's own user, and members of
// socket.group (primary gid, or the supplementary groups of
// /proc/<pid>/status "Groups:").

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { loadAddon } from '../native/addon.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Reads the peer of an accepted UNIX socket; throws when it cannot. */
export type PeerReader = (socket: Socket) => PeerCredentials;

/** SO_PEERCRED on the fd of the socket's libuv handle (Node 20: `_handle.fd`, a number on Linux). */
export const readPeerCredentials: PeerReader = (socket) => {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no file descriptor to read its peer from');
  const c = loadAddon().peerCredentials(fd);
  if (!Number.isInteger(c?.uid) || !Number.isInteger(c?.gid) || !Number.isInteger(c?.pid)) throw new Error('peerCredentials() returned no credentials');
  return c;
};

/** A group name (from <etcDir>/group) or a number, as a gid; undefined when unknown. */
export function resolveGroup(group: string, etcDir = '/etc'): number | undefined {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = readFileSync(`${etcDir}/group`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === group && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

/** Supplementary groups of a pid (/proc/<pid>/status Groups:); undefined when it cannot be read. */
export function supplementaryGroups(pid: number, procRoot = '/proc'): number[] | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Groups:[ \t]*(.*)$/m.exec(text);
  if (!m) return undefined;
  return m[1]!
    .trim()
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map(Number);
}

export interface Authorization {
  allowed: boolean;
  /** Why (in the refusal sent to the peer and in the agent's log). */
  reason: string;
  /** The peer is root: raw argv may be shown. */
  root: boolean;
}

/** Whether a peer may query: root, the agent's own uid, or a member of `gid`. */
export function authorize(peer: PeerCredentials, gid: number | undefined, procRoot = '/proc'): Authorization {
  const root = peer.uid === 0;
  if (root) return { allowed: true, reason: 'root', root };
  if (peer.uid === process.getuid?.()) return { allowed: true, reason: "the agent's own user", root };
  if (gid !== undefined) {
    if (peer.gid === gid) return { allowed: true, reason: `primary group ${gid}`, root };
    const groups = supplementaryGroups(peer.pid, procRoot);
    if (groups?.includes(gid)) return { allowed: true, reason: `supplementary group ${gid}`, root };
  }
  return {
    allowed: false,
    reason: `uid ${peer.uid} (pid ${peer.pid}) is not root${gid !== undefined ? ` nor in group ${gid}` : ''}`,
    root,
  };
}
