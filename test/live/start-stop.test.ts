// Starting and stopping live capture 20 times in one process leaks no file
// descriptor, thread or memory (programs detached, rings unmapped, threads
// joined). As root; elsewhere skipped with the reason in the test name.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaptureSource, type CaptureKind } from '../../src/pipeline/sources/capture.js';
import { liveSkipReason, liveTitle, sleep } from './harness.js';

function fds(): number {
  return readdirSync('/proc/self/fd').length;
}
function threads(): number {
  return readdirSync('/proc/self/task').length;
}
function rssKb(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

async function cycle(kind: CaptureKind): Promise<void> {
  const source = new CaptureSource({ kind, snapshot: false, ringBytes: 1 << 20, ringBytesPerCpu: 1 << 20 });
  source.start();
  // read what it captured until it ends, as the router would
  const reading = (async () => {
    for await (const _ of source.chunks());
  })();
  await sleep(20);
  source.stop();
  await reading;
}

for (const kind of ['bpf', 'netlink'] as const) {
  const skip = liveSkipReason(kind);
  describe.skipIf(skip !== undefined)(liveTitle(`live ${kind} capture: start and stop 20 times`, skip), () => {
    it('leaks no fd, thread or memory', async () => {
      await cycle(kind); // warm-up: lazy loads, thread pools, first-use allocations
      await cycle(kind);
      const before = { fds: fds(), threads: threads(), rss: rssKb() };
      for (let i = 0; i < 20; i++) await cycle(kind);
      (globalThis as { gc?: () => void }).gc?.();
      const after = { fds: fds(), threads: threads(), rss: rssKb() };
      expect(after.fds).toBe(before.fds);
      expect(after.threads).toBe(before.threads);
      // a leaked set of rings (a 1 MiB ring per CPU plus the 1 MiB capture ring) per cycle would be > 40 MiB
      expect(after.rss - before.rss).toBeLessThan(16 * 1024);
    }, 60_000);
  });
}

const bpfSkip = liveSkipReason('bpf');
describe.skipIf(bpfSkip !== undefined)(liveTitle('live bpf capture: options out of range', bpfSkip), () => {
  it('a script-image table over its bound is refused with ERR_BPF_OPTIONS, nothing left loaded', () => {
    const before = fds();
    const source = new CaptureSource({ kind: 'bpf', snapshot: false, scriptImages: 70_000 });
    expect(() => source.start()).toThrow(expect.objectContaining({ code: 'ERR_BPF_OPTIONS', message: expect.stringMatching(/script_images must be in 0\.\.65536/) }));
    expect(fds()).toBe(before);
  });
});
