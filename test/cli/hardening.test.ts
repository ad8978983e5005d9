// The command line against a careless or hostile user (issue 14): files it
// writes, bad inputs it refuses; a clear message each time, never a stack.

import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'forkline.js');

function forkline(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

const NO_STACK = /^\s+at /m;
const dirOf = () => mkdtempSync(join(tmpdir(), 'forkline-hard-'));

describe('files the command writes', () => {
  it('synth --out and replay --summary-json replace a 0644 file by a 0600 one', () => {
    const dir = dirOf();
    const rec = join(dir, 'a.fkl');
    const sum = join(dir, 'sum.json');
    for (const f of [rec, sum]) {
      writeFileSync(f, 'old');
      chmodSync(f, 0o644);
    }
    expect(forkline('synth', '--events', '200', '--out', rec).status).toBe(0);
    expect(statSync(rec).mode & 0o777).toBe(0o600);
    const r = forkline('replay', rec, '--shards', '1', '--summary-json', sum);
    expect(r.status).toBe(0);
    expect(statSync(sum).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(sum, 'utf8')).events.fork).toBeGreaterThan(0);
  });

  it('a symlink planted at --out or --summary-json is refused before any work, its target untouched', () => {
    const dir = dirOf();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep');
    const link = join(dir, 'out');
    symlinkSync(victim, link);
    const s = forkline('synth', '--events', '10', '--out', link);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/^forkline synth: cannot write .*out: it is a symbolic link/m);
    expect(s.stderr).not.toMatch(NO_STACK);
    const rec = join(dir, 'a.fkl');
    expect(forkline('synth', '--events', '10', '--out', rec).status).toBe(0);
    const r = forkline('replay', rec, '--summary-json', link);
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/symbolic link/)]);
    expect(r.stdout).toBe(''); // refused before the replay ran
    const d = forkline('dump', '--out', link, '--socket', join(dir, 'no.sock'));
    expect([d.status, d.stderr]).toEqual([2, expect.stringMatching(/^forkline dump: cannot write .*symbolic link/m)]);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readlinkSync(link)).toBe(victim);
  });
});

describe('replay of what is not a recording', () => {
  it('a missing file, a directory, a FIFO with no writer: one line each, exit 1, no stack, no hang', () => {
    const dir = dirOf();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(join(dir, 'sub'));
    for (const [file, why] of [
      [join(dir, 'missing.fkl'), /no such file/],
      [join(dir, 'sub'), /it is a directory/],
      [fifo, /it is a FIFO/],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'replay', file], { encoding: 'utf8', timeout: 20_000 });
      expect(r.error).toBeUndefined(); // not killed by the timeout
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^forkline replay: cannot read .*: ${why.source}.*\\[ERR_REPLAY_FILE\\]$`, 'm'));
      expect(r.stderr).not.toMatch(NO_STACK);
      expect(r.stdout).toBe('');
    }
  });

  it('a header with bytes 12..15 set to 0xffffffff: exit 1 naming the field, not "0 events applied"', () => {
    const dir = dirOf();
    const rec = join(dir, 'a.fkl');
    expect(forkline('synth', '--events', '50', '--out', rec).status).toBe(0);
    const raw = readFileSync(rec);
    raw.writeUInt32LE(0xffffffff, 12);
    writeFileSync(rec, raw);
    const r = forkline('replay', rec);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/corrupt header: field headerBytes \(bytes 12\.\.15\) is 4294967295/);
    expect(r.stdout).toBe('');
  });
});
