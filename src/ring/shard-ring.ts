// ShardRing: a single-producer/single-consumer ring of framed records in a
// SharedArrayBuffer. The capture ring (native reader thread -> router) and
// the shard rings (router -> one shard worker, and back for the workers'
// link messages) are all ShardRings. The protocol is specified in docs/ring-protocol.md so a
// native producer can follow it; the control-block offsets below are the one
// place where it is written down in code (the C++ header mirrors them).
//
// Records: every record starts with `u16 type, u16 flags, u32 size`
// (little-endian); size is the total length, a multiple of 8, >= 8. Type 0 is
// PAD, a filler the consumer skips. The ring reads nothing else of a record.
//
// Hot paths (reserve/commit/publish, poll/next/release) allocate nothing and
// keep the byte counters as int32 (`| 0`) so V8 keeps them as small integers:
// they are u32 counters modulo 2^32 on the wire, and only their differences
// and low bits (`& mask`) matter.

/** Record type of a filler record; the consumer skips it. */
export const PAD_TYPE = 0;
/** Size of the record header (`u16 type, u16 flags, u32 size`). */
export const RECORD_HEADER_BYTES = 8;
export const MIN_CAPACITY = 4096;
export const MAX_CAPACITY = 2 ** 30;

/** Control-block layout: Int32 word indexes (byte offset = 4 * index). */
export const RingWord = {
  // Line 0 (bytes 0..63): configuration, written once by create() before the
  // buffer is shared; read-only afterwards.
  MAGIC: 0,
  VERSION: 1,
  CAPACITY: 2,
  DATA_OFFSET: 3,
  ON_FULL: 4,
  BLOCK_TIMEOUT_MS: 5,
  MAX_RECORD: 6,
  // Line 1 (bytes 64..127): written only by the producer.
  HEAD: 16,
  CLOSED: 17,
  WRITTEN: 18, // u64 counter: LO, HI, HI2 (see addCounter)
  DROPPED_FULL: 21,
  DROPPED_TIMEOUT: 24,
  // Line 2 (bytes 128..191): written only by the consumer.
  TAIL: 32,
  READ: 33, // u64 counter: LO, HI, HI2
  // Line 3 (bytes 192..255): consumer wakeup. Written rarely (on sleep).
  CONSUMER_SLEEPING: 48, // set by the consumer; cleared by either (CAS 1 -> 0 by the waker)
  DATA_SIGNAL: 49, // incremented by whoever wakes the consumer (Atomics.wait word)
  // Line 4 (bytes 256..319): producer wakeup.
  PRODUCER_SLEEPING: 64, // set by the producer; cleared by either
  SPACE_SIGNAL: 65, // incremented by the consumer (Atomics.wait word)
} as const;

/** Values of the ON_FULL word. */
export const RingOnFull = { DROP: 0, BLOCK: 1 } as const;

/** Bytes before the data area (lines 5..7 are reserved, zero). */
export const CONTROL_BYTES = 512;
export const RING_MAGIC = 0x47524b46; // "FKRG" little-endian
export const RING_VERSION = 1;
const ON_FULL_DROP = RingOnFull.DROP;
const ON_FULL_BLOCK = RingOnFull.BLOCK;
const DEFAULT_BLOCK_TIMEOUT_MS = 1000;

const W = RingWord;

export type RingErrorCode =
  | 'ERR_RING_LAYOUT' // the buffer is not a ring of this version
  | 'ERR_RING_FRAME' // a record header does not match what was committed
  | 'ERR_RING_CORRUPT' // the consumer found an impossible record size
  | 'ERR_RING_CLOSED'; // a producer call after close()

export class RingError extends Error {
  readonly code: RingErrorCode;
  constructor(code: RingErrorCode, message: string) {
    super(message);
    this.name = 'RingError';
    this.code = code;
  }
}

export interface RingPolicy {
  /** What write() does when the record does not fit. */
  onFull: 'drop' | 'block';
  /** Longest wait of write() under 'block' before it drops (default 1000). */
  blockTimeoutMs?: number;
}

export interface RingStats {
  capacity: number;
  /** Published bytes not yet released by the consumer (PADs included). */
  used: number;
  droppedFull: number;
  droppedTimeout: number;
  /** Records published by the producer (PADs excluded). */
  written: number;
  /** Records released by the consumer (PADs excluded). */
  read: number;
}

export type WaitResult = 'data' | 'timeout' | 'closed';

export type RecordCallback = (data: Uint8Array, off: number, size: number) => void;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Atomics.waitAsync (Node 16+; not in this project's ES lib typings). */
interface AtomicsWaitAsync {
  waitAsync(ta: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

export class ShardRing {
  readonly buffer: SharedArrayBuffer;
  /** Data-area bytes: a power of two in [4096, 2^30]. */
  readonly capacity: number;
  /** Largest record accepted: capacity / 2 (always fits an empty ring). */
  readonly maxRecordBytes: number;
  /** The data area; record offsets returned by reserve() and next() index it. */
  readonly data: Uint8Array;
  readonly onFull: 'drop' | 'block';
  readonly blockTimeoutMs: number;

  private readonly ctrl: Int32Array;
  /** Int32 view of the data area, for headers (offsets are 8-aligned). */
  private readonly words: Int32Array;
  private readonly mask: number;

  // Producer-private state.
  /** Head including committed, unpublished records (int32-wrapped u32). */
  private pHead: number;
  /** Last head stored to the shared word. */
  private pPublished: number;
  /** Tail as last loaded; refreshed only when the cached free space is short. */
  private pTail: number;
  /** Records committed since the last publish. */
  private pPending = 0;
  /** Bytes of the open reservation (0 = none). */
  private pReserved = 0;
  private pClosed: boolean;
  /** Int32 view of the last tryWrite()/write() source buffer (see copyIn). */
  private srcWords: Int32Array = new Int32Array(0);

  // Consumer-private state.
  /** Head as loaded by the last poll(). */
  private cHead: number;
  /** Next byte to read; records before it were returned by next(). */
  private cCursor: number;
  /** Tail as last stored (everything before it is released). */
  private cTail: number;
  /** Records returned by next() since the last release(). */
  private cPending = 0;

  /** Creates a ring in a new SharedArrayBuffer; pass `ring.buffer` to other threads. */
  static create(capacity: number, policy: RingPolicy): ShardRing {
    if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`ring capacity must be a power of two in [${MIN_CAPACITY}, 2^30], got ${capacity}`);
    }
    const onFull = policy.onFull;
    if (onFull !== 'drop' && onFull !== 'block') {
      throw new RangeError(`ring policy onFull must be 'drop' or 'block', got ${String(onFull)}`);
    }
    const timeout = policy.blockTimeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 0x7fffffff) {
      throw new RangeError(`ring blockTimeoutMs must be an integer in [0, 2^31), got ${timeout}`);
    }
    const buffer = new SharedArrayBuffer(CONTROL_BYTES + capacity);
    const ctrl = new Int32Array(buffer, 0, CONTROL_BYTES >> 2);
    ctrl[W.VERSION] = RING_VERSION;
    ctrl[W.CAPACITY] = capacity;
    ctrl[W.DATA_OFFSET] = CONTROL_BYTES;
    ctrl[W.ON_FULL] = onFull === 'block' ? ON_FULL_BLOCK : ON_FULL_DROP;
    ctrl[W.BLOCK_TIMEOUT_MS] = timeout;
    ctrl[W.MAX_RECORD] = capacity >> 1;
    // Magic last: a buffer with the magic set is fully initialized. (The
    // buffer reaches other threads through postMessage, which orders it.)
    Atomics.store(ctrl, W.MAGIC, RING_MAGIC);
    return new ShardRing(buffer);
  }

  /**
   * Attaches to a ring made by create(), in any thread. One object per side:
   * at most one thread produces and one consumes at a time; an object picks
   * up the shared head and tail as they are when it is constructed.
   */
  constructor(buffer: SharedArrayBuffer) {
    if (!LITTLE_ENDIAN) throw new RingError('ERR_RING_LAYOUT', 'the shard ring needs a little-endian host');
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < CONTROL_BYTES + MIN_CAPACITY) {
      throw new RingError('ERR_RING_LAYOUT', 'not a shard ring buffer (expected a SharedArrayBuffer from ShardRing.create)');
    }
    const ctrl = new Int32Array(buffer, 0, CONTROL_BYTES >> 2);
    const capacity = ctrl[W.CAPACITY]!;
    if (Atomics.load(ctrl, W.MAGIC) !== RING_MAGIC || ctrl[W.VERSION] !== RING_VERSION) {
      throw new RingError('ERR_RING_LAYOUT', `not a shard ring buffer of version ${RING_VERSION} (bad magic or version)`);
    }
    if (ctrl[W.DATA_OFFSET] !== CONTROL_BYTES || buffer.byteLength !== CONTROL_BYTES + capacity) {
      throw new RingError('ERR_RING_LAYOUT', `shard ring buffer of ${buffer.byteLength} bytes does not match its capacity ${capacity}`);
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxRecordBytes = capacity >> 1;
    this.ctrl = ctrl;
    this.data = new Uint8Array(buffer, CONTROL_BYTES, capacity);
    this.words = new Int32Array(buffer, CONTROL_BYTES, capacity >> 2);
    this.onFull = ctrl[W.ON_FULL] === ON_FULL_BLOCK ? 'block' : 'drop';
    this.blockTimeoutMs = ctrl[W.BLOCK_TIMEOUT_MS]!;
    const head = Atomics.load(ctrl, W.HEAD);
    const tail = Atomics.load(ctrl, W.TAIL);
    this.pHead = head;
    this.pPublished = head;
    this.pTail = tail;
    this.pClosed = Atomics.load(ctrl, W.CLOSED) !== 0;
    this.cHead = tail;
    this.cCursor = tail;
    this.cTail = tail;
  }

  // ---------------------------------------------------------------- producer

  /**
   * Offset in `data` where a record of `len` bytes can be written, or -1 when
   * it does not fit now (no waiting, no counting). When the record would
   * cross the end of the data area, writes a PAD to the end first and returns
   * 0. Write the record there (header included, size === len), then commit().
   * Throws RangeError for a size that is not a multiple of 8 in [8, capacity/2].
   */
  reserve(len: number): number {
    if ((len & 7) !== 0 || (len | 0) !== len || len < RECORD_HEADER_BYTES || len > this.maxRecordBytes) this.badLength(len);
    if (this.pClosed) this.closedError();
    const head = this.pHead;
    const pos = head & this.mask;
    const toEnd = this.capacity - pos;
    const need = len <= toEnd ? len : toEnd + len;
    if (need > this.capacity - ((head - this.pTail) | 0)) {
      // Acquire: the consumer's reads of the freed bytes happen before our writes.
      this.pTail = Atomics.load(this.ctrl, W.TAIL);
      if (need > this.capacity - ((head - this.pTail) | 0)) return -1;
    }
    this.pReserved = len;
    if (len <= toEnd) return pos;
    // PAD to the end of the data area (toEnd >= 8: positions are 8-aligned).
    const w = pos >> 2;
    this.words[w] = PAD_TYPE; // type 0, flags 0
    this.words[w + 1] = toEnd;
    this.pHead = (head + toEnd) | 0;
    return 0;
  }

  /**
   * Adds the record written at the last reserve() offset to the batch; it is
   * visible to the consumer after publish(). `len` must equal the size in the
   * record's header and be at most the reserved length.
   */
  commit(len: number): void {
    const pos = this.pHead & this.mask;
    if (len > this.pReserved || (len & 7) !== 0 || len < RECORD_HEADER_BYTES || this.words[(pos >> 2) + 1] !== len) {
      this.frameError(len, pos);
    }
    this.pReserved = 0;
    this.pHead = (this.pHead + len) | 0;
    this.pPending++;
  }

  /** Makes every committed record visible and wakes the consumer if it sleeps. */
  publish(): void {
    const head = this.pHead;
    if (head === this.pPublished) return;
    this.pPublished = head;
    const ctrl = this.ctrl;
    // Release: the record bytes (plain stores) happen before this store, so a
    // consumer that loads this head sees them.
    Atomics.store(ctrl, W.HEAD, head);
    if (this.pPending !== 0) {
      addCounter(ctrl, W.WRITTEN, this.pPending);
      this.pPending = 0;
    }
    // One load per publish; seq_cst store-then-load pairs with the
    // consumer's store(CONSUMER_SLEEPING)-then-load(HEAD): one of us sees
    // the other (docs/ring-protocol.md, "Wakeup").
    if (Atomics.load(ctrl, W.CONSUMER_SLEEPING) !== 0 && Atomics.compareExchange(ctrl, W.CONSUMER_SLEEPING, 1, 0) === 1) {
      Atomics.add(ctrl, W.DATA_SIGNAL, 1);
      Atomics.notify(ctrl, W.DATA_SIGNAL);
    }
  }

  /** Copies one record and publishes it; false when it does not fit now (not counted). */
  tryWrite(bytes: Uint8Array, off: number, len: number): boolean {
    const at = this.reserve(len);
    if (at < 0) return false;
    this.copyIn(bytes, off, len, at);
    this.commit(len);
    this.publish();
    return true;
  }

  /**
   * Like reserve(), but applies the ring's policy when the record does not
   * fit: 'drop' counts droppedFull and returns -1; 'block' publishes what is
   * pending, waits for space up to blockTimeoutMs, and on timeout counts
   * droppedTimeout and returns -1. For batching producers that want the policy.
   */
  reserveWithPolicy(len: number): number {
    const at = this.reserve(len);
    if (at >= 0) return at;
    return this.reserveSlow(len);
  }

  /** Copies one record and publishes it, applying the ring's full policy (drops are counted). */
  write(bytes: Uint8Array, off: number, len: number): boolean {
    const at = this.reserveWithPolicy(len);
    if (at < 0) return false;
    this.copyIn(bytes, off, len, at);
    this.commit(len);
    this.publish();
    return true;
  }

  /**
   * Publishes what is pending, then waits until a record of `len` bytes fits
   * (true) or `timeoutMs` passes (false). Sleeps in Atomics.wait; the
   * consumer wakes it when it releases space. Counts nothing.
   */
  waitForSpace(len: number, timeoutMs: number): boolean {
    if ((len & 7) !== 0 || (len | 0) !== len || len < RECORD_HEADER_BYTES || len > this.maxRecordBytes) this.badLength(len);
    this.publish();
    const ctrl = this.ctrl;
    const pos = this.pHead & this.mask;
    const toEnd = this.capacity - pos;
    const need = len <= toEnd ? len : toEnd + len;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.freeBytes() >= need) return true;
      const remaining = deadline - performance.now();
      if (!(remaining > 0)) return false;
      Atomics.store(ctrl, W.PRODUCER_SLEEPING, 1);
      const signal = Atomics.load(ctrl, W.SPACE_SIGNAL);
      // Re-check after declaring sleep: a release() that happened before our
      // store is visible now; one after it sees PRODUCER_SLEEPING and signals.
      if (this.freeBytes() >= need) {
        Atomics.store(ctrl, W.PRODUCER_SLEEPING, 0);
        return true;
      }
      Atomics.wait(ctrl, W.SPACE_SIGNAL, signal, remaining);
      Atomics.store(ctrl, W.PRODUCER_SLEEPING, 0);
    }
  }

  /** Publishes what is pending, marks the ring closed and wakes the consumer. Idempotent. */
  close(): void {
    if (this.pClosed) return;
    this.publish();
    this.pClosed = true;
    this.pReserved = 0;
    const ctrl = this.ctrl;
    // After the final head: a consumer that sees CLOSED sees every record.
    Atomics.store(ctrl, W.CLOSED, 1);
    Atomics.add(ctrl, W.DATA_SIGNAL, 1);
    Atomics.notify(ctrl, W.DATA_SIGNAL);
  }

  // ---------------------------------------------------------------- consumer

  /**
   * Loads the published head and returns the unread bytes up to it (PADs
   * included; 0 = nothing new). next() hands out records up to this head.
   */
  poll(): number {
    // Acquire: pairs with the producer's store of HEAD.
    const head = Atomics.load(this.ctrl, W.HEAD);
    this.cHead = head;
    return (head - this.cCursor) | 0;
  }

  /**
   * Offset in `data` of the next record up to the head seen by the last
   * poll(), skipping PADs, or -1 when there is none. The record's bytes stay
   * valid until release(). Its size is sizeAt(offset).
   */
  next(): number {
    const words = this.words;
    let cursor = this.cCursor;
    const head = this.cHead;
    while (cursor !== head) {
      const pos = cursor & this.mask;
      const w = pos >> 2;
      const size = words[w + 1]!;
      if ((size & 7) !== 0 || size < RECORD_HEADER_BYTES || size > this.capacity - pos || size > ((head - cursor) | 0)) {
        this.cCursor = cursor;
        this.corruptError(pos, size);
      }
      cursor = (cursor + size) | 0;
      if ((words[w]! & 0xffff) !== PAD_TYPE) {
        this.cCursor = cursor;
        this.cPending++;
        return pos;
      }
    }
    this.cCursor = cursor;
    return -1;
  }

  /**
   * The consumer's position: the byte counter just past the records that
   * next() handed out (a u32 counter, see docs/ring-protocol.md). A worker
   * publishes it with its watermark so that its replacement knows which
   * records were applied.
   */
  get cursor(): number {
    return this.cCursor >>> 0;
  }

  /**
   * A new consumer resumes after records that its dead predecessor applied
   * but had not released: moves the cursor to `cursor` when it lies between
   * the tail and the head (else leaves it). The skipped records are freed
   * with the next release().
   */
  resumeAt(cursor: number): void {
    const head = Atomics.load(this.ctrl, W.HEAD);
    const ahead = (cursor - this.cTail) | 0;
    if (ahead > 0 && ahead <= ((head - this.cTail) | 0)) this.cCursor = cursor | 0;
  }

  /**
   * Calls cb for every record from byte counter `from` up to the published
   * head, PADs skipped, without consuming anything. Only for a ring whose
   * consumer is gone (rebuilding a crashed shard).
   */
  forEachUnread(from: number, cb: (data: Uint8Array, off: number, size: number) => void): void {
    const head = Atomics.load(this.ctrl, W.HEAD);
    const words = this.words;
    for (let cursor = from | 0; cursor !== head; ) {
      const pos = cursor & this.mask;
      const size = words[(pos >> 2) + 1]!;
      if ((size & 7) !== 0 || size < RECORD_HEADER_BYTES || size > this.capacity - pos) this.corruptError(pos, size);
      if ((words[pos >> 2]! & 0xffff) !== PAD_TYPE) cb(this.data, pos, size);
      cursor = (cursor + size) | 0;
    }
  }

  /** Size of the record at `off` in `data` (from its header). */
  sizeAt(off: number): number {
    return this.words[(off >> 2) + 1]!;
  }

  /**
   * Frees every record next() returned so far: stores the tail, counts the
   * records read, wakes the producer if it waits for space.
   */
  release(): void {
    const cursor = this.cCursor;
    if (cursor === this.cTail) return;
    this.cTail = cursor;
    const ctrl = this.ctrl;
    // Release: our reads of the freed bytes happen before the producer reuses them.
    Atomics.store(ctrl, W.TAIL, cursor);
    if (this.cPending !== 0) {
      addCounter(ctrl, W.READ, this.cPending);
      this.cPending = 0;
    }
    if (Atomics.load(ctrl, W.PRODUCER_SLEEPING) !== 0 && Atomics.compareExchange(ctrl, W.PRODUCER_SLEEPING, 1, 0) === 1) {
      Atomics.add(ctrl, W.SPACE_SIGNAL, 1);
      Atomics.notify(ctrl, W.SPACE_SIGNAL);
    }
  }

  /**
   * One batch: poll(), then calls `cb(data, off, size)` for up to `max`
   * records in order, then release(). Returns the number of records. The
   * bytes are valid only during the call. Allocation-free when `cb` is a
   * long-lived function. If `cb` throws, the records before it and the one it
   * threw on count as consumed and are released.
   */
  drain(cb: RecordCallback, max = 0x7fffffff): number {
    this.poll();
    const data = this.data;
    const words = this.words;
    let n = 0;
    try {
      while (n < max) {
        const off = this.next();
        if (off < 0) break;
        n++;
        cb(data, off, words[(off >> 2) + 1]!);
      }
    } finally {
      this.release();
    }
    return n;
  }

  /**
   * Waits until there are unread records ('data'), the ring is closed and
   * fully read ('closed'), or `timeoutMs` passes ('timeout'). Releases what
   * was consumed before sleeping. Sleeps in Atomics.wait (no spinning); a JS
   * producer wakes it on publish. With a native producer, which cannot wake
   * a JS waiter, call it with a short timeout (e.g. 1 ms).
   */
  waitForData(timeoutMs: number): WaitResult {
    const signal = this.beginSleep();
    if (typeof signal !== 'number') return signal;
    Atomics.wait(this.ctrl, W.DATA_SIGNAL, signal, timeoutMs);
    return this.endSleep();
  }

  /**
   * The consumer's side of the sleep protocol up to the wait, shared by
   * waitForData() and waitForDataAsync(): releases what was read, then either
   * the result to give at once, or (CONSUMER_SLEEPING set) the DATA_SIGNAL
   * value to wait on, after which the caller ends with endSleep().
   */
  private beginSleep(): WaitResult | number {
    this.release();
    const ctrl = this.ctrl;
    if (Atomics.load(ctrl, W.HEAD) !== this.cCursor) return 'data';
    // CLOSED before HEAD: the producer stores the final head before CLOSED.
    if (Atomics.load(ctrl, W.CLOSED) !== 0) return Atomics.load(ctrl, W.HEAD) !== this.cCursor ? 'data' : 'closed';
    Atomics.store(ctrl, W.CONSUMER_SLEEPING, 1);
    const signal = Atomics.load(ctrl, W.DATA_SIGNAL);
    // Re-check after declaring sleep (no lost wakeup): a publish before our
    // store is visible now; one after it sees CONSUMER_SLEEPING and signals.
    if (Atomics.load(ctrl, W.HEAD) === this.cCursor && Atomics.load(ctrl, W.CLOSED) === 0) return signal;
    return this.endSleep();
  }

  /** Clears CONSUMER_SLEEPING and says what woke the consumer (or that nothing did). */
  private endSleep(): WaitResult {
    const ctrl = this.ctrl;
    Atomics.store(ctrl, W.CONSUMER_SLEEPING, 0);
    if (Atomics.load(ctrl, W.CLOSED) !== 0) return Atomics.load(ctrl, W.HEAD) !== this.cCursor ? 'data' : 'closed';
    return Atomics.load(ctrl, W.HEAD) !== this.cCursor ? 'data' : 'timeout';
  }

  /**
   * The next contiguous run of unread bytes, from the cursor up to the head
   * seen by the last poll() or to the end of the data area (a PAD that skips
   * to the start ends a run): whole records, handed out at once (a source
   * that yields them to the router without copying). Returns the run's
   * length (0 when none) and sets `spanOffset` to its offset in `data`. The
   * bytes stay valid until release().
   */
  nextSpan(): number {
    const words = this.words;
    let cursor = this.cCursor;
    const head = this.cHead;
    // a PAD at the cursor (the ring wrapped before it): skip it
    while (cursor !== head && (words[(cursor & this.mask) >> 2]! & 0xffff) === PAD_TYPE) {
      const pos = cursor & this.mask;
      const size = words[(pos >> 2) + 1]!;
      if ((size & 7) !== 0 || size < RECORD_HEADER_BYTES || size > this.capacity - pos || size > ((head - cursor) | 0)) {
        this.cCursor = cursor;
        this.corruptError(pos, size);
      }
      cursor = (cursor + size) | 0;
    }
    const start = cursor & this.mask;
    this.spanOffset = start;
    let records = 0;
    let len = 0;
    while (cursor !== head) {
      const pos = cursor & this.mask;
      if (pos < start || (records > 0 && pos === start)) break; // wrapped
      const w = pos >> 2;
      if ((words[w]! & 0xffff) === PAD_TYPE) break; // the PAD before the wrap ends the run
      const size = words[w + 1]!;
      if ((size & 7) !== 0 || size < RECORD_HEADER_BYTES || size > this.capacity - pos || size > ((head - cursor) | 0)) {
        this.cCursor = cursor;
        this.corruptError(pos, size);
      }
      cursor = (cursor + size) | 0;
      len += size;
      records++;
    }
    this.cCursor = cursor;
    this.cPending += records;
    return len;
  }

  /** Offset in `data` of the run nextSpan() returned last. */
  spanOffset = 0;

  /**
   * waitForData() for a thread that must not block (the main thread): the
   * same sleep protocol with Atomics.waitAsync. A JS producer's publish wakes
   * it; a native producer has a JS thread call wakeConsumer().
   */
  async waitForDataAsync(timeoutMs: number): Promise<WaitResult> {
    const signal = this.beginSleep();
    if (typeof signal !== 'number') return signal;
    const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.ctrl, W.DATA_SIGNAL, signal, timeoutMs);
    if (w.async) await w.value;
    return this.endSleep();
  }

  /**
   * The consumer's sleep on the main thread when the producer is a native
   * thread (the capture ring): the same sleep protocol, but the wake-up is
   * a plain call of wake() (by the threadsafe function the producer calls
   * once per sleep, see docs/ring-protocol.md, "Wakeup"), not
   * Atomics.waitAsync: no futex emulation, no platform task per sleep, one
   * fallback timer made once and re-armed. Resolves 'data', 'closed' or
   * 'timeout' (after `timeoutMs`, fixed by the first call).
   */
  async waitForWake(timeoutMs: number): Promise<WaitResult> {
    const signal = this.beginSleep();
    if (typeof signal !== 'number') return signal;
    if (this.wakeTimer === undefined) {
      this.wakeTimer = setTimeout(this.wakeNow, timeoutMs);
      this.wakeTimer.unref?.();
    } else {
      this.wakeTimer.refresh();
    }
    await new Promise<void>(this.armWake);
    return this.endSleep();
  }

  /** Ends a waitForWake() at once (no-op when none sleeps). */
  wake(): void {
    this.wakeNow();
  }

  private wakeResolve: (() => void) | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly armWake = (resolve: () => void): void => {
    this.wakeResolve = resolve;
  };
  private readonly wakeNow = (): void => {
    const resolve = this.wakeResolve;
    this.wakeResolve = undefined;
    resolve?.();
  };

  /**
   * Wakes a consumer sleeping in waitForData()/waitForDataAsync(): what a
   * native producer, which cannot notify a JS waiter, asks a JS thread to do.
   */
  wakeConsumer(): void {
    Atomics.add(this.ctrl, W.DATA_SIGNAL, 1);
    Atomics.notify(this.ctrl, W.DATA_SIGNAL);
  }

  /** The producer called close(). */
  get closed(): boolean {
    return Atomics.load(this.ctrl, W.CLOSED) !== 0;
  }

  /** Closed, and this consumer has read every record. */
  get drained(): boolean {
    return Atomics.load(this.ctrl, W.CLOSED) !== 0 && Atomics.load(this.ctrl, W.HEAD) === this.cCursor;
  }

  // ---------------------------------------------------------------- stats

  /** Shared counters, readable from any thread. Allocates; not for hot paths. */
  stats(): RingStats {
    const ctrl = this.ctrl;
    const head = Atomics.load(ctrl, W.HEAD);
    const tail = Atomics.load(ctrl, W.TAIL);
    return {
      capacity: this.capacity,
      used: (head - tail) >>> 0,
      droppedFull: readCounter(ctrl, W.DROPPED_FULL),
      droppedTimeout: readCounter(ctrl, W.DROPPED_TIMEOUT),
      written: readCounter(ctrl, W.WRITTEN),
      read: readCounter(ctrl, W.READ),
    };
  }

  // ---------------------------------------------------------------- private

  private freeBytes(): number {
    this.pTail = Atomics.load(this.ctrl, W.TAIL);
    return this.capacity - ((this.pHead - this.pTail) | 0);
  }

  private reserveSlow(len: number): number {
    if (this.onFull === 'block') {
      if (this.waitForSpace(len, this.blockTimeoutMs)) {
        const at = this.reserve(len);
        if (at >= 0) return at;
      }
      addCounter(this.ctrl, W.DROPPED_TIMEOUT, 1);
      return -1;
    }
    addCounter(this.ctrl, W.DROPPED_FULL, 1);
    return -1;
  }

  /**
   * Copies a record in. Small records from a 4-aligned source go word by
   * word through an Int32 view of the source buffer, cached across calls (a
   * producer reuses its scratch buffer): about twice as fast as
   * set(subarray()) at 48 bytes, and allocation-free.
   */
  private copyIn(bytes: Uint8Array, off: number, len: number, at: number): void {
    if (off < 0 || off + len > bytes.length) {
      throw new RangeError(`record [${off}, ${off + len}) is outside its source of ${bytes.length} bytes`);
    }
    const start = bytes.byteOffset + off;
    if (len <= 256 && (start & 3) === 0) {
      const s = start >> 2;
      const n = len >> 2;
      let src = this.srcWords;
      if (src.buffer !== bytes.buffer || s + n > src.length) {
        src = this.srcWords = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >> 2);
      }
      const words = this.words;
      const d = at >> 2;
      for (let i = 0; i < n; i++) words[d + i] = src[s + i]!;
    } else {
      this.data.set(bytes.subarray(off, off + len), at);
    }
  }

  private badLength(len: number): never {
    throw new RangeError(
      `ring record size must be a multiple of 8 in [8, ${this.maxRecordBytes}] (capacity ${this.capacity} / 2), got ${len}`,
    );
  }

  private closedError(): never {
    throw new RingError('ERR_RING_CLOSED', 'the shard ring is closed: no more records can be written');
  }

  private frameError(len: number, pos: number): never {
    if (this.pReserved === 0) throw new RingError('ERR_RING_FRAME', 'commit() without a reserve()');
    throw new RingError(
      'ERR_RING_FRAME',
      `commit(${len}) does not match the reservation of ${this.pReserved} bytes or the record header size ${this.words[(pos >> 2) + 1]} at offset ${pos}`,
    );
  }

  private corruptError(pos: number, size: number): never {
    throw new RingError(
      'ERR_RING_CORRUPT',
      `corrupt shard ring: record at offset ${pos} has size ${size >>> 0} (needs a multiple of 8, >= 8, within the published bytes and the data area)`,
    );
  }
}

/**
 * u64 counters are three Int32 words LO, HI, HI2 written by one side only.
 * Writer: on a carry into HI it stores HI2, then LO, then HI; otherwise only
 * LO. Reader: loads HI, LO, HI2 and retries while HI !== HI2. This never
 * returns a torn value (docs/ring-protocol.md, "Counters") and costs the
 * writer one store per update.
 */
function addCounter(ctrl: Int32Array, base: number, delta: number): void {
  const lo = (Atomics.load(ctrl, base) >>> 0) + delta; // our own word
  if (lo < 0x1_0000_0000) {
    Atomics.store(ctrl, base, lo);
    return;
  }
  const hi = (Atomics.load(ctrl, base + 1) + 1) | 0;
  Atomics.store(ctrl, base + 2, hi);
  Atomics.store(ctrl, base, lo - 0x1_0000_0000);
  Atomics.store(ctrl, base + 1, hi);
}

function readCounter(ctrl: Int32Array, base: number): number {
  for (;;) {
    const hi = Atomics.load(ctrl, base + 1);
    const lo = Atomics.load(ctrl, base) >>> 0;
    if (Atomics.load(ctrl, base + 2) === hi) return (hi >>> 0) * 0x1_0000_0000 + lo;
  }
}
