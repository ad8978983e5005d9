// Readers: resolve(pid) and a walk of the whole ancestor chain, on a cache
// populated from the standard stream, pids drawn at random among the running
// processes. One thread for now: the variant with a reader thread while the
// shard workers apply at full speed comes with the pipeline (a suite of its
// own, see docs/benchmarks.md).

import type { ProcessResolver } from '../../src/index.js';
import { toOps } from '../lib/ops.js';
import { populate, prng } from '../lib/populate.js';
import { modeStream } from '../lib/stream.js';
import type { BenchSuite } from '../lib/suite.js';
import type { NaiveResolver } from '../naive-resolver.js';

const LOOKUPS = 20_000;

// One loop per resolver class, so each call site sees one receiver class.
function walkForkline(r: ProcessResolver, pids: Int32Array): number {
  let steps = 0;
  for (let i = 0; i < pids.length; i++) {
    for (let e = r.resolve(pids[i]!); e !== undefined; e = e.ancestor) steps++;
  }
  return steps;
}

function walkNaive(r: NaiveResolver, pids: Int32Array): number {
  let steps = 0;
  for (let i = 0; i < pids.length; i++) {
    for (let e = r.resolve(pids[i]!); e !== undefined; e = e.ancestor) steps++;
  }
  return steps;
}

const suite: BenchSuite = {
  name: 'readers',
  order: 30,
  unit: 'lookups',
  description:
    'resolve(pid) + walk of the whole ancestor chain on one thread, random running pids of a cache populated from the standard stream: ProcessResolver vs naive',
  setup(ctx) {
    const events = ctx.mode === 'quick' ? 100_000 : 1_000_000;
    const ops = toOps(modeStream(ctx, events));
    const { forkline, naive, livePids } = populate(ops, ctx.mode === 'quick' ? 1 << 18 : 1 << 21);
    if (livePids.length === 0) throw new Error('readers: the standard stream left no running process');
    const rand = prng(ctx.seed + 1);
    const pids = Int32Array.from({ length: LOOKUPS }, () => livePids[Math.floor(rand() * livePids.length)]!);
    const depthF = walkForkline(forkline, pids) / LOOKUPS;
    const depthN = walkNaive(naive, pids) / LOOKUPS;
    return [
      {
        name: 'resolve+walk',
        opsPerBatch: LOOKUPS,
        candidate: { label: 'ProcessResolver', batch: () => walkForkline(forkline, pids) },
        baseline: { label: 'naive Map', batch: () => walkNaive(naive, pids) },
        info: () => ({
          running: livePids.length,
          chainLength: Number(depthF.toFixed(2)),
          naiveChainLength: Number(depthN.toFixed(2)),
        }),
      },
    ];
  },
};

export default suite;
