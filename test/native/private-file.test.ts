// The addon's file writer (native/private_file.h, used for the verifier
// log, by default in /tmp): a new 0600 file renamed into place, a planted
// symlink refused. Compiled with g++ like the other native unit tests.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
let dir = '';
let work = '';
const cases = new Map<string, Record<string, unknown>>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'forkline-private-'));
  work = join(dir, 'work');
  execFileSync('mkdir', [work]);
  const bin = join(dir, 'private_file_test');
  // g++ is required (apt-get install g++): the test fails, not skips, without it
  execFileSync('g++', ['-std=c++17', '-O1', '-Wall', '-I', join(root, 'native'), '-o', bin, join(import.meta.dirname, 'private_file_test.cc')]);
  for (const line of execFileSync(bin, [work], { encoding: 'utf8' }).trim().split('\n')) {
    const c = JSON.parse(line) as Record<string, unknown>;
    cases.set(c.case as string, c);
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('native private file writer (verifier log)', () => {
  it('replaces a 0644 file with a new 0600 one', () => {
    expect(cases.get('replace')).toEqual({ case: 'replace', ok: true, mode: 0o600, content: 'verifier says no' });
  });

  it('refuses a symbolic link at the target and leaves its target alone', () => {
    expect(cases.get('link')).toMatchObject({ ok: false, stillLink: true, victim: 'keep', why: expect.stringMatching(/is a symbolic link/) });
  });

  it('says why when the directory is missing, and leaves no temporary file', () => {
    expect(cases.get('missing')).toMatchObject({ ok: false, hasWhy: true });
    expect(readdirSync(work).sort()).toEqual(['linked', 'log', 'victim']);
  });
});
