// Small non-cryptographic hashes for the interning tables and the pid index.
// Hand-written: they run on the apply hot path over SharedArrayBuffer bytes,
// where a library call per byte range would cost more than the hash itself.

/** FNV-1a over bytes [off, off + len). */
export function hashBytes(bytes: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  const end = off + len;
  for (let i = off; i < end; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3 finaliser: spreads the bits of a 32-bit integer. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of the key (pid, pid namespace id). */
export function hashPidKey(pid: number, pidns: number): number {
  return mix32(pid ^ mix32(pidns + 0x9e3779b9));
}
