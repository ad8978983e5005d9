// Kernel times (u64 nanoseconds) as two int32 words, lo and hi, on the
// write and read paths. A BigInt is a heap object: reading a BigInt64Array
// element or comparing two bigints allocates, and the apply path does that
// a dozen times an event. So the tables keep their time columns as 64-bit
// cells (a BigInt64Array view for the public edge, where entries and events
// carry bigints) and the hot code reads and writes the same cells through an
// Int32Array view, word 2i the low half, 2i + 1 the high half (little-endian,
// like every x86-64 and arm64 host). Times are below 2^63 (validated at the
// edges), so hi is never negative and (hi, lo >>> 0) orders like the u64.

const cell = new BigInt64Array(1);
const cellWords = new Int32Array(cell.buffer);

/** Low word of a time in 0..2^63-1. */
export function timeLo(t: bigint): number {
  cell[0] = t;
  return cellWords[0]!;
}

/** High word of a time in 0..2^63-1. */
export function timeHi(t: bigint): number {
  cell[0] = t;
  return cellWords[1]!;
}

/** The bigint of (lo, hi): the public edge only. */
export function timeOf(lo: number, hi: number): bigint {
  cellWords[0] = lo;
  cellWords[1] = hi;
  return cell[0]!;
}

/** Writes t into words[2 * i], words[2 * i + 1]. */
export function storeTime(words: Int32Array, i: number, t: bigint): void {
  cell[0] = t;
  words[2 * i] = cellWords[0]!;
  words[2 * i + 1] = cellWords[1]!;
}

/** (aLo, aHi) < (bLo, bHi). */
export function timeLess(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo >>> 0 < bLo >>> 0);
}

/** (aLo, aHi) <= (bLo, bHi). */
export function timeLessEq(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  return aHi < bHi || (aHi === bHi && aLo >>> 0 <= bLo >>> 0);
}

/** Whether the bigint t is (lo, hi); no allocation. */
export function isTime(t: bigint, lo: number, hi: number): boolean {
  cell[0] = t;
  return cellWords[0] === lo && cellWords[1] === hi;
}
