// Name resolution of the metrics collector, bounded. dns.lookup runs
// getaddrinfo on libuv's thread pool (4 threads, shared with the file
// system): a resolver that does not answer would otherwise tie up those
// threads with one lookup per datagram, and the agent's /proc reads and
// file writes would wait behind them. This lookup (a dgram `lookup` option)
// keeps at most one getaddrinfo in flight, serves the last address while it
// refreshes it, and fails fast when it has none.

import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
export type DgramLookup = (hostname: string, options: unknown, callback: LookupCallback) => void;

export interface BoundedLookupOptions {
  /** An address is used this long before it is looked up again (default 60 000 ms; served while refreshing). */
  ttlMs?: number;
  /** After a failed lookup, none for this long (default 1000 ms): sends fail fast with its error. */
  retryMs?: number;
  /** Sends waiting on the first lookup (default 16); more fail fast. */
  maxWaiters?: number;
  clock?: () => number;
  /** dns.lookup (tests replace it). */
  resolve?: (hostname: string, family: number, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void) => void;
}

export function boundedLookup(options: BoundedLookupOptions = {}): DgramLookup {
  const ttlMs = options.ttlMs ?? 60_000;
  const retryMs = options.retryMs ?? 1000;
  const maxWaiters = options.maxWaiters ?? 16;
  const clock = options.clock ?? Date.now;
  const resolve = options.resolve ?? ((host, family, cb) => dnsLookup(host, { family }, cb));
  let cached: { address: string; family: number; at: number } | undefined;
  let failed: { err: NodeJS.ErrnoException; at: number } | undefined;
  let inFlight = false;
  let waiters: LookupCallback[] = [];

  const start = (hostname: string, family: number) => {
    inFlight = true;
    resolve(hostname, family, (err, address, fam) => {
      inFlight = false;
      const now = clock();
      const ws = waiters;
      waiters = [];
      if (err) {
        failed = { err, at: now };
        // a known address stays in use while the resolver fails
        for (const w of ws) cached ? w(null, cached.address, cached.family) : w(err, '', 0);
        return;
      }
      failed = undefined;
      cached = { address, family: fam, at: now };
      for (const w of ws) w(null, address, fam);
    });
  };

  return (hostname, opts, callback) => {
    const cb = (typeof opts === 'function' ? opts : callback) as LookupCallback;
    const family = typeof opts === 'number' ? opts : ((opts as { family?: number } | undefined)?.family ?? 4);
    const ip = isIP(hostname);
    if (ip !== 0) {
      // the socket's own bind address ('0.0.0.0'), or a literal: nothing to resolve
      process.nextTick(() => cb(null, hostname, ip));
      return;
    }
    const now = clock();
    const retryAllowed = !failed || now - failed.at >= retryMs;
    if (cached) {
      if (now - cached.at >= ttlMs && !inFlight && retryAllowed) start(hostname, family);
      const { address, family: fam } = cached;
      process.nextTick(() => cb(null, address, fam));
      return;
    }
    if (!inFlight && !retryAllowed) {
      const err = failed!.err;
      process.nextTick(() => cb(err, '', 0));
      return;
    }
    if (waiters.length >= maxWaiters) {
      const err: NodeJS.ErrnoException = new Error(`${hostname}: still resolving (${maxWaiters} sends waiting)`);
      err.code = 'EAI_AGAIN';
      process.nextTick(() => cb(err, '', 0));
      return;
    }
    waiters.push(cb);
    if (!inFlight) start(hostname, family);
  };
}
