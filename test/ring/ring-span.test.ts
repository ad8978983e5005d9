// The consumer calls a live source uses on the main thread: nextSpan()
// (whole records handed out as contiguous runs, no copy) and
// waitForDataAsync()/wakeConsumer() (the sleep protocol without blocking
// the event loop). docs/ring-protocol.md.

import { describe, expect, it } from 'vitest';
import { RingWord, ShardRing } from '../../src/ring/shard-ring.js';

/** A record of `size` bytes whose words after the header all hold `seq`. */
function record(seq: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 1, true);
  dv.setUint32(4, size, true);
  for (let o = 8; o < size; o += 4) dv.setUint32(o, seq, true);
  return b;
}

/** The seqs of the records in data[off, off + len), checking each record is intact. */
function seqsIn(data: Uint8Array, off: number, len: number): number[] {
  const dv = new DataView(data.buffer, data.byteOffset);
  const out: number[] = [];
  for (let at = off; at < off + len; ) {
    const size = dv.getUint32(at + 4, true);
    const seq = dv.getUint32(at + 8, true);
    for (let o = 8; o < size; o += 4) expect(dv.getUint32(at + o, true)).toBe(seq);
    out.push(seq);
    at += size;
  }
  return out;
}

describe('ShardRing.nextSpan', () => {
  it('hands out every record once, in order, in runs that stop at the wrap', () => {
    const ring = ShardRing.create(4096, { onFull: 'drop', blockTimeoutMs: 0 });
    const consumer = new ShardRing(ring.buffer);
    const seen: number[] = [];
    let spans = 0;
    let wrapsSeen = 0;
    let seq = 0;
    for (let round = 0; round < 50; round++) {
      // sizes that do not divide the capacity: the ring wraps with PADs
      for (let i = 0; i < 7; i++) {
        seq++;
        expect(ring.write(record(seq, 8 * (3 + ((seq * 5) % 40))), 0, 8 * (3 + ((seq * 5) % 40)))).toBe(true);
      }
      consumer.poll();
      let prevEnd = -1;
      for (let len = consumer.nextSpan(); len > 0; len = consumer.nextSpan()) {
        const off = consumer.spanOffset;
        if (prevEnd >= 0 && off < prevEnd) wrapsSeen++;
        expect(off + len).toBeLessThanOrEqual(4096);
        seen.push(...seqsIn(consumer.data, off, len));
        prevEnd = off + len;
        spans++;
      }
      consumer.release();
    }
    expect(seen).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(wrapsSeen).toBeGreaterThan(0);
    expect(spans).toBeGreaterThan(50);
    expect(consumer.stats().read).toBe(seq); // READ counts records, PADs excluded
  });

  it('returns 0 when nothing is unread', () => {
    const ring = ShardRing.create(4096, { onFull: 'drop', blockTimeoutMs: 0 });
    ring.poll();
    expect(ring.nextSpan()).toBe(0);
  });
});

describe('ShardRing.waitForDataAsync', () => {
  it('resolves "data" at once when records are unread, "timeout" when none come, "closed" when closed and read', async () => {
    const producer = ShardRing.create(4096, { onFull: 'drop', blockTimeoutMs: 0 });
    const consumer = new ShardRing(producer.buffer);
    expect(await consumer.waitForDataAsync(5)).toBe('timeout');
    producer.write(record(1, 16), 0, 16);
    expect(await consumer.waitForDataAsync(1000)).toBe('data');
    consumer.drain(() => {});
    producer.close();
    expect(await consumer.waitForDataAsync(1000)).toBe('closed');
  });

  it('is woken early by wakeConsumer(), the call a native producer asks a JS thread to make', async () => {
    const ring = ShardRing.create(4096, { onFull: 'drop', blockTimeoutMs: 0 });
    const consumer = new ShardRing(ring.buffer);
    const ctrl = new Int32Array(ring.buffer);
    const started = performance.now();
    const waiting = consumer.waitForDataAsync(10_000);
    // a native producer: raw record bytes and HEAD, no notify
    setTimeout(() => {
      const rec = record(7, 16);
      consumer.data.set(rec, 0);
      Atomics.store(ctrl, RingWord.HEAD, 16);
      expect(Atomics.load(ctrl, RingWord.CONSUMER_SLEEPING)).toBe(1);
      ring.wakeConsumer();
    }, 20);
    expect(await waiting).toBe('data');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(Atomics.load(ctrl, RingWord.CONSUMER_SLEEPING)).toBe(0);
  });

  it('does not block the event loop while it sleeps', async () => {
    const ring = ShardRing.create(4096, { onFull: 'drop', blockTimeoutMs: 0 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    expect(await ring.waitForDataAsync(100)).toBe('timeout');
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });
});
