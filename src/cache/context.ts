// The context blob: a process's tty, container id and cgroup, interned as
// one string "tty \0 containerId \0 cgroup" (the row column ctxId; id 0 is
// all three empty). splitCtx reads its parts; mergeCtx makes the blob of an
// entry whose event gave only some of them (ctxMask, CTX_* in args.ts).

import { CTX_ALL, normalId } from './args.js';
import type { ProcessTable } from './table.js';

const ctxScratch = { bytes: new Uint8Array(1024) };

/**
 * The context blob (tty \0 containerId \0 cgroup) of `base` with the parts
 * of `mask` taken from `given`. Consumes the reference of `given`; returns an
 * id holding one reference. Kernel records give every part: no merge then.
 */
export function mergeCtx(t: ProcessTable, base: number, given: number, mask: number): number {
  const s = t.strings;
  if (mask === CTX_ALL) return normalId(given);
  if (mask === 0 || given < 0) {
    s.decref(given);
    s.incref(base);
    return base;
  }
  // slow path, only for partial updates from the JS API
  const baseParts = splitCtx(t, base);
  const givenParts = splitCtx(t, given);
  const parts = [0, 1, 2].map((i) => ((mask & (1 << i)) !== 0 ? givenParts[i]! : baseParts[i]!));
  const len = parts[0]!.length + parts[1]!.length + parts[2]!.length + 2;
  if (ctxScratch.bytes.length < len) ctxScratch.bytes = new Uint8Array(len * 2);
  const out = ctxScratch.bytes;
  let at = 0;
  for (let i = 0; i < 3; i++) {
    out.set(parts[i]!, at);
    at += parts[i]!.length;
    if (i < 2) out[at++] = 0;
  }
  s.decref(given);
  return len === 2 ? 0 : t.intern(out, new DataView(out.buffer), 0, len); // partial updates from the JS API only
}

/** The three parts of a context blob as byte copies. */
export function splitCtx(t: ProcessTable, id: number): Uint8Array[] {
  const bytes = t.strings.bytes(id);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length && parts.length < 3; i++) {
    if (i === bytes.length || (bytes[i] === 0 && parts.length < 2)) {
      parts.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  while (parts.length < 3) parts.push(new Uint8Array(0));
  return parts;
}
