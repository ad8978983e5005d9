import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheCore } from '../../src/cache/core.js';
import { ProcfsPoller } from '../../src/pipeline/sources/procfs-poll.js';
import { writeFake, nulJoin, type FakeProc } from '../fixtures/fake-proc.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('procfs polling source', () => {
  it('turns the differences between two scans into fork, exec, exit and pid-reuse events', async () => {
    const base = mkdtempSync(join(tmpdir(), 'forkline-poll-'));
    dirs.push(base);
    const procRoot = join(base, 'proc');
    const bin = (n: string) => {
      const f = join(base, n);
      writeFileSync(f, n + Math.random());
      return f;
    };
    const shell = bin('sh');
    const init: FakeProc = { pid: 1, ppid: 0, comm: 'init', exeTarget: bin('init'), startTicks: 1 };
    const sh: FakeProc = { pid: 10, ppid: 1, comm: 'sh', exeTarget: shell, startTicks: 10 };
    const worker: FakeProc = { pid: 20, ppid: 10, comm: 'sh', exeTarget: shell, startTicks: 20 };
    for (const p of [init, sh, worker]) writeFake(procRoot, p);

    let now = 1_000_000_000n;
    const core = new CacheCore({ procRoot, exitedRetention: 0n });
    const poller = new ProcfsPoller(core, procRoot, false, () => now);
    expect(await poller.poll()).toEqual({ fork: 3, exec: 0, exit: 0 });
    expect(core.peek(20, 0)?.ancestor?.pid).toBe(10);

    // pid 20 execs make; pid 10 exits
    rmSync(join(procRoot, '20'), { recursive: true });
    writeFake(procRoot, { ...worker, comm: 'make', exeTarget: bin('make'), cmdline: nulJoin(['make', 'all']) });
    rmSync(join(procRoot, '10'), { recursive: true });
    now += 1_000_000_000n;
    expect(await poller.poll()).toEqual({ fork: 0, exec: 1, exit: 1 });
    const make = core.peek(20, 0)!;
    expect(make.argv).toEqual(['make', 'all']);
    expect(make.execTime).toBe(now);
    expect(make.isExec).toBe(true);
    expect(make.ancestor?.comm).toBe('sh'); // the image it ran before
    expect(make.ancestor?.ancestor?.pid).toBe(10); // the exited shell stays reachable
    expect(core.peek(10, 0)).toBeUndefined();

    // pid 20 is reused by a new process (another start time)
    rmSync(join(procRoot, '20'), { recursive: true });
    writeFake(procRoot, { pid: 20, ppid: 1, comm: 'cron', exeTarget: bin('cron'), startTicks: 500 });
    now += 1_000_000_000n;
    expect(await poller.poll()).toEqual({ fork: 1, exec: 0, exit: 0 });
    expect(core.peek(20, 0)?.comm).toBe('cron');
    expect(core.peek(20, 0)?.ancestor?.pid).toBe(1);
    expect(poller.totals).toEqual({ fork: 4, exec: 1, exit: 1 });
  });
});
