// The reader thread's time merge (native/time_merge.h) and per-CPU gap
// count (native/cpu_seq.h), compiled with g++ and driven by a scripted
// C++ program (time_merge_test.cc). docs/architecture.md invariants 1 and 3.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
let dir = '';
const cases = new Map<string, Record<string, unknown>>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'forkline-merge-'));
  const bin = join(dir, 'time_merge_test');
  // g++ is required (apt-get install g++): the test fails, not skips, without it
  execFileSync('g++', ['-std=c++17', '-O1', '-Wall', '-I', join(root, 'native'), '-I', join(root, 'src'), '-o', bin, join(import.meta.dirname, 'time_merge_test.cc')]);
  for (const line of execFileSync(bin, { encoding: 'utf8' }).trim().split('\n')) {
    const c = JSON.parse(line) as Record<string, unknown>;
    cases.set(c.case as string, c);
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('time merge of the per-CPU streams', () => {
  it('lets out, in time order, only records older than the window', () => {
    expect(cases.get('window')).toMatchObject({ pids: [1, 2, 3], inversions: 0, releasedUpTo: 350 });
    expect(cases.get('window-rest')).toMatchObject({ pids: [1, 2, 3, 4], inversions: 0 });
  });

  it('writes a record that arrives after a later one left, and counts the inversion', () => {
    expect(cases.get('late')).toMatchObject({ pids: [5, 1], inversions: 1 });
  });

  it('keeps arrival order between equal times', () => {
    expect(cases.get('ties')).toMatchObject({ pids: [1, 2, 3, 4, 5], inversions: 0 });
  });

  it('counts the records a full ring refuses and goes on', () => {
    expect(cases.get('full')).toMatchObject({ pids: [1, 2], ringFull: 2 });
  });

  it('bounds the memory it stages: the oldest leave early', () => {
    expect(cases.get('bounded')).toMatchObject({ pids: [1, 2], inversions: 0 });
  });
});

describe('per-CPU sequence gaps', () => {
  it('counts the records missing between two sequence numbers of a CPU, and nothing on a restart', () => {
    // cpu0: 1, 2, 5 (3 and 4 missing); cpu1: 3 (1 and 2 missing), 4; cpu0 back to 2: a restart; cpu5 (grown): 2 (1 missing)
    expect(cases.get('gaps')).toMatchObject({ missing: [0, 0, 2, 2, 0, 0, 1] });
  });
});
