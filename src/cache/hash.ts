// Small non-cryptographic hashes for the interning tables and the pid index.
// Hand-written: they run on the apply hot path over SharedArrayBuffer bytes,
// where a library call per byte range would cost more than the hash itself.

/**
 * murmur3-style hash of bytes [off, off + len), through `dv` (a DataView over
 * the same memory as `bytes`): interning hashes every argv and path of every
 * record, so this is on the hot path. Two lanes of murmur3 rounds, eight
 * bytes a step: the rounds of one lane depend on each other, the lanes do
 * not, so the CPU overlaps them.
 */
export function hashBytes(dv: DataView, bytes: Uint8Array, off: number, len: number): number {
  let h = len ^ 0x9747b28c;
  let g = 0x85ebca6b;
  const pairs = off + (len & ~7);
  let i = off;
  for (; i < pairs; i += 8) {
    let k = Math.imul(dv.getInt32(i, true), 0xcc9e2d51);
    let m = Math.imul(dv.getInt32(i + 4, true), 0x1b873593);
    k = (k << 15) | (k >>> 17);
    m = (m << 16) | (m >>> 16);
    h ^= Math.imul(k, 0x1b873593);
    g ^= Math.imul(m, 0xcc9e2d51);
    h = (h << 13) | (h >>> 19);
    g = (g << 17) | (g >>> 15);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    g = (Math.imul(g, 5) + 0x561ccd1b) | 0;
  }
  let k = 0;
  for (let j = off + len - 1; j >= i; j--) k = (k << 8) ^ bytes[j]! ^ (k >>> 24); // the last 0..7 bytes
  if (i < off + len) {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  return mix32(h ^ Math.imul(g, 0x27d4eb2d));
}

/** Whether bytes a[aOff, aOff + len) equal b[bOff, bOff + len), four bytes at a time. */
export function sameBytes(aDv: DataView, a: Uint8Array, aOff: number, bDv: DataView, b: Uint8Array, bOff: number, len: number): boolean {
  let i = 0;
  // eight bytes a step, the two words' differences or-ed: a third fewer instructions than a word a step
  for (; i + 8 <= len; i += 8) {
    const d = (aDv.getInt32(aOff + i, true) ^ bDv.getInt32(bOff + i, true)) | (aDv.getInt32(aOff + i + 4, true) ^ bDv.getInt32(bOff + i + 4, true));
    if (d !== 0) return false;
  }
  if (i + 4 <= len) {
    if (aDv.getInt32(aOff + i, true) !== bDv.getInt32(bOff + i, true)) return false;
    i += 4;
  }
  for (; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/**
 * Copies src[off, off + len) to dst[at, ...). Short strings (most paths,
 * argv, context blobs) go four bytes at a time through the DataViews: on a
 * SharedArrayBuffer, `dst.set(src.subarray(...))` costs ~90 ns for any size
 * (it allocates the subarray), the loop ~0.45 ns a byte.
 */
export function copyBytes(dstDv: DataView, dst: Uint8Array, at: number, srcDv: DataView, src: Uint8Array, off: number, len: number): void {
  if (len > 192) {
    dst.set(src.subarray(off, off + len), at);
    return;
  }
  let i = 0;
  for (; i + 4 <= len; i += 4) dstDv.setInt32(at + i, srcDv.getInt32(off + i, true), true);
  for (; i < len; i++) dst[at + i] = src[off + i]!;
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
