// FORK records flagged SNAPSHOT: how a live source sends the processes it
// read from /proc at startup (docs/record-format.md, FORK flags).

import { describe, expect, it } from 'vitest';
import { ProcessResolver } from '../../src/cache/resolver.js';
import type { ProcessEntry } from '../../src/cache/types.js';
import type { ForkEvent } from '../../src/record/events.js';
import { createPipeline } from '../../src/pipeline/pipeline.js';
import { FLAG_SNAPSHOT, H_FLAGS } from '../../src/record/constants.js';
import { decodeEvent } from '../../src/record/decode.js';
import { BufferSource, encodeAll } from './helpers.js';

function snapshotFork(pid: number, ppid: number, path: string, startTime: bigint): ForkEvent {
  return {
    type: 'fork', snapshot: true, time: startTime, cpu: 0, pid, ppid, pidns: 0, execTime: startTime, inode: pid,
    path, comm: path.split('/').pop()!, argv: [path, `arg-${pid}`], credentials: { uid: 1000, gid: 1000 },
    tty: '', containerId: '', cgroup: '/user.slice',
  };
}

// init, a shell under it, a child of the shell: pids chosen to land in both shards of two
const EVENTS: ForkEvent[] = [
  snapshotFork(1, 0, '/sbin/init', 1_000_000n),
  snapshotFork(4242, 1, '/usr/bin/bash', 2_000_000n),
  snapshotFork(4243, 4242, '/usr/bin/sleep', 3_000_000n),
];

function chain(e: ProcessEntry | undefined): [number, string, string][] {
  const out: [number, string, string][] = [];
  for (; e; e = e.ancestor) out.push([e.pid, e.path, e.source]);
  return out;
}

describe('FORK records flagged SNAPSHOT', () => {
  it('carry the flag on the wire and back', () => {
    const bytes = encodeAll([EVENTS[1]!]);
    expect(new DataView(bytes.buffer).getUint16(H_FLAGS, true) & FLAG_SNAPSHOT).toBe(FLAG_SNAPSHOT);
    expect((decodeEvent(bytes, 0) as ForkEvent).snapshot).toBe(true);
    const live = encodeAll([{ ...EVENTS[1]!, snapshot: undefined }]);
    expect(new DataView(live.buffer).getUint16(H_FLAGS, true) & FLAG_SNAPSHOT).toBe(0);
    expect((decodeEvent(live, 0) as ForkEvent).snapshot).toBeUndefined();
  });

  it('make entries of source "snapshot" linked to their parents (one thread)', () => {
    const r = new ProcessResolver({ capacity: 64 });
    r.applyRecords(encodeAll(EVENTS));
    const e = r.resolve(4243)!;
    expect(e.source).toBe('snapshot');
    expect(e.path).toBe('/usr/bin/sleep');
    expect(e.argv).toEqual(['/usr/bin/sleep', 'arg-4243']);
    expect(chain(e)).toEqual([
      [4243, '/usr/bin/sleep', 'snapshot'],
      [4242, '/usr/bin/bash', 'snapshot'],
      [1, '/sbin/init', 'snapshot'],
    ]);
    // a fork seen live is still an event
    r.applyEvent({ ...EVENTS[2]!, snapshot: undefined, pid: 5000, time: 4_000_000n });
    expect(r.resolve(5000)!.source).toBe('event');
  });

  it('link across shards like live forks (sharded pipeline)', async () => {
    const pipeline = createPipeline({ shards: 2, capacity: 64, source: new BufferSource(encodeAll(EVENTS)) });
    pipeline.start();
    await pipeline.done();
    const view = pipeline.reader();
    expect(view.ancestors(4243).map((a) => [a.pid, a.path, a.source])).toEqual([
      [4243, '/usr/bin/sleep', 'snapshot'],
      [4242, '/usr/bin/bash', 'snapshot'],
      [1, '/sbin/init', 'snapshot'],
    ]);
  });
});
