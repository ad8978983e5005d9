import { describe, expect, it } from 'vitest';
import { boundedLookup } from '../../src/ops/metrics-dns.js';

type Answer = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

function call(lookup: ReturnType<typeof boundedLookup>, host: string): Promise<{ err: NodeJS.ErrnoException | null; address: string }> {
  return new Promise((res) => lookup(host, 4, (err, address) => res({ err, address })));
}

describe('boundedLookup (the metrics collector name)', () => {
  it('a resolver that never answers: one lookup in flight, a bounded number of waiting sends, the rest fail fast', async () => {
    let calls = 0;
    const lookup = boundedLookup({ maxWaiters: 4, resolve: () => void calls++ });
    const waiting = Array.from({ length: 4 }, () => call(lookup, 'statsd.example'));
    const fast = await Promise.all(Array.from({ length: 100 }, () => call(lookup, 'statsd.example')));
    expect(calls).toBe(1);
    expect(fast.every((r) => r.err?.code === 'EAI_AGAIN')).toBe(true);
    let settled = false;
    void Promise.race(waiting).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
  });

  it('serves the last address while refreshing it, and keeps it while the resolver fails', async () => {
    let now = 0;
    const pending: Answer[] = [];
    const lookup = boundedLookup({ ttlMs: 1000, retryMs: 100, clock: () => now, resolve: (_h, _f, cb) => void pending.push(cb) });
    const first = call(lookup, 'statsd.example');
    pending.shift()!(null, '10.0.0.1', 4);
    expect((await first).address).toBe('10.0.0.1');
    now = 2000; // expired: refresh in the background, answer at once
    expect((await call(lookup, 'statsd.example')).address).toBe('10.0.0.1');
    expect(pending.length).toBe(1);
    expect((await call(lookup, 'statsd.example')).address).toBe('10.0.0.1');
    expect(pending.length).toBe(1); // still one lookup
    pending.shift()!(Object.assign(new Error('down'), { code: 'ENOTFOUND' }), '', 0);
    expect((await call(lookup, 'statsd.example')).address).toBe('10.0.0.1');
  });

  it('after a failure, no new lookup for retryMs: sends fail with its error', async () => {
    let now = 0;
    let calls = 0;
    const lookup = boundedLookup({
      retryMs: 100,
      clock: () => now,
      resolve: (_h, _f, cb) => {
        calls++;
        cb(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), '', 0);
      },
    });
    expect((await call(lookup, 'nowhere.invalid')).err?.code).toBe('ENOTFOUND');
    for (let i = 0; i < 50; i++) expect((await call(lookup, 'nowhere.invalid')).err?.code).toBe('ENOTFOUND');
    expect(calls).toBe(1);
    now = 150;
    await call(lookup, 'nowhere.invalid');
    expect(calls).toBe(2);
  });

  it('an address literal (the socket bind address) is not looked up', async () => {
    let calls = 0;
    const lookup = boundedLookup({ resolve: () => void calls++ });
    expect((await call(lookup, '0.0.0.0')).address).toBe('0.0.0.0');
    expect(calls).toBe(0);
  });
});
