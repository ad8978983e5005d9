// The whole standard-mix stream, event by event, through the embedded
// ProcessResolver (one thread, public API, every call validated and every
// fork/exec returning its entry) and through the naive resolver.
//
// A batch is the next CHUNK events of the stream; both sides walk through
// the same chunks in lockstep, so each round compares the same events.
// At the end of the stream both start again on fresh resolvers (untimed).

import { ProcessResolver } from '../../src/index.js';
import { applyOpsForkline, applyOpsNaive, toOps } from '../lib/ops.js';
import { resolverOptions } from '../lib/populate.js';
import { modeStream } from '../lib/stream.js';
import type { BenchSuite } from '../lib/suite.js';
import { NaiveResolver } from '../naive-resolver.js';

const CHUNK = 20_000;

const suite: BenchSuite = {
  name: 'e2e-embedded',
  order: 20,
  unit: 'events',
  description:
    'standard-mix stream applied through ProcessResolver on one thread vs the naive Map-of-objects resolver, same chunks in lockstep',
  setup(ctx) {
    const stream = modeStream(ctx);
    const all = toOps(stream);
    const ops = all.slice(0, all.length - (all.length % CHUNK));
    const capacity = ctx.mode === 'quick' ? 1 << 18 : 1 << 21;

    let forkline = new ProcessResolver(resolverOptions(capacity));
    let fPos = 0;
    let naive = new NaiveResolver();
    let nPos = 0;
    let passes = 0;
    let rejected = 0;
    let evicted = 0;

    return [
      {
        name: 'standard-mix',
        opsPerBatch: CHUNK,
        batchesPerSample: 1, // lockstep: both sides time the same chunk in a round
        candidate: {
          label: 'ProcessResolver',
          prepare() {
            if (fPos >= ops.length) {
              const s = forkline.stats();
              rejected += s.rejected.tableFull;
              evicted += s.evicted;
              forkline = new ProcessResolver(resolverOptions(capacity));
              fPos = 0;
              passes++;
            }
          },
          batch() {
            const end = fPos + CHUNK;
            const n = applyOpsForkline(forkline, ops, fPos, end);
            fPos = end;
            return n;
          },
        },
        baseline: {
          label: 'naive Map',
          prepare() {
            if (nPos >= ops.length) {
              naive = new NaiveResolver();
              nPos = 0;
            }
          },
          batch() {
            const end = nPos + CHUNK;
            const n = applyOpsNaive(naive, ops, nPos, end);
            nPos = end;
            return n;
          },
        },
        info() {
          const s = forkline.stats();
          return {
            streamEvents: ops.length,
            passes,
            liveAtEnd: s.cacheSize,
            tableFull: rejected + s.rejected.tableFull,
            evicted: evicted + s.evicted,
          };
        },
      },
    ];
  },
};

export default suite;
