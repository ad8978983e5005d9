// The standard mix (docs/synthetic.md): the one stream every suite draws its
// inputs from, generated once per process and shared between suites.

import type { StreamEvent } from '../../src/record/events.js';
import { STANDARD_MIX } from '../../src/pipeline/sources/synthetic/options.js';
import { syntheticStream } from '../../src/pipeline/sources/synthetic/stream.js';
import type { SuiteContext } from './suite.js';

/** Events of the standard stream per mode. */
export const STREAM_EVENTS = { quick: 200_000, full: 2_000_000 } as const;

const cache = new Map<string, StreamEvent[]>();

/** `events` events of the standard mix from `seed` (cached: suites share one copy). */
export function standardStream(events: number, seed: number): StreamEvent[] {
  const key = `${events}:${seed}`;
  let s = cache.get(key);
  if (s === undefined) {
    s = syntheticStream({ ...STANDARD_MIX, seed, events });
    cache.set(key, s);
  }
  return s;
}

/**
 * The first `events` events of the mode's standard stream (a prefix of a
 * stream is a stream): the suites of one run share one generated stream.
 */
export function modeStream(ctx: SuiteContext, events: number = STREAM_EVENTS[ctx.mode]): StreamEvent[] {
  const full = standardStream(Math.max(events, STREAM_EVENTS[ctx.mode]), ctx.seed);
  return events >= full.length ? full : full.slice(0, events);
}
